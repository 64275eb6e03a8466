"""The one line on plain agent code: a tool-calling loop over the real SDK with nothing but ``import agentwatch.auto``
is an agent — its tool calls, runs and sessions come from the conversation — and what is downstream (detectors,
evaluators, audit, guards) sees it like a decorated one. Spans go over real OTLP/HTTP into a real collector."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anthropic
import openai
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentwatch
from agentwatch.audit import run_audit
from agentwatch.config import configure
from agentwatch.detectors import Finding, run_detectors
from agentwatch.evaluators import HeuristicJudge, evaluate
from agentwatch.migrate import Migrator
from agentwatch.store import open_store
from agentwatch.testing import LLMServer

from ..conftest import ROOT
from .plain_agents import (
    ANSWERS,
    LOOP_CALLS,
    QUESTIONS,
    anthropic_loop,
    async_chat_loop,
    chat_loop,
    responder,
    responses_loop,
)
from .running import RunningCollector, collector_config, count, run_into_store, wait_for

AGENT = "orders-agent"
scripted = responder  # what the llm fixture (tests/conftest.py) answers with


class Clients:
    def __init__(self, llm: LLMServer) -> None:
        self.openai = openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
        self.llm = llm
        self.anthropic = anthropic.Anthropic(base_url=llm.root_url, api_key="sk-ant-test", max_retries=0)

    def aopenai(self) -> openai.AsyncOpenAI:
        """A new async client for each event loop (a client's connections belong to the loop they were made in)."""
        return openai.AsyncOpenAI(base_url=self.llm.base_url, api_key="sk-test", max_retries=0)


FLAVOURS = {
    "chat": lambda c, q: chat_loop(c.openai, q),
    "chat_stream": lambda c, q: chat_loop(c.openai, q, stream=True),
    "chat_raw": lambda c, q: chat_loop(c.openai, q, raw=True),
    "chat_raw_stream": lambda c, q: chat_loop(c.openai, q, raw=True, stream=True),
    "chat_async": lambda c, q: asyncio.run(async_chat_loop(c.aopenai(), q)),
    "chat_async_stream": lambda c, q: asyncio.run(async_chat_loop(c.aopenai(), q, stream=True)),
    "chat_async_raw": lambda c, q: asyncio.run(async_chat_loop(c.aopenai(), q, raw=True)),
    "responses": lambda c, q: responses_loop(c.openai, q),
    "anthropic": lambda c, q: anthropic_loop(c.anthropic, q),
    "anthropic_stream": lambda c, q: anthropic_loop(c.anthropic, q, stream=True),
    "anthropic_raw": lambda c, q: anthropic_loop(c.anthropic, q, raw=True),
}


def _provider(service: str = AGENT) -> TracerProvider:
    return TracerProvider(resource=Resource.create({"service.name": service}))


SPANS_PER_AGENT = 3 + (LOOP_CALLS + 2) + (LOOP_CALLS + 5)  # three runs: healthy, wrong, a loop


def _sessions(store, service: str) -> dict[str, str]:
    """scenario → session id, read from the agent spans' recorded questions."""
    found = {}
    for session, text in store.query(
        "SELECT a.SessionId, t.SpanAttributes['gen_ai.input.messages'] FROM agent_spans AS a "
        "INNER JOIN otel_traces AS t ON t.TraceId = a.TraceId AND t.SpanId = a.SpanId "
        "WHERE a.Operation = 'invoke_agent' AND a.ServiceName = {s:String}",
        {"s": service},
    ).result_rows:
        for name, question in QUESTIONS.items():
            if question in text:
                found[name] = session
    return found


@dataclass
class Pipeline:
    """What the server side made of a store's spans: the evaluator ran, then the detectors and the audit."""

    findings: list[Finding]
    audited: list[str]  # the agents the audit answered for


def run_pipeline(store, start: dt.datetime) -> Pipeline:
    evaluate(store, HeuristicJudge(), since=start)
    end = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=1)
    findings = [f for run in run_detectors(store, window=3600, end=end) for f in run.findings]
    audit = run_audit(store, start=start - dt.timedelta(minutes=1), end=end)
    return Pipeline(findings, [a.agent for a in audit.agents])


