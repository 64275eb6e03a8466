"""Runtime guards trip exactly at their limits, before the call that would exceed them, and say so on the span."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time

import openai
import pytest

import agentwatch
from agentwatch import (
    AgentBudgetError,
    AgentLoopError,
    AgentQualityError,
    ApprovalRequiredError,
    Budget,
    Guards,
    ScopeViolationError,
    ToolSchemaError,
)
from agentwatch.testing import LLMServer, Reply


def events(exporter, guard: str) -> list[tuple[str, str]]:
    return [
        (e.attributes["agentwatch.guard.decision"], e.name)
        for s in exporter.get_finished_spans()
        for e in s.events
        if e.name == f"agentwatch.guard.{guard}"
    ]


def test_step_budget_trips_at_the_limit_sync_and_async(spans):
    ran = []

    @agentwatch.tool
    def work(i: int) -> dict:
        ran.append(i)
        return {"i": i}

    @agentwatch.agent(name="worker", budget=Budget(max_steps=3))
    def run(n: int) -> None:
        for i in range(n):
            work(i)

    run(3)
    with pytest.raises(AgentBudgetError) as info:
        run(4)
    assert ran == [0, 1, 2, 0, 1, 2]  # the 4th call never ran
    assert "step 4, over the budget of 3 steps" in str(info.value)
    assert (info.value.limit, info.value.observed) == (3, 4)
    assert ("blocked", "agentwatch.guard.budget") in events(spans, "budget")

    @agentwatch.tool
    async def awork(i: int) -> dict:
        return {"i": i}

    @agentwatch.agent(name="aworker", budget=Budget(max_steps=2))
    async def arun() -> None:
        for i in range(3):
            await awork(i)

    with pytest.raises(AgentBudgetError):
        asyncio.run(arun())


def test_wall_time_budget():
    @agentwatch.tool
    def slow() -> dict:
        return {}

    @agentwatch.agent(name="timed", budget=Budget(max_seconds=0.2))
    def run() -> None:
        slow()
        time.sleep(0.3)
        slow()

    with pytest.raises(AgentBudgetError, match=r"over the budget of 0\.2s"):
        run()


@pytest.fixture
def llm():
    with LLMServer(
        lambda p, b: (
            Reply(status=429, error="slow")
            if b.get("model") == "limited"
            else Reply(text="forty tokens of answer " * 4)
        )
    ) as server:
        yield server


def test_token_budget_counts_real_usage_including_streams(spans, llm):
    client = openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0)
    messages = [{"role": "user", "content": "x" * 400}]  # ~100 prompt tokens at the simulated server

    @agentwatch.agent(name="talker", budget=Budget(max_tokens=240))
    def run() -> None:
        client.chat.completions.create(model="gpt-4o", messages=messages)  # 123 tokens
        stream = client.chat.completions.create(
            model="gpt-4o", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        for _ in stream:  # 123 more: 246 spent, over 240
            pass
        client.chat.completions.create(model="gpt-4o", messages=messages)  # over budget: never sent

    before = len(llm.requests)
    with pytest.raises(AgentBudgetError, match="tokens used, the budget of 240 is spent"):
        run()
    assert len(llm.requests) - before == 2
    costs = [
        s.attributes.get("agentwatch.usage.cost_usd")
        for s in spans.get_finished_spans()
        if s.name == "chat gpt-4o" and "agentwatch.usage.cost_usd" in s.attributes
    ]
    assert len(costs) == 2 and all(c > 0 for c in costs)


def test_cost_budget(spans, llm):
    client = openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0)

    @agentwatch.agent(name="spender", budget=Budget(max_cost_usd=0.0005))
    def run() -> int:
        calls = 0
        while True:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "y" * 400}])
            calls += 1

    with pytest.raises(AgentBudgetError, match=r"spent, the budget of \$0.0005 is spent"):
        run()


def test_rate_limit_retries_back_off_and_are_capped(spans, llm):
    client = openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0)

    @agentwatch.agent(name="hammer", guards=Guards(max_rate_limit_retries=2, rate_limit_backoff=0.05))
    def run() -> None:
        for _ in range(10):
            try:
                client.chat.completions.create(model="limited", messages=[{"role": "user", "content": "hi"}])
            except openai.RateLimitError:
                continue

    started = time.monotonic()
    with pytest.raises(AgentLoopError, match="3 rate-limited LLM calls in this run"):
        run()
    assert time.monotonic() - started >= 0.05 + 0.1  # backed off before the 2nd and 3rd call


async def test_async_rate_limit_back_off_leaves_the_event_loop_running(spans, llm):
    client = openai.AsyncOpenAI(base_url=llm.base_url, api_key="k", max_retries=0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    @agentwatch.agent(name="hammer", guards=Guards(max_rate_limit_retries=2, rate_limit_backoff=0.2))
    async def run() -> None:
        for _ in range(10):
            try:
                await client.chat.completions.create(model="limited", messages=[{"role": "user", "content": "hi"}])
            except openai.RateLimitError:
                continue

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    with pytest.raises(AgentLoopError, match="3 rate-limited LLM calls in this run"):
        await run()
    ticking.cancel()
    assert time.monotonic() - started >= 0.2 + 0.4  # backed off before the 2nd and 3rd call
    assert ticks >= 20  # other tasks ran meanwhile: the back-off awaited, it did not block the loop


def test_loop_breaker_raises_or_tells_the_agent(spans):
    ran = []

    @agentwatch.tool
    def status(job: str) -> dict:
        ran.append(job)
        return {"state": "running"}

    @agentwatch.agent(name="poller", guards=Guards(max_repeats=3))
    def poll() -> None:
        status("other")
        for _ in range(4):
            status("job-7")

    with pytest.raises(AgentLoopError, match="status was called 4 times with the same arguments"):
        poll()
    assert ran.count("job-7") == 3 and ran.count("other") == 1
    assert ("blocked", "agentwatch.guard.loop") in events(spans, "loop")

    @agentwatch.agent(name="polite", guards=Guards(max_repeats=2, loop_mode="message"))
    def gentle() -> list:
        return [status("job-9") for _ in range(3)]

    answers = gentle()
    assert answers[:2] == [{"state": "running"}] * 2
    assert isinstance(answers[2], str) and answers[2].startswith("Stop: status was called 3 times")
    assert ("warned", "agentwatch.guard.loop") in events(spans, "loop")


def test_hand_off_ping_pong(spans):
    @agentwatch.agent(name="billing")
    def billing(n: int) -> str:
        return triage(n - 1) if n else "done"

    @agentwatch.agent(name="triage")
    def triage(n: int) -> str:
        return billing(n - 1) if n else "done"

    @agentwatch.agent(name="front", guards=Guards(max_handoff_alternations=3))
    def front(n: int) -> str:
        return triage(n)

    assert front(3) == "done"  # front → triage → billing → triage: 2 returns
    with pytest.raises(AgentLoopError, match="handing the session back and forth"):
        front(8)


def test_scope_and_approval(spans):
    ran = []

    @agentwatch.tool
    def search(q: str) -> dict:
        return {"hits": 1}

    @agentwatch.tool(irreversible=True)
    def drop_table(table: str) -> dict:
        ran.append(table)
        return {"dropped": table}

    @agentwatch.agent(name="bot", allowed_tools=["search"], guards=Guards())
    def bot() -> None:
        search("x")
        drop_table("users")

    with pytest.raises(ScopeViolationError, match=r"bot may not call drop_table: its allowed tools are \['search'\]"):
        bot()
    assert ran == []

    @agentwatch.agent(name="dba", guards=Guards())
    def dba(approved: bool) -> None:
        with agentwatch.step(intent="remove the stale table"):
            if approved:
                agentwatch.approve("drop_table")
            drop_table("stale")

    with pytest.raises(ApprovalRequiredError, match="stated intent: remove the stale table"):
        dba(False)
    dba(True)
    assert ran == ["stale"]

    @agentwatch.agent(name="ci", guards=Guards(approved_actions=("drop_table",)))
    def ci() -> None:
        drop_table("tmp")

    @agentwatch.agent(name="asker", guards=Guards(approval_callback=lambda action, args: args["table"] == "ok"))
    def asker(table: str) -> None:
        drop_table(table)

    ci()
    asker("ok")
    with pytest.raises(ApprovalRequiredError):
        asker("prod")
    assert ran == ["stale", "tmp", "ok"]
    assert ("blocked", "agentwatch.guard.approval") in events(spans, "approval")


@dataclasses.dataclass
class Page:
    total_hits: int
    documents: list


def test_tool_response_contracts(spans):
    schema = {
        "type": "object",
        "required": ["total_hits", "documents"],
        "properties": {"total_hits": {"type": "integer"}, "documents": {"type": "array"}},
    }

    @agentwatch.tool(result_schema=schema)
    def search(bad: bool) -> dict:
        return {"total_hits": "12", "documents": None} if bad else {"total_hits": 1, "documents": []}

    @agentwatch.tool(result_schema=Page)
    def page() -> dict:
        return {"documents": []}

    @agentwatch.agent(name="strict", guards=Guards())
    def strict(bad: bool) -> dict:
        return search(bad)

    assert strict(False) == {"total_hits": 1, "documents": []}
    with pytest.raises(ToolSchemaError) as info:
        strict(True)
    assert info.value.fields == ["documents (null)", "total_hits (expected integer, got str)"]

    @agentwatch.agent(name="lenient", guards=Guards(schema_mode="flag"))
    def lenient() -> dict:
        return page()

    assert lenient() == {"documents": []}  # passed through, flagged
    assert ("warned", "agentwatch.guard.tool_schema") in events(spans, "tool_schema")
    flagged = [s for s in spans.get_finished_spans() if s.name == "execute_tool page"][-1]
    assert tuple(flagged.attributes["agentwatch.tool.result.flags"]) == ("schema_mismatch",)


def test_a_guarded_result_is_checked_against_its_schema_once(spans):
    checked = []

    class Counted:
        @classmethod
        def model_validate(cls, data: object) -> None:  # pydantic's entry point, counting its calls
            checked.append(data)
            raise ValueError("total_hits missing")

    @agentwatch.tool(result_schema=Counted)
    def search() -> dict:
        return {"documents": []}

    @agentwatch.agent(name="lenient", guards=Guards(schema_mode="flag"))
    def lenient() -> dict:
        return search()

    lenient()
    assert len(checked) == 1  # the guard's check is the one the span's schema_mismatch flag reuses
    span = [s for s in spans.get_finished_spans() if s.name == "execute_tool search"][-1]
    assert tuple(span.attributes["agentwatch.tool.result.flags"]) == ("schema_mismatch",)


def test_answer_gate(spans):
    @agentwatch.tool
    def lookup(order: str) -> dict:
        return {"order": order, "warehouse": "Rotterdam", "eta_days": 3}

    @agentwatch.agent(name="gated", min_grounding=0.7)
    def answer(question: str, honest: bool) -> str:
        lookup("A-17")
        return (
            "Order A-17 ships from Rotterdam in 3 days."
            if honest
            else "Order A-17 ships from Denver in 9 days, guaranteed."
        )

    assert answer("Where is A-17?", True).startswith("Order A-17 ships from Rotterdam")
    with pytest.raises(AgentQualityError) as info:
        answer("Where is A-17?", False)
    assert info.value.scores["grounding"] < 0.7
    gated = [s for s in spans.get_finished_spans() if s.name == "invoke_agent gated"]
    assert gated[0].attributes["agentwatch.evaluation.grounding"] >= 0.7
    assert gated[0].attributes["agentwatch.evaluation.judge"] == "heuristic"

    @agentwatch.agent(name="safe", min_grounding=0.7, fallback="Let me check that with a colleague.")
    def safe(question: str) -> str:
        agentwatch.sources([{"text": "Refunds take 5 business days."}])
        return "Refunds take 30 days."

    assert safe("How long do refunds take?") == "Let me check that with a colleague."
    assert (
        agentwatch.check_answer("How long?", "Refunds take 5 business days.", ["Refunds take 5 business days."])
        == "Refunds take 5 business days."
    )
    with pytest.raises(AgentQualityError):
        agentwatch.check_answer("How long?", "Refunds take 30 days.", ["Refunds take 5 business days."])


def test_guards_off_changes_nothing(spans):
    @agentwatch.tool(irreversible=True)
    def drop(i: int) -> dict:
        return {"i": i}

    @agentwatch.agent(name="free", allowed_tools=["search"])
    def free() -> int:
        return len([drop(1) for _ in range(50)])

    assert free() == 50  # no budget, no loop breaker, no scope or approval enforcement without guards
    assert not [e for s in spans.get_finished_spans() for e in s.events if e.name.startswith("agentwatch.guard")]


def test_global_defaults_from_the_environment(monkeypatch):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    monkeypatch.setenv("AGENTWATCH_MAX_STEPS", "2")
    agentwatch.instrument(tracer_provider=TracerProvider(), span_processor=SimpleSpanProcessor(InMemorySpanExporter()))
    try:

        @agentwatch.tool
        def step() -> dict:
            return {}

        @agentwatch.agent(name="env")
        def env() -> None:
            for _ in range(3):
                step()

        with pytest.raises(AgentBudgetError, match="budget of 2 steps"):
            env()
    finally:
        agentwatch.shutdown()


def _stored(store, tmp_path, run) -> dt.datetime:
    """Run ``run`` instrumented, its spans exported over OTLP to a real collector into ``store``; the start."""
    from .running import run_into_store

    start = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=1)
    run_into_store(store, tmp_path / "spool", run, service="guarded", until="Operation = 'invoke_agent'", at_least=1)
    return start


def test_an_answer_the_gate_replaced_is_reported_as_blocked_not_as_ungrounded(store, tmp_path):
    """Issue 33: the gate replaced a wrong answer with the fallback, yet ungrounded_answers fired (critical) on the
    answer the user never saw."""
    from agentwatch.detectors import run_detectors
    from agentwatch.evaluators import HeuristicJudge, evaluate

    @agentwatch.agent(name="safe", min_grounding=0.7, fallback="Let me check that with a colleague.")
    def safe(question: str) -> str:
        agentwatch.sources([{"text": "Refunds take 5 business days."}])
        return "Refunds take 30 days, guaranteed."

    start = _stored(store, tmp_path, lambda: safe("How long do refunds take?"))
    evaluate(store, HeuristicJudge(), since=start)
    grounding = store.query(
        "SELECT Status, Score FROM evaluations FINAL WHERE Metric = 'grounding' AND Evaluator = 'heuristic'"
    ).result_rows
    assert grounding and all(score >= 0.5 for _, score in grounding), grounding  # the fallback is what was said
    end = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=1)
    findings = [f for r in run_detectors(store, window=3600, end=end) for f in r.findings]
    assert not [f for f in findings if f.detector == "ungrounded_answers"], findings
    blocked = [f for f in findings if f.detector == "guard_blocked"]
    assert len(blocked) == 1 and blocked[0].severity == "info", findings
    assert "answer gate" in blocked[0].summary and "Let me check that with a colleague." in blocked[0].summary
    assert "0.7" in blocked[0].summary, blocked[0].summary


def _groundings(store, tmp_path, run) -> list[tuple[str, str]]:
    """(status, explanation) of every grounding evaluation of what ``run`` recorded, evaluated by the worker."""
    from agentwatch.evaluators import HeuristicJudge, evaluate

    evaluate(store, HeuristicJudge(), since=_stored(store, tmp_path, run))
    return store.query("SELECT Status, Explanation FROM evaluations FINAL WHERE Metric = 'grounding'").result_rows


def _skipped_as_stopped(store, tmp_path, call, error: type[Exception], guard: str) -> None:
    """``call`` raises ``error``; the worker then skips its run as stopped by ``guard``."""

    def run() -> None:
        with pytest.raises(error):
            call()

    rows = _groundings(store, tmp_path, run)
    assert rows and all(s == "skipped" and f"stopped by the {guard}" in e for s, e in rows), rows


def test_an_answer_the_gate_refused_is_blocked_and_not_evaluated(store, tmp_path):
    @agentwatch.agent(name="strict", min_grounding=0.7)
    def strict(question: str) -> str:
        agentwatch.sources([{"text": "Refunds take 5 business days."}])
        return "Refunds take 30 days, guaranteed."

    _skipped_as_stopped(store, tmp_path, lambda: strict("How long do refunds take?"), AgentQualityError, "answer gate")


def test_a_run_the_loop_guard_stopped_is_skipped_as_stopped_not_as_missing_content(store, tmp_path, monkeypatch):
    """Issue 33: runs stopped by AgentLoopError were evaluated as "skipped … content capture off"."""
    monkeypatch.setenv("AGENTWATCH_CAPTURE_CONTENT", "false")

    @agentwatch.tool
    def lookup(order_id: str) -> dict:
        return {"order_id": order_id, "status": "delayed"}

    @agentwatch.agent(name="looping", guards=Guards(max_repeats=3))
    def looping(question: str) -> str:
        for _ in range(10):
            lookup("A-1")
        return "done"

    _skipped_as_stopped(store, tmp_path, lambda: looping("Track A-1"), AgentLoopError, "loop guard")
