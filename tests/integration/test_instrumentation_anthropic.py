"""The real ``anthropic`` client against the local server speaking Anthropic's Messages API: one GenAI span per call,
guards and content capture as for OpenAI, and never a second span from the SDK's own tracing."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap

import anthropic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

import agentwatch
from agentwatch import AgentBudgetError, Budget
from agentwatch.testing import LLMServer, Reply

from ..conftest import ROOT
from .recorded_turn import RECORDED_INPUT, recorded_output
from .running import RunningCollector, collector_config, count, wait_for

TOOLS = [{"name": "search_orders", "description": "find an order", "input_schema": {"type": "object"}}]


def scripted(path, body):
    model = body.get("model", "")
    if model == "limited":
        return Reply(status=429, error="slow down", retry_after=0)
    if model == "broken":
        return Reply(status=500, error="internal")
    last = body["messages"][-1]["content"]
    if body.get("tools") and isinstance(last, str):
        return Reply(tool_calls=[("search_orders", {"order_id": "A-17"})], cache_read_tokens=20)
    return Reply(text="Your order A-17 ships tomorrow.", cache_read_tokens=3, cache_creation_tokens=2)


@pytest.fixture
def client(llm):
    return anthropic.Anthropic(base_url=llm.root_url, api_key="sk-ant-test-key-0123456789", max_retries=0)


@pytest.fixture
def aclient(llm):
    return anthropic.AsyncAnthropic(base_url=llm.root_url, api_key="sk-ant-test-key-0123456789", max_retries=0)


QUESTION = [{"role": "user", "content": "Where is my order A-17?"}]


def chat_spans(exporter):
    return [s for s in exporter.get_finished_spans() if s.attributes.get("gen_ai.operation.name") == "chat"]


def test_messages_create_span(spans, client, llm):
    response = client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=200,
        stop_sequences=["\n\nHuman:"],
        system="You are a support agent.",
        messages=QUESTION,
    )
    [span] = chat_spans(spans)
    a = span.attributes
    assert span.name == "chat claude-sonnet-4-5" and span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope.name == "agentwatch.anthropic"
    assert (a["gen_ai.provider.name"], a["gen_ai.request.model"]) == ("anthropic", "claude-sonnet-4-5")
    assert a["gen_ai.response.model"] == "claude-sonnet-4-5-sim" and a["gen_ai.response.id"] == response.id
    assert a["server.address"] == "127.0.0.1" and a["server.port"] == int(llm.root_url.rsplit(":", 1)[1])
    assert a["gen_ai.request.max_tokens"] == 200
    assert tuple(a["gen_ai.request.stop_sequences"]) == ("\n\nHuman:",)
    usage = response.usage
    # input tokens count the cached ones too (Anthropic reports them apart)
    assert a["gen_ai.usage.input_tokens"] == usage.input_tokens + 3 + 2
    assert (a["gen_ai.usage.cache_read.input_tokens"], a["gen_ai.usage.cache_creation.input_tokens"]) == (3, 2)
    assert a["gen_ai.usage.output_tokens"] == usage.output_tokens
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("end_turn",)
    assert json.loads(a["gen_ai.input.messages"]) == RECORDED_INPUT
    assert json.loads(a["gen_ai.output.messages"]) == recorded_output("end_turn")


def test_tool_use_round_trip(spans, client):
    first = client.messages.create(model="claude-x", max_tokens=100, tools=TOOLS, messages=QUESTION)
    use = first.content[0]
    client.messages.create(
        model="claude-x",
        max_tokens=100,
        tools=TOOLS,
        messages=[
            *QUESTION,
            {"role": "assistant", "content": [use.model_dump(include={"type", "id", "name", "input"})]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "shipped"}]},
        ],
    )
    asked, answered = chat_spans(spans)
    assert json.loads(asked.attributes["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "tool_call", "id": use.id, "name": "search_orders", "arguments": {"order_id": "A-17"}}
    ]
    assert tuple(asked.attributes["gen_ai.response.finish_reasons"]) == ("tool_use",)
    history = json.loads(answered.attributes["gen_ai.input.messages"])
    assert history[1]["parts"][0] == {
        "type": "tool_call",
        "id": use.id,
        "name": "search_orders",
        "arguments": {"order_id": "A-17"},
    }
    assert history[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": use.id, "response": "shipped"}],
    }


def test_streamed_create_ends_its_span_when_consumed(spans, client):
    stream = client.messages.create(model="claude-x", max_tokens=100, messages=QUESTION, stream=True)
    assert chat_spans(spans) == []  # open while the stream is
    text = "".join(e.delta.text for e in stream if e.type == "content_block_delta")
    [span] = chat_spans(spans)
    a = span.attributes
    assert text == "Your order A-17 ships tomorrow." and a["gen_ai.request.stream"] is True
    assert json.loads(a["gen_ai.output.messages"])[0]["parts"][0]["content"] == text
    assert a["gen_ai.usage.output_tokens"] > 1 and a["gen_ai.usage.cache_read.input_tokens"] == 3
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("end_turn",)


def test_streamed_tool_use_and_early_close(spans, client):
    stream = client.messages.create(model="claude-x", max_tokens=100, tools=TOOLS, messages=QUESTION, stream=True)
    list(stream)
    stream = client.messages.create(model="claude-x", max_tokens=100, messages=QUESTION, stream=True)
    next(iter(stream))
    stream.close()  # the application stops reading: the span still ends
    whole, cut = chat_spans(spans)
    [part] = json.loads(whole.attributes["gen_ai.output.messages"])[0]["parts"]
    assert part.pop("id").startswith("toolu_")
    assert part == {"type": "tool_call", "name": "search_orders", "arguments": {"order_id": "A-17"}}
    assert cut.end_time is not None


@pytest.mark.parametrize("read", ["final_message", "text_stream", "iterate"])
def test_the_stream_helper_is_one_span_however_it_is_read(spans, client, read):
    with client.messages.stream(model="claude-x", max_tokens=100, tools=TOOLS, messages=QUESTION) as stream:
        if read == "final_message":
            stream.get_final_message()
        elif read == "text_stream":
            list(stream.text_stream)
        else:
            list(stream)
    [span] = chat_spans(spans)
    assert span.attributes["gen_ai.request.stream"] is True
    assert json.loads(span.attributes["gen_ai.output.messages"])[0]["parts"][0]["name"] == "search_orders"
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 20


async def test_async_create_stream_and_helper(spans, aclient):
    await aclient.messages.create(model="claude-a", max_tokens=50, messages=QUESTION)
    stream = await aclient.messages.create(model="claude-a", max_tokens=50, messages=QUESTION, stream=True)
    async for _ in stream:
        pass
    async with aclient.messages.stream(model="claude-a", max_tokens=50, messages=QUESTION) as helper:
        text = "".join([t async for t in helper.text_stream])
    assert text == "Your order A-17 ships tomorrow."
    found = chat_spans(spans)
    assert [s.name for s in found] == ["chat claude-a"] * 3
    for span in found:
        assert json.loads(span.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] == text
        assert span.attributes["gen_ai.usage.input_tokens"] > 5


@pytest.mark.parametrize(
    ("model", "error", "status"), [("limited", "RateLimitError", 429), ("broken", "InternalServerError", 500)]
)
def test_errors_set_error_type_and_reraise(spans, client, model, error, status):
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(model=model, max_tokens=10, messages=QUESTION)
    [span] = chat_spans(spans)
    assert span.attributes["error.type"] == error and span.attributes["http.response.status_code"] == status
    assert span.status.status_code is StatusCode.ERROR


def test_the_sdks_own_span_is_never_a_second_record(llm):
    """anthropic 2.x traces its calls itself when a global tracer provider is set. Instrumented: one span per call,
    ours. Uninstrumented (the control): the SDK's own span is there, so the check above is not vacuous."""
    code = textwrap.dedent("""
        import json, sys, anthropic, agentwatch
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)  # the SDK's tracing is on
        if sys.argv[2] == "instrumented":
            agentwatch.instrument(span_processor=SimpleSpanProcessor(InMemorySpanExporter()))
        client = anthropic.Anthropic(base_url=sys.argv[1], api_key="k", max_retries=0)
        q = [{"role": "user", "content": "hi"}]
        client.messages.create(model="m", max_tokens=5, messages=q)
        list(client.messages.create(model="m", max_tokens=5, messages=q, stream=True))
        with client.messages.stream(model="m", max_tokens=5, messages=q) as s:
            s.get_final_message()
        print(json.dumps([(s.name, s.instrumentation_scope.name, s.attributes.get("gen_ai.operation.name"))
                          for s in exporter.get_finished_spans()]))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWATCH_", "OTEL_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    seen = {}
    for mode in ("instrumented", "plain"):
        done = subprocess.run(
            [sys.executable, "-c", code, llm.root_url, mode], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
        seen[mode] = json.loads(done.stdout)
    assert seen["instrumented"] == [["chat m", "agentwatch.anthropic", "chat"]] * 3
    assert [name for name, scope, _ in seen["plain"]] == ["anthropic.messages.create"] * 3
    assert {scope for _, scope, _ in seen["plain"]} == {"com.anthropic.sdk.python"}


def test_the_budget_guard_stops_an_anthropic_agent(spans, llm, client):
    question = [{"role": "user", "content": "x" * 400}]  # ~100 prompt tokens at the simulated server

    @agentwatch.agent(name="talker", budget=Budget(max_tokens=200))
    def run() -> None:
        client.messages.create(model="claude-x", max_tokens=50, messages=question)
        with client.messages.stream(model="claude-x", max_tokens=50, messages=question) as stream:
            stream.get_final_message()  # over 200 by now
        client.messages.create(model="claude-x", max_tokens=50, messages=question)  # never sent

    before = len(llm.requests)
    with pytest.raises(AgentBudgetError, match="the budget of 200 is spent"):
        run()
    assert len(llm.requests) - before == 2
    made, refused = chat_spans(spans)[:2], chat_spans(spans)[2:]
    assert all("error.type" not in s.attributes and s.attributes["gen_ai.usage.input_tokens"] > 90 for s in made)
    # the refused call is on record as refused, as for an OpenAI agent
    [blocked] = refused
    assert blocked.attributes["error.type"] == "AgentBudgetError"


def test_the_rate_limit_back_off_counts_anthropic_429s(spans, client):
    @agentwatch.agent(name="retrier", guards=agentwatch.Guards(max_rate_limit_retries=1, rate_limit_backoff=0.01))
    def run() -> None:
        for _ in range(3):
            with contextlib.suppress(anthropic.RateLimitError):
                client.messages.create(model="limited", max_tokens=5, messages=QUESTION)

    with pytest.raises(agentwatch.AgentLoopError):
        run()
    made = [s for s in chat_spans(spans) if s.attributes.get("error.type") == "RateLimitError"]
    refused = [s for s in chat_spans(spans) if s.attributes.get("error.type") == "AgentLoopError"]
    assert (len(made), len(refused)) == (2, 1)  # the third call was refused before it was made


AGENT = textwrap.dedent("""
    import agentwatch.auto
    import agentwatch, anthropic, asyncio, os

    client = anthropic.Anthropic(base_url=os.environ["LLM_URL"], api_key="sk-ant-api03-" + "x" * 40)
    aclient = anthropic.AsyncAnthropic(base_url=os.environ["LLM_URL"], api_key="sk-ant-api03-" + "x" * 40)
    TOOLS = [{"name": "search_orders", "input_schema": {"type": "object"}}]

    def search_orders(order_id: str) -> dict:
        return {"orders": [{"id": order_id, "status": "shipped"}]}

    @agentwatch.agent(name="claude-support", goal="answer order questions", allowed_tools=["search_orders"])
    def support(question: str) -> str:
        messages = [{"role": "user", "content": question}]
        first = client.messages.create(model="claude-sonnet-4-5", max_tokens=100, tools=TOOLS, messages=messages)
        use = first.content[0]
        found = agentwatch.tool(call_id=use.id)(search_orders)(**use.input)
        result = {"type": "tool_result", "tool_use_id": use.id, "content": str(found)}
        messages += [{"role": "assistant", "content": [use.model_dump(include={"type", "id", "name", "input"})]},
                     {"role": "user", "content": [result]}]
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=100, messages=messages) as stream:
            answer = stream.get_final_text()

        async def follow_up():
            return await aclient.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=messages)

        asyncio.run(follow_up())
        return answer

    with agentwatch.session("conv-claude"):
        print(support("Where is A-17?"))