def check_pipeline(store, pipeline: Pipeline, agent: str = AGENT) -> None:
    """What the issue asks of one agent's stored spans (its service's): runs, tool calls, findings, scores, the
    audit. The agent is named after its service, as the one line names a plain loop."""
    service = {"s": agent}
    runs = store.query(
        "SELECT TraceId, SessionId, AgentName, ParentSpanId FROM agent_spans "
        "WHERE Operation = 'invoke_agent' AND ServiceName = {s:String}",
        service,
    ).result_rows
    assert len(runs) == 3 and {r[2] for r in runs} == {agent} and all(r[3] == "" for r in runs)
    sessions = _sessions(store, agent)
    assert set(sessions) == set(QUESTIONS) and len(set(sessions.values())) == 3
    assert all(session != trace for trace, session, _, _ in runs)  # a session is not just a trace id
    tools = store.query(
        "SELECT SessionId, count(), uniqExact(TraceId), any(AgentName), any(ToolName), uniqExact(ToolArgsHash), "
        "countIf(ToolCallId != ''), uniqExact(ToolCallId), countIf(ResultShape != '') FROM agent_spans "
        "WHERE Operation = 'execute_tool' AND ServiceName = {s:String} GROUP BY SessionId",
        service,
    ).result_rows
    by_session = {row[0]: row[1:] for row in tools}
    assert by_session[sessions["loop"]] == (LOOP_CALLS, 1, agent, "lookup_order", 1, LOOP_CALLS, LOOP_CALLS, LOOP_CALLS)
    assert by_session[sessions["healthy"]][:5] == (1, 1, agent, "lookup_order", 1)
    chats = dict(
        store.query(
            "SELECT SessionId, count() FROM agent_spans WHERE Operation = 'chat' AND AgentName = {s:String} "
            "GROUP BY SessionId",
            service,
        ).result_rows
    )
    assert chats == {sessions["healthy"]: 2, sessions["wrong"]: 2, sessions["loop"]: LOOP_CALLS + 1}

    scores = {
        (session, metric): (status, score)
        for session, metric, status, score in store.query(
            "SELECT SessionId, Metric, Status, Score FROM evaluations FINAL WHERE ServiceName = {s:String}", service
        ).result_rows
    }
    assert {s for s, _ in scores} == set(sessions.values()), "one answer per run is evaluated, no tool-call turn"
    assert all(status == "scored" for status, _ in scores.values()), scores
    assert scores[(sessions["healthy"], "grounding")][1] >= 0.5, scores
    assert scores[(sessions["wrong"], "grounding")][1] < 0.5, scores

    findings = [f for f in pipeline.findings if f.session_id in sessions.values()]
    by = {(f.detector, f.session_id): f for f in findings}
    loop = by.get(("runaway_loop", sessions["loop"]))
    assert loop is not None and loop.agent_name == agent, findings
    wrong = by.get(("ungrounded_answers", sessions["wrong"]))
    assert wrong is not None and wrong.agent_name == agent
    assert not [f for f in findings if f.session_id == sessions["healthy"]], "a healthy run raised a finding"
    assert ("ungrounded_answers", sessions["loop"]) not in by
    assert agent in pipeline.audited


SCRIPT = textwrap.dedent("""
    import agentwatch.auto  # the one line
    import openai, os
    from tests.integration.plain_agents import QUESTIONS, chat_loop

    client = openai.OpenAI(base_url=os.environ["LLM_URL"], api_key="sk-test")
    for question in QUESTIONS.values():
        print(chat_loop(client, question))
""")


def _in_process(flavour: str) -> Callable[[Clients, str], None]:
    """A flavour run in this process, instrumented by agentwatch.instrument() under the flavour's service."""

    def run(clients: Clients, endpoint: str) -> None:
        agentwatch.instrument(endpoint=endpoint, tracer_provider=_provider(f"{AGENT}-{flavour}"))
        try:
            answers = {name: FLAVOURS[flavour](clients, question) for name, question in QUESTIONS.items()}
        finally:
            agentwatch.shutdown()
        assert answers == ANSWERS

    return run


