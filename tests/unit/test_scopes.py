"""agent / tool / step on sync and async functions and generators, as context managers, across threads and
tasks; contracts on spans; content capture and redaction; errors recorded and re-raised untouched."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from opentelemetry.trace import StatusCode

import agentwatch

from ..conftest import by_name


@agentwatch.tool
def search(query: str, limit: int = 3) -> dict:
    return {"total_hits": 2, "documents": [{"id": 1, "title": f"about {query}"}]}


@agentwatch.tool(name="delete_records", irreversible=True, resource="db:staging")
def delete(table: str) -> dict:
    return {"deleted": 10}


@agentwatch.agent(
    name="support",
    goal="answer billing questions",
    allowed_tools=["search"],
    resources=["kb:billing"],
    credential="svc-support",
)
def support(question: str) -> str:
    found = search(question)
    return f"Found {found['total_hits']} documents"


def test_agent_and_tool_spans_carry_the_contract(spans):
    assert support("refunds") == "Found 2 documents"
    agent_span = by_name(spans, "invoke_agent support")[0]
    tool_span = by_name(spans, "execute_tool search")[0]
    a = agent_span.attributes
    assert a["gen_ai.operation.name"] == "invoke_agent" and a["gen_ai.agent.name"] == "support"
    assert a["agentwatch.agent.goal"] == "answer billing questions"
    assert tuple(a["agentwatch.agent.allowed_tools"]) == ("search",)
    assert tuple(a["agentwatch.agent.resources"]) == ("kb:billing",)
    assert a["agentwatch.credential.id"] == "svc-support"
    session = a["gen_ai.conversation.id"]
    assert len(session) == 32
    assert json.loads(a["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "refunds"}]}
    ]
    assert json.loads(a["gen_ai.output.messages"])[0]["parts"][0]["content"] == "Found 2 documents"
    t = tool_span.attributes
    assert tool_span.parent.span_id == agent_span.context.span_id
    assert t["gen_ai.tool.name"] == "search" and t["gen_ai.operation.name"] == "execute_tool"
    assert t["gen_ai.conversation.id"] == session and t["gen_ai.agent.name"] == "support"
    assert t["agentwatch.step.index"] == 1 and t["gen_ai.tool.call.id"].startswith("call_")
    assert json.loads(t["gen_ai.tool.call.arguments"]) == {"query": "refunds"}
    assert json.loads(t["gen_ai.tool.call.result"])["total_hits"] == 2
    assert t["agentwatch.tool.result.shape"] == (
        "documents:array,documents[].id:number,documents[].title:string,documents[]:object,total_hits:number"
    )
    assert t["agentwatch.tool.result.size"] == len(t["gen_ai.tool.call.result"])
    assert len(t["agentwatch.tool.arguments.hash"]) == 16
    assert tuple(t["agentwatch.agent.allowed_tools"]) == ("search",)


def test_steps_are_numbered_within_an_agent_run(spans):
    @agentwatch.agent(name="planner")
    def plan() -> None:
        with agentwatch.step(intent="read the ticket"):
            pass
        search("a")
        search("b")

    plan()
    plan()
    indexes = sorted(
        s.attributes["agentwatch.step.index"] for s in spans.get_finished_spans() if s.name != "invoke_agent planner"
    )
    assert indexes == [1, 1, 2, 2, 3, 3]
    step_span = by_name(spans, "step")[0]
    assert step_span.attributes["agentwatch.step.intent"] == "read the ticket"


def test_identical_arguments_hash_alike_and_different_ones_do_not(spans):
    search("x")
    search("x")
    search("y")
    hashes = [s.attributes["agentwatch.tool.arguments.hash"] for s in by_name(spans, "execute_tool search")]
    assert hashes[0] == hashes[1] != hashes[2]


def test_irreversible_tools_and_approval(spans):
    @agentwatch.agent(name="cleaner")
    def clean(approve: bool) -> None:
        if approve:
            agentwatch.approve("delete_records")
        delete("events")

    clean(False)
    clean(True)
    first, second = by_name(spans, "execute_tool delete_records")
    assert first.attributes["agentwatch.tool.irreversible"] is True
    assert first.attributes["agentwatch.tool.approved"] is False
    assert second.attributes["agentwatch.tool.approved"] is True
    assert first.attributes["agentwatch.tool.resource"] == "db:staging"
    approval = [e for e in by_name(spans, "invoke_agent cleaner")[1].events if e.name == "agentwatch.approval"]
    assert approval[0].attributes["agentwatch.approval.action"] == "delete_records"


def test_exceptions_are_recorded_and_reraised_untouched(spans):
    class Boom(Exception):
        pass

    original = Boom("tool exploded")

    @agentwatch.tool
    def explode() -> None:
        raise original

    with pytest.raises(Boom) as info:
        explode()
    assert info.value is original
    span = by_name(spans, "execute_tool explode")[0]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "test_exceptions_are_recorded_and_reraised_untouched.<locals>.Boom"
    assert any(e.name == "exception" for e in span.events)


async def test_async_functions_and_tasks_share_the_session(spans):
    @agentwatch.tool
    async def lookup(key: str) -> dict:
        await asyncio.sleep(0)
        return {"key": key}

    @agentwatch.agent(name="async-agent")
    async def run() -> list:
        return await asyncio.gather(lookup("a"), lookup("b"), asyncio.create_task(lookup("c")))

    assert len(await run()) == 3
    agent_span = by_name(spans, "invoke_agent async-agent")[0]
    tools = by_name(spans, "execute_tool lookup")
    assert len(tools) == 3
    assert {t.parent.span_id for t in tools} == {agent_span.context.span_id}
    assert {t.attributes["gen_ai.conversation.id"] for t in tools} == {agent_span.attributes["gen_ai.conversation.id"]}
    assert sorted(t.attributes["agentwatch.step.index"] for t in tools) == [1, 2, 3]


def test_threads_inherit_the_agent_context(spans):
    @agentwatch.agent(name="threaded")
    def run() -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(search, ["a", "b"]))
        worker = threading.Thread(target=search, args=("c",))
        worker.start()
        worker.join()

    run()
    agent_span = by_name(spans, "invoke_agent threaded")[0]
    tools = by_name(spans, "execute_tool search")
    assert len(tools) == 3
    assert {t.parent.span_id for t in tools} == {agent_span.context.span_id}
    assert {t.attributes["gen_ai.agent.name"] for t in tools} == {"threaded"}


def test_generators_keep_the_span_open_until_exhausted(spans):
    @agentwatch.agent(name="streamer")
    def stream_answer(question: str):
        yield "Hello "
        search(question)
        yield "world"

    gen = stream_answer("q")
    assert spans.get_finished_spans() == ()
    assert next(gen) == "Hello "
    assert list(gen) == ["world"]
    agent_span = by_name(spans, "invoke_agent streamer")[0]
    assert json.loads(agent_span.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] == "Hello world"
    assert by_name(spans, "execute_tool search")[0].parent.span_id == agent_span.context.span_id


def test_generator_closed_early_ends_its_span(spans):
    @agentwatch.tool
    def pages():
        yield {"page": 1}
        yield {"page": 2}

    gen = pages()
    next(gen)
    gen.close()
    span = by_name(spans, "execute_tool pages")[0]
    assert span.status.status_code is StatusCode.UNSET
    assert json.loads(span.attributes["gen_ai.tool.call.result"]) == [{"page": 1}]


async def test_async_generators(spans):
    @agentwatch.tool
    async def ticks(n: int):
        for i in range(n):
            yield i

    assert [i async for i in ticks(3)] == [0, 1, 2]
    assert by_name(spans, "execute_tool ticks")[0].attributes["agentwatch.tool.result.shape"] == "$:array,$[]:number"


async def test_context_managers_sync_and_async(spans):
    with agentwatch.agent(name="manual", goal="g") as run:
        run.set_input("what is my balance?")
        with agentwatch.tool(name="balance", arguments={"account": "42"}) as call:
            call.set_result({"balance": 10.5})
        run.set_output("Your balance is 10.50")
    async with agentwatch.agent(name="manual-async"), agentwatch.step(intent="think"):
        pass
    tool_span = by_name(spans, "execute_tool balance")[0]
    assert tool_span.attributes["agentwatch.tool.result.shape"] == "balance:number"
    assert json.loads(tool_span.attributes["gen_ai.tool.call.arguments"]) == {"account": "42"}
    agent_span = by_name(spans, "invoke_agent manual")[0]
    assert "balance is 10.50" in agent_span.attributes["gen_ai.output.messages"]
    assert by_name(spans, "step")[0].attributes["gen_ai.agent.name"] == "manual-async"


def test_hand_off_between_agents_is_parent_and_child(spans):
    @agentwatch.agent(name="billing")
    def billing(q: str) -> str:
        return "billing answer"

    @agentwatch.agent(name="triage")
    def triage(q: str) -> str:
        return billing(q)

    with agentwatch.session("conv-7"):
        triage("refund")
    parent = by_name(spans, "invoke_agent triage")[0]
    child = by_name(spans, "invoke_agent billing")[0]
    assert child.parent.span_id == parent.context.span_id
    assert parent.attributes["gen_ai.conversation.id"] == child.attributes["gen_ai.conversation.id"] == "conv-7"


def test_sources_are_recorded_on_the_current_span(spans):
    @agentwatch.agent(name="rag")
    def rag(q: str) -> str:
        agentwatch.sources([{"id": "doc-1", "text": "Refunds take 5 days."}])
        return "5 days"

    rag("refund time?")
    event = next(e for e in by_name(spans, "invoke_agent rag")[0].events if e.name == "agentwatch.sources")
    assert event.attributes["agentwatch.sources.count"] == 1
    assert json.loads(event.attributes["agentwatch.sources.content"])[0]["id"] == "doc-1"


def test_secrets_are_redacted_and_long_content_cut(spans):
    @agentwatch.tool
    def connect(dsn: str, note: str) -> dict:
        return {"token": "Bearer abcdefghijklmnopqrstuvwxyz0123", "ok": True}

    connect("postgres://admin:hunter2@db/prod", "x" * 20000)
    span = by_name(spans, "execute_tool connect")[0]
    args = span.attributes["gen_ai.tool.call.arguments"]
    assert "hunter2" not in args and "[REDACTED]" in args
    assert args.endswith("…[truncated]") and len(args) <= 16384 + 20
    assert "abcdefghijklmnop" not in span.attributes["gen_ai.tool.call.result"]
    assert span.attributes["agentwatch.content.redacted"] == 2
    assert tuple(span.attributes["agentwatch.content.truncated"]) == ("gen_ai.tool.call.arguments",)
    assert span.attributes["agentwatch.tool.result.shape"] == "ok:boolean,token:string"  # shapes see the real data


def test_content_capture_off_keeps_structure_only():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    agentwatch.instrument(
        tracer_provider=TracerProvider(), span_processor=SimpleSpanProcessor(exporter), capture_content=False
    )
    try:
        support("my secret question")
    finally:
        agentwatch.shutdown()
    everything = json.dumps(
        [dict(s.attributes) for s in exporter.get_finished_spans()]
        + [dict(e.attributes) for s in exporter.get_finished_spans() for e in s.events]
    )
    assert "secret question" not in everything and "about" not in everything
    tool_span = by_name(exporter, "execute_tool search")[0]
    assert tool_span.attributes["agentwatch.tool.result.shape"].startswith("documents:array")
    assert tool_span.attributes["agentwatch.tool.result.size"] > 0
    assert "agentwatch.tool.arguments.hash" in tool_span.attributes
    assert "gen_ai.tool.call.result" not in tool_span.attributes


def test_suspicious_results_are_flagged(spans):
    @dataclass
    class Found:
        total_hits: int
        documents: list

    @agentwatch.tool(result_schema={"type": "object", "required": ["total_hits", "documents"]})
    def lookup(q: str) -> dict:
        return {"total_hits": 12, "documents": []}

    @agentwatch.tool(result_schema=Found)
    def broken(q: str) -> dict:
        return {"error": "upstream timeout"}

    lookup("x")
    broken("x")
    assert tuple(by_name(spans, "execute_tool lookup")[0].attributes["agentwatch.tool.result.flags"]) == (
        "empty_with_hits",
    )
    flagged = by_name(spans, "execute_tool broken")[0].attributes
    assert set(flagged["agentwatch.tool.result.flags"]) == {"error_payload", "schema_mismatch"}
    assert flagged["agentwatch.tool.result.error"] is True


def test_instrumentation_failures_never_reach_the_application(spans, monkeypatch):
    """Outside pytest a failure inside agentwatch is logged and swallowed; the function's result stands."""
    from agentwatch.instrumentation import _scopes, _state

    monkeypatch.setattr(_state, "raise_errors", False)
    monkeypatch.setattr(_scopes, "canonical_arguments", lambda _: 1 / 0)
    monkeypatch.setattr(_scopes, "json_shape", lambda _: 1 / 0)
    assert search("still works") == {"total_hits": 2, "documents": [{"id": 1, "title": "about still works"}]}
    assert search("twice") == {"total_hits": 2, "documents": [{"id": 1, "title": "about twice"}]}
    from agentwatch.instrumentation._safety import failures

    assert failures()[("starting a span", "ZeroDivisionError")] == 2  # counted, logged once


def test_instrumentation_failures_are_raised_under_pytest(spans, monkeypatch):
    from agentwatch.instrumentation import _scopes

    monkeypatch.setattr(_scopes, "json_shape", lambda _: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        search("x")


def test_instrument_is_idempotent_and_reuses_the_global_provider(spans):
    first = agentwatch.instrument()
    assert agentwatch.instrument() is first