""")


def test_an_anthropic_agent_end_to_end(store, tmp_path):
    """import agentwatch.auto → OTLP → collector → agent_spans: exactly one chat row per call, typed."""
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    with (
        RunningCollector(collector_config(store, tmp_path / "spool"), store) as rc,
        LLMServer(scripted) as llm,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWATCH_", "OTEL_", "PYTEST_"))}
        env.update(PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT=rc.http_url, LLM_URL=llm.root_url)
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "Your order A-17 ships tomorrow."
        wait_for(lambda: count(store, "agent_spans") >= 5, what="the agent's 5 spans")
    assert count(store, "agent_spans") == 5
    rows = store.query(
        "SELECT Operation, AgentName, SessionId, Provider, RequestModel, ResponseModel, InputTokens, OutputTokens, "
        "ToolName, ToolCallId, StepIndex FROM agent_spans ORDER BY StepIndex"
    ).named_results()
    rows = list(rows)
    chats = [r for r in rows if r["Operation"] == "chat"]
    assert [(r["Provider"], r["RequestModel"]) for r in chats] == [
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-haiku-4-5"),
    ]
    assert all(r["ResponseModel"].endswith("-sim") and r["InputTokens"] > 0 and r["OutputTokens"] > 0 for r in chats)
    assert all((r["AgentName"], r["SessionId"]) == ("claude-support", "conv-claude") for r in chats)
    [tool] = [r for r in rows if r["Operation"] == "execute_tool"]
    assert (tool["ToolName"], tool["ToolCallId"][:6], tool["StepIndex"]) == ("search_orders", "toolu_", 2)
    leaked = store.query(
        "SELECT count() FROM otel_traces WHERE arrayExists(v -> v LIKE '%sk-ant-api03%', mapValues(SpanAttributes))"
    ).result_rows[0][0]
    assert leaked == 0