def _process(*, otel_instrument: bool) -> Callable[[Clients, str], None]:
    """The plain loop as a program of its own: with the one line literally (its spans flushed at exit), or with no
    import at all under ``opentelemetry-instrument``, which finds agentwatch's instrumentors by their entry points."""

    def run(clients: Clients, endpoint: str) -> None:
        work = Path(tempfile.mkdtemp(prefix="aw-plain-loop-"))
        script = work / "agent.py"
        command = [sys.executable, str(script)]
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_SERVICE_NAME": f"{AGENT}-{'otel-instrument' if otel_instrument else 'auto'}",
            "LLM_URL": clients.llm.base_url,
        }
        script.write_text(SCRIPT)
        if otel_instrument:
            script.write_text(SCRIPT.replace("import agentwatch.auto  # the one line\n", ""))
            command.insert(0, str(Path(sys.executable).parent / "opentelemetry-instrument"))
            env.update(
                OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                OTEL_TRACES_EXPORTER="otlp",
                OTEL_METRICS_EXPORTER="none",
                OTEL_LOGS_EXPORTER="none",
            )
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == list(ANSWERS.values())

    return run


RUNS = {
    **{flavour: _in_process(flavour) for flavour in FLAVOURS},
    "auto": _process(otel_instrument=False),
    "otel-instrument": _process(otel_instrument=True),
}


@pytest.fixture(scope="module")
def every_flavour(engine_path, tmp_path_factory):
    """Every flavour's three runs under a service of its own (so an agent of its own), through one collector into
    one store; the evaluator, the detectors and the audit then run once over all of them. A flavour that failed
    to run is reported by its own test."""
    config = configure(store=f"chdb://{engine_path}", database=f"t_{uuid.uuid4().hex[:12]}")
    store = open_store(config, create=True)
    Migrator(store, config).apply()
    start = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    failed: dict[str, str] = {}
    with LLMServer(responder) as llm:
        clients = Clients(llm)
        with RunningCollector(collector_config(store, tmp_path_factory.mktemp("spool")), store) as rc:
            for flavour, run in RUNS.items():
                try:
                    run(clients, rc.http_url)
                except Exception as exc:
                    failed[flavour] = f"{type(exc).__name__}: {exc}"
            expected = SPANS_PER_AGENT * (len(RUNS) - len(failed))
            wait_for(lambda: count(store, "agent_spans") >= expected, 60, "every flavour's spans")
    yield store, run_pipeline(store, start), failed
    store.command(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_plain_loop_is_an_agent(flavour, every_flavour):
    store, pipeline, failed = every_flavour
    assert flavour not in failed, failed[flavour]
    check_pipeline(store, pipeline, f"{AGENT}-{flavour}")


def test_import_agentwatch_auto_on_a_plain_loop(every_flavour):
    """The one line, literally, in a process of its own: spans flushed at exit."""
    store, pipeline, failed = every_flavour
    assert "auto" not in failed, failed["auto"]
    check_pipeline(store, pipeline, f"{AGENT}-auto")


def test_opentelemetry_instrument_on_a_plain_loop(every_flavour):
    """No import at all: ``opentelemetry-instrument`` finds agentwatch's instrumentors by their entry points."""
    store, pipeline, failed = every_flavour
    assert "otel-instrument" not in failed, failed["otel-instrument"]
    check_pipeline(store, pipeline, f"{AGENT}-otel-instrument")


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_loop_guard_stops_a_plain_loop(flavour, monkeypatch, llm):
    monkeypatch.setenv("AGENTWATCH_MAX_REPEATS", "3")
    exporter = InMemorySpanExporter()
    agentwatch.instrument(tracer_provider=_provider(), span_processor=SimpleSpanProcessor(exporter))
    try:
        with pytest.raises(agentwatch.AgentLoopError) as caught:
            FLAVOURS[flavour](Clients(llm), QUESTIONS["loop"])
        healthy = FLAVOURS[flavour](Clients(llm), QUESTIONS["healthy"])
    finally:
        agentwatch.shutdown()
    assert "lookup_order was called 4 times with the same arguments (limit 3)" in str(caught.value)
    assert healthy == ANSWERS["healthy"]
    spans = exporter.get_finished_spans()
    tools = [s for s in spans if s.name == "execute_tool lookup_order"]
    assert len(tools) == 1 + 4  # the healthy run's one, the loop's four (the fourth's result refused the next call)
    runs = [s for s in spans if s.name.startswith("invoke_agent")]
    assert len(runs) == 2
    stopped = next(r for r in runs if r.attributes.get("error.type") == "AgentLoopError")
    assert stopped.attributes["agentwatch.guards.max_repeats"] == 3
    in_run = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    in_run = [c for c in in_run if c.context.trace_id == stopped.context.trace_id]
    refused = [c for c in in_run if c.attributes.get("error.type") == "AgentLoopError"]
    assert len(in_run) == 5 and len(refused) == 1  # four calls made, the fifth refused (a span says so, as decorated)
    assert [e.attributes["agentwatch.guard.decision"] for e in refused[0].events] == ["blocked"]


def _decorated_script(monkeypatch, llm, *, agent: bool) -> None:
    from . import plain_agents

    plain = plain_agents.lookup_order

    @agentwatch.tool
    def lookup_order(order_id: str) -> dict:
        return plain(order_id)

    client = openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    monkeypatch.setattr(plain_agents, "lookup_order", lookup_order)
    if agent:
        agentwatch.agent(name="decorated")(lambda q: chat_loop(client, q))(QUESTIONS["healthy"])
    else:
        chat_loop(client, QUESTIONS["healthy"])


@pytest.mark.parametrize("agent", [False, True])
def test_a_decorated_tool_is_not_counted_twice(agent, monkeypatch, spans, llm):
    _decorated_script(monkeypatch, llm, agent=agent)
    finished = spans.get_finished_spans()
    tools = [s for s in finished if s.name == "execute_tool lookup_order"]
    assert len(tools) == 1
    runs = [s for s in finished if s.name.startswith("invoke_agent")]
    assert len(runs) == 1 and tools[0].context.trace_id == runs[0].context.trace_id
    chats = [s for s in finished if s.attributes.get("gen_ai.operation.name") == "chat"]
    asked = json.loads(chats[0].attributes["gen_ai.output.messages"])[0]["parts"][0]
    assert tools[0].attributes["gen_ai.tool.call.id"] == asked["id"]


def test_undecorated_tools_inside_a_decorated_agent(spans, llm):
    client = openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    answer = agentwatch.agent(name="support")(lambda q: chat_loop(client, q))(QUESTIONS["loop"])
    assert answer == ANSWERS["loop"]
    finished = spans.get_finished_spans()
    (run,) = [s for s in finished if s.name == "invoke_agent support"]
    tools = [s for s in finished if s.name == "execute_tool lookup_order"]
    assert len(tools) == LOOP_CALLS
    assert all(t.parent.span_id == run.context.span_id for t in tools)
    assert all(t.attributes["gen_ai.agent.name"] == "support" for t in tools)


def test_follow_up_question_is_a_new_run_in_the_same_session(spans, llm):
    client = openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    messages = [{"role": "user", "content": QUESTIONS["healthy"]}]
    first = client.chat.completions.create(model="m", messages=messages, tools=plain_tools())
    call = first.choices[0].message.tool_calls[0]
    messages += [
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": '{"status": "delayed"}'},
    ]
    answer = client.chat.completions.create(model="m", messages=messages, tools=plain_tools())
    messages += [answer.choices[0].message, {"role": "user", "content": QUESTIONS["wrong"]}]
    client.chat.completions.create(model="m", messages=messages, tools=plain_tools())
    agentwatch.shutdown()  # ends the run still open
    runs = [s for s in spans.get_finished_spans() if s.name.startswith("invoke_agent")]
    assert len(runs) == 2
    assert runs[0].attributes["gen_ai.conversation.id"] == runs[1].attributes["gen_ai.conversation.id"]
    assert runs[0].context.trace_id != runs[1].context.trace_id


def test_a_call_without_tools_stays_one_span(spans, llm):
    client = openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Summarise: the sky is blue."}])
    assert [s.name for s in spans.get_finished_spans()] == ["chat m"]


def test_stream_without_usage_gets_an_estimate(spans, llm):
    client = openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTIONS["healthy"]}], stream=True
    )
    for _ in stream:
        pass
    (span,) = [s for s in spans.get_finished_spans() if s.name == "chat gpt-4o-mini"]
    assert span.attributes["agentwatch.usage.estimated"] is True
    assert span.attributes["gen_ai.usage.input_tokens"] > 0 and span.attributes["gen_ai.usage.output_tokens"] > 0
    assert span.attributes["agentwatch.usage.cost_usd"] > 0
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    reported = [s for s in spans.get_finished_spans() if s.name == "chat gpt-4o-mini"][-1]
    assert "agentwatch.usage.estimated" not in reported.attributes


def test_token_budget_sees_estimated_stream_usage(monkeypatch, llm):
    monkeypatch.setenv("AGENTWATCH_MAX_TOKENS", "40")
    agentwatch.instrument(tracer_provider=_provider(), span_processor=SimpleSpanProcessor(InMemorySpanExporter()))
    try:
        with pytest.raises(agentwatch.AgentBudgetError):
            chat_loop(openai.OpenAI(base_url=llm.base_url, api_key="sk-test"), QUESTIONS["loop"], stream=True)
    finally:
        agentwatch.shutdown()


def plain_tools():
    from .plain_agents import OPENAI_TOOLS

    return OPENAI_TOOLS


def _run_and_store(store, tmp_path, run) -> None:
    expected = 3 * 2 + (LOOP_CALLS - 1)  # LLM calls: two per run, one more per extra loop call
    run_into_store(store, tmp_path / "spool", run, service=AGENT, until="Operation = 'chat'", at_least=expected)


def test_llm_spans_alone_are_judged_on_the_tool_results_they_carry(store, tmp_path, llm, monkeypatch):
    """With run derivation off, each LLM call is its own trace: a tool-call turn is not an answer, and the final
    answer is judged against the tool results in its own input, wherever they stand."""
    monkeypatch.setenv("AGENTWATCH_CONVERSATIONS", "false")
    start = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    client = openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    _run_and_store(store, tmp_path, lambda: [chat_loop(client, q) for q in QUESTIONS.values()])
    assert count(store, "agent_spans WHERE Operation IN ('invoke_agent', 'execute_tool')") == 0
    evaluate(store, HeuristicJudge(), since=start)
    rows = store.query(
        "SELECT Status, Explanation, Score, t.SpanAttributes['gen_ai.input.messages'] FROM evaluations AS e FINAL "
        "INNER JOIN otel_traces AS t ON t.TraceId = e.TraceId AND t.SpanId = e.SpanId WHERE Metric = 'grounding'"
    ).result_rows
    skipped = [r for r in rows if r[0] == "skipped"]
    assert len(skipped) == LOOP_CALLS + 2 and all("tool-call turn" in r[1] for r in skipped), skipped[:2]
    assert not [r for r in rows if "capture off" in r[1]]
    scored = {name: r[2] for r in rows if r[0] == "scored" for name, q in QUESTIONS.items() if q in r[3]}
    assert set(scored) == set(QUESTIONS)
    assert scored["healthy"] >= 0.5 and scored["loop"] >= 0.5 and scored["wrong"] < 0.5, scored


def test_langgraph_react_agent_with_only_the_one_line(store, tmp_path, llm):
    """LangGraph's prebuilt ReAct agent over langchain-openai (which calls the SDK's with_raw_response), nothing
    but agentwatch's instrumentation: the same runs, tool calls, findings and scores as a hand-written loop."""
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from langgraph.prebuilt import create_react_agent

    from .plain_agents import SYSTEM
    from .plain_agents import lookup_order as plain_lookup

    @tool
    def lookup_order(order_id: str) -> dict:
        """Look an order up by its id."""
        return plain_lookup(order_id)

    start = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    answers = {}

    def run() -> None:
        model = ChatOpenAI(model="gpt-4o-mini", base_url=llm.base_url, api_key="sk-test", max_retries=0)
        graph = create_react_agent(model, [lookup_order], prompt=SYSTEM)
        for name, question in QUESTIONS.items():
            state = graph.invoke({"messages": [("user", question)]}, {"recursion_limit": 200})
            answers[name] = state["messages"][-1].content

    _run_and_store(store, tmp_path, run)
    assert answers == ANSWERS
    wait_for(lambda: count(store, "agent_spans") == SPANS_PER_AGENT, what="every span")
    check_pipeline(store, run_pipeline(store, start))


def test_capture_off_is_said_on_the_span(llm):
    exporter = InMemorySpanExporter()
    agentwatch.instrument(
        tracer_provider=_provider(), span_processor=SimpleSpanProcessor(exporter), capture_content=False
    )
    try:
        chat_loop(openai.OpenAI(base_url=llm.base_url, api_key="sk-test"), QUESTIONS["healthy"])
    finally:
        agentwatch.shutdown()
    spans = exporter.get_finished_spans()
    llm_and_runs = [s for s in spans if s.attributes["gen_ai.operation.name"] in ("chat", "invoke_agent")]
    assert len(llm_and_runs) == 3 and all(s.attributes["agentwatch.content.capture"] is False for s in llm_and_runs)
    assert not [
        s for s in spans if "gen_ai.input.messages" in s.attributes or "gen_ai.tool.call.result" in s.attributes
    ]
