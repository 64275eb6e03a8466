"""A scenario generator for the detectors: each failure mode injected, next to healthy look-alikes.

Rows go into otel_traces with real attribute names, so the materialized views fill agent_spans and the hourly
rollups exactly as in production. Every scenario carries a tag that appears in its sessions, agents and tools,
so a finding can be traced back to the scenario it concerns.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from agentwatch.evaluators.worker import _COLUMNS as COLUMNS

from .spans import insert_spans, otel_row

_ids = itertools.count(1)


def _id(width: int) -> str:
    return f"{next(_ids):0{width}x}"


@dataclass
class Scenario:
    tag: str
    expected: set[str]  # detectors that must flag it (empty: healthy look-alike)
    description: str
    rows: list[list[Any]] = field(default_factory=list)
    evaluations: list[list[Any]] = field(default_factory=list)


class Builder:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.window_t = now - dt.timedelta(minutes=20)  # inside [now - 1h, now)
        self.scenarios: list[Scenario] = []

    def scenario(self, tag: str, expected: set[str], description: str) -> Scenario:
        s = Scenario(tag, expected, description)
        self.scenarios.append(s)
        return s

    @staticmethod
    def span(
        s: Scenario,
        ts: dt.datetime,
        attrs: dict[str, Any],
        *,
        trace: str | None = None,
        status: str = "Unset",
        name: str = "span",
        parent: str = "",
        span_id: str | None = None,
        duration_ms: float = 5,
        events: list = (),
    ) -> str:
        span_id = span_id or _id(16)
        flat = {
            k: (json.dumps(v) if isinstance(v, (list, dict)) else str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in attrs.items()
        }
        s.rows.append(
            otel_row(
                span_id,
                flat,
                trace_id=trace or _id(32),
                parent=parent,
                name=name,
                status=status,
                timestamp=ts,
                duration_ns=int(duration_ms * 1e6),
                events=list(events),
            )
        )
        return span_id

    def tool(
        self,
        s: Scenario,
        ts: dt.datetime,
        tool: str,
        *,
        session: str,
        agent: str = "",
        args: str = "a",
        shape: str = "ok:boolean",
        error: bool = False,
        trace: str | None = None,
        **extra: Any,
    ) -> str:
        attrs = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool,
            "gen_ai.conversation.id": session,
            "agentwatch.tool.arguments.hash": f"h-{args}",
            "agentwatch.tool.result.shape": shape,
            **extra,
        }
        if agent:
            attrs["gen_ai.agent.name"] = agent
        if error:
            attrs["error.type"] = "ToolError"
        return self.span(s, ts, attrs, trace=trace, status="Error" if error else "Unset", name=f"execute_tool {tool}")

    def chat(
        self,
        s: Scenario,
        ts: dt.datetime,
        *,
        session: str,
        agent: str,
        tokens: int,
        model: str = "gpt-4o",
        error_type: str = "",
        out: int = 50,
    ) -> str:
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "gen_ai.provider.name": "openai",
            "gen_ai.usage.input_tokens": tokens,
            "gen_ai.usage.output_tokens": out,
            "gen_ai.conversation.id": session,
            "gen_ai.agent.name": agent,
        }
        if error_type:
            attrs["error.type"] = error_type
        return self.span(s, ts, attrs, status="Error" if error_type else "Unset", name=f"chat {model}")

    def agent(
        self,
        s: Scenario,
        ts: dt.datetime,
        name: str,
        *,
        session: str,
        trace: str | None = None,
        error: bool = False,
        **contract: Any,
    ) -> str:
        attrs = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": name,
            "gen_ai.conversation.id": session,
            **contract,
        }
        return self.span(s, ts, attrs, trace=trace, status="Error" if error else "Unset", name=f"invoke_agent {name}")

    def evaluation(self, s: Scenario, ts: dt.datetime, *, session: str, agent: str, metric: str, score: float) -> None:
        s.evaluations.append(
            [
                ts,
                self.now,
                _id(32),
                _id(16),
                session,
                "svc",
                agent,
                "heuristic",
                metric,
                "scored",
                score,
                "low" if score < 0.5 else "ok",
                f"{metric} {score}",
                "",
                "{}",
            ]
        )

    def at(self, minutes: float) -> dt.datetime:
        return self.window_t + dt.timedelta(minutes=minutes)

    def baseline(self, hours: float) -> dt.datetime:
        return self.now - dt.timedelta(hours=1 + hours)


def build(now: dt.datetime) -> list[Scenario]:
    b = Builder(now)
    w, base = b.at, b.baseline

    # 1. context degradation
    s = b.scenario("ctxbad", {"context_growth"}, "input tokens balloon 12x within a session")
    for i, tokens in enumerate([1000, 3000, 6000, 9000, 12000]):
        b.chat(s, w(i), session="s-ctxbad", agent="agent-ctxbad", tokens=tokens)
    s = b.scenario("ctxwindow", {"context_growth"}, "a call uses 96% of gpt-4's 8k window")
    b.chat(s, w(1), session="s-ctxwindow", agent="agent-ctxwindow", tokens=7900, model="gpt-4-0613")
    s = b.scenario("ctxok", set(), "a long but stable conversation")
    for i in range(12):
        b.chat(s, w(i * 0.5), session="s-ctxok", agent="agent-ctxok", tokens=2000 + (i % 4) * 150)

    # 2. silent wrong answers
    s = b.scenario("ansbad", {"ungrounded_answers"}, "an answer with grounding 0.2")
    b.evaluation(s, w(1), session="s-ansbad", agent="agent-ansbad", metric="grounding", score=0.2)
    s = b.scenario("ansok", set(), "a well-grounded answer")
    b.evaluation(s, w(1), session="s-ansok", agent="agent-ansok", metric="grounding", score=0.92)
    s = b.scenario("overconfbad", {"overconfident_answers"}, "a confident answer over a failed tool: calibration 0.1")
    b.evaluation(s, w(1), session="s-overconfbad", agent="agent-overconfbad", metric="calibration", score=0.1)
    s = b.scenario("overconfok", set(), "a hedged answer after a failed tool: calibration 0.6, grounding 0.9")
    b.evaluation(s, w(1), session="s-overconfok", agent="agent-overconfok", metric="calibration", score=0.6)
    b.evaluation(s, w(1), session="s-overconfok", agent="agent-overconfok", metric="grounding", score=0.9)
    s = b.scenario("swallowbad", {"swallowed_tool_errors"}, "tool failed, agent answered normally")
    trace = _id(32)
    b.agent(s, w(2), "agent-swallowbad", session="s-swallowbad", trace=trace)
    b.tool(s, w(1), "crm-swallowbad", session="s-swallowbad", agent="agent-swallowbad", error=True, trace=trace)
    s = b.scenario("swallowok", set(), "tool failed and the agent reported the failure")
    trace = _id(32)
    b.agent(s, w(2), "agent-swallowok", session="s-swallowok", trace=trace, error=True)
    b.tool(s, w(1), "crm-swallowok", session="s-swallowok", agent="agent-swallowok", error=True, trace=trace)

    # 3. tool schema drift
    s = b.scenario("driftbad", {"tool_schema_drift"}, "inventory API renamed `items` to `results`")
    for i in range(30):
        b.tool(
            s,
            base(i % 20),
            "inventory-driftbad",
            session=f"s-driftbad-b{i}",
            args=str(i),
            shape="items:array,total:number",
        )
    for i in range(3):
        b.tool(s, w(i), "inventory-driftbad", session="s-driftbad", args=str(i), shape="results:array,total:string")
    s = b.scenario("driftok", set(), "catalog API gained an optional field back in the baseline")
    for i in range(25):
        b.tool(s, base(i % 20), "catalog-driftok", session=f"s-driftok-b{i}", args=str(i), shape="items:array")
    for i in range(10):
        b.tool(
            s, base(i), "catalog-driftok", session=f"s-driftok-c{i}", args=f"c{i}", shape="discount:number,items:array"
        )
    for i in range(3):
        b.tool(s, w(i), "catalog-driftok", session="s-driftok", args=f"w{i}", shape="discount:number,items:array")
    s = b.scenario("driftnewbad", {"tool_schema_drift"}, "a new deployment: 30 calls of one shape, then 10 of another")
    for i in range(30):
        shape = "items:array,total:number"
        b.tool(s, w(i * 0.4), "stock-driftnewbad", session="s-driftnewbad", args=str(i), shape=shape)
    for i in range(10):
        b.tool(s, w(13 + i * 0.3), "stock-driftnewbad", session="s-driftnewbad", args=f"n{i}", shape="data:object")
    s = b.scenario("driftnewok", set(), "a new deployment whose optional field comes and goes call to call")
    for i in range(40):
        shape = "discount:number,items:array" if i % 3 == 0 else "items:array"
        b.tool(s, w(i * 0.4), "prices-driftnewok", session="s-driftnewok", args=str(i), shape=shape)
    s = b.scenario("emptyhitsbad", {"empty_results_with_hits"}, "search claims 12 hits but returns none")
    b.tool(
        s,
        w(1),
        "search-emptyhitsbad",
        session="s-emptyhitsbad",
        shape="documents:array,total_hits:number",
        **{"agentwatch.tool.result.flags": ["empty_with_hits"]},
    )
    s = b.scenario("emptyhitsok", set(), "search honestly finds nothing")
    b.tool(s, w(1), "search-emptyhitsok", session="s-emptyhitsok", shape="documents:array,total_hits:number")
    s = b.scenario("errratebad", {"tool_error_rate"}, "payments API errors jump from 2% to 50%")
    for i in range(50):
        b.tool(s, base(i % 24), "payments-errratebad", session=f"s-errratebad-b{i}", args=str(i), error=i == 0)
    for i in range(12):
        b.tool(s, w(i * 0.3), "payments-errratebad", session=f"s-errratebad-{i}", args=f"w{i}", error=i % 2 == 0)
    s = b.scenario("errrateok", set(), "ledger API is flaky as usual (20% → 25%)")
    for i in range(50):
        b.tool(s, base(i % 24), "ledger-errrateok", session=f"s-errrateok-b{i}", args=str(i), error=i % 5 == 0)
    for i in range(12):
        b.tool(s, w(i * 0.3), "ledger-errrateok", session=f"s-errrateok-{i}", args=f"w{i}", error=i % 4 == 0)

    # 4. runaway loops and cost
    s = b.scenario("loopbad", {"runaway_loop"}, "the same status check with the same arguments, 8 times")
    for i in range(8):
        b.tool(s, w(i * 0.1), "status-loopbad", session="s-loopbad", agent="agent-loopbad", args="same")
    s = b.scenario("loopok", set(), "a lookup legitimately called 3 times with different arguments")
    for i in range(3):
        b.tool(s, w(i * 0.1), "lookup-loopok", session="s-loopok", agent="agent-loopok", args=f"order-{i}")
    s = b.scenario("pingpongbad", {"agent_ping_pong"}, "triage and billing hand the session back and forth")
    for i, name in enumerate(["triage-pingpongbad", "billing-pingpongbad"] * 3):
        b.agent(s, w(i * 0.2), name, session="s-pingpongbad")
    s = b.scenario("pingpongok", set(), "one hand-off from triage to billing and back with the answer")
    for i, name in enumerate(["triage-pingpongok", "billing-pingpongok", "triage-pingpongok"]):
        b.agent(s, w(i * 0.2), name, session="s-pingpongok")
    s = b.scenario("budgetbad", {"session_budget"}, "a session of 70 tool calls")
    for i in range(70):
        b.tool(s, w(i * 0.01), "step-budgetbad", session="s-budgetbad", agent="agent-budgetbad", args=str(i))
    s = b.scenario("budgetok", set(), "a session of 20 tool calls")
    for i in range(20):
        b.tool(s, w(i * 0.01), "step-budgetok", session="s-budgetok", agent="agent-budgetok", args=str(i))
    s = b.scenario("spendbad", {"cost_spike"}, "an agent spends 30x its usual tokens per hour")
    for h in range(24):
        b.chat(s, base(h), session=f"s-spendbad-b{h}", agent="agent-spendbad", tokens=950)
    for i in range(3):
        b.chat(s, w(i), session=f"s-spendbad-{i}", agent="agent-spendbad", tokens=10000)
    s = b.scenario("spendok", set(), "an agent spends as usual")
    for h in range(24):
        b.chat(s, base(h), session=f"s-spendok-b{h}", agent="agent-spendok", tokens=950)
    b.chat(s, w(1), session="s-spendok-1", agent="agent-spendok", tokens=1000)
    s = b.scenario("retrybad", {"retry_storm"}, "six rate-limited calls in a row")
    for i in range(6):
        b.chat(s, w(i * 0.05), session="s-retrybad", agent="agent-retrybad", tokens=100, error_type="RateLimitError")
    s = b.scenario("retryok", set(), "two rate limits, then success")
    for i in range(2):
        b.chat(s, w(i * 0.05), session="s-retryok", agent="agent-retryok", tokens=100, error_type="RateLimitError")
    b.chat(s, w(0.2), session="s-retryok", agent="agent-retryok", tokens=100)

    # 5. permission explosion
    contract = {"agentwatch.agent.allowed_tools": ["search"], "agentwatch.agent.resources": ["db:staging"]}
    s = b.scenario("scopebad", {"scope_violation"}, "a support agent calls delete_user")
    b.tool(s, w(1), "delete_user", session="s-scopebad", agent="agent-scopebad", **contract)
    s = b.scenario("resourcebad", {"scope_violation"}, "an agent touches production instead of staging")
    b.tool(
        s,
        w(1),
        "search",
        session="s-resourcebad",
        agent="agent-resourcebad",
        **{**contract, "agentwatch.tool.resource": "db:production"},
    )
    s = b.scenario("scopeok", set(), "calls within the contract")
    b.tool(
        s,
        w(1),
        "search",
        session="s-scopeok",
        agent="agent-scopeok",
        **{**contract, "agentwatch.tool.resource": "db:staging"},
    )
    s = b.scenario("credbad", {"shared_credential"}, "one admin credential used by two agents")
    b.agent(s, w(1), "a1-credbad", session="s-credbad-1", **{"agentwatch.credential.id": "svc-admin-credbad"})
    b.agent(s, w(2), "a2-credbad", session="s-credbad-2", **{"agentwatch.credential.id": "svc-admin-credbad"})
    s = b.scenario("credok", set(), "a credential used by one agent")
    b.agent(s, w(1), "a1-credok", session="s-credok-1", **{"agentwatch.credential.id": "svc-credok"})
    b.agent(s, w(2), "a1-credok", session="s-credok-2", **{"agentwatch.credential.id": "svc-credok"})
    s = b.scenario("secretbad", {"secret_exposure"}, "an API key went through a tool's arguments")
    b.tool(s, w(1), "http-secretbad", session="s-secretbad", **{"agentwatch.redacted": 2})
    s = b.scenario("secretrun", {"secret_exposure"}, "a secret in a tool of a run whose session only its root names")
    trace = _id(32)
    root = b.span(
        s,
        w(1),
        {"openinference.span.kind": "AGENT", "agent.name": "agent-secretrun", "session.id": "s-secretrun"},
        trace=trace,
        name="agent-secretrun",
    )
    b.span(
        s,
        w(1),
        {"openinference.span.kind": "TOOL", "tool.name": "http-secretrun", "agentwatch.content.redacted": 1},
        trace=trace,
        parent=root,
        name="http-secretrun",
    )
    s = b.scenario("secretok", set(), "a tool without secrets in its content")
    b.tool(s, w(1), "http-secretok", session="s-secretok")

    # 6. goal drift
    s = b.scenario("offtopicbad", {"off_topic_answers"}, "an answer about something else: relevance 0.2")
    b.evaluation(s, w(1), session="s-offtopicbad", agent="agent-offtopicbad", metric="relevance", score=0.2)
    s = b.scenario("offtopicok", set(), "a terse confirmation judged relevant: relevance 0.8")
    b.evaluation(s, w(1), session="s-offtopicok", agent="agent-offtopicok", metric="relevance", score=0.8)
    s = b.scenario("irrevbad", {"unapproved_irreversible"}, "a database deleted without approval")
    b.tool(
        s,
        w(1),
        "drop_table-irrevbad",
        session="s-irrevbad",
        agent="agent-irrevbad",
        **{"agentwatch.tool.irreversible": True, "agentwatch.tool.approved": False},
    )
    s = b.scenario("irrevblocked", {"guard_blocked"}, "the scope guard stopped cancel_order before it ran")
    b.span(
        s,
        w(1),
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "cancel_order-irrevblocked",
            "gen_ai.conversation.id": "s-irrevblocked",
            "gen_ai.agent.name": "agent-irrevblocked",
            "agentwatch.tool.irreversible": True,
            "agentwatch.tool.approved": False,
            "error.type": "ScopeViolationError",
        },
        status="Error",
        name="execute_tool cancel_order-irrevblocked",
        events=[("agentwatch.guard.scope", {"agentwatch.guard.name": "scope", "agentwatch.guard.decision": "blocked"})],
    )
    for key, expected, story, error, message in (
        ("stoppedrun", {"framework_stopped_run"}, "LangGraph stopped a graph that went round in circles",
         "GraphRecursionError", "Recursion limit of 25 reached without hitting a stop condition."),
        ("stoppedok", set(), "a run that failed for a reason of its own, not a framework's limit",
         "ValueError", "order id must be digits"),
    ):  # fmt: skip
        s = b.scenario(key, expected, story)
        b.span(
            s,
            w(1),
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": f"agent-{key}",
             "gen_ai.conversation.id": f"s-{key}"},
            status="Error",
            name=f"invoke_agent agent-{key}",
            events=[("exception", {"exception.type": error, "exception.message": message})],
        )  # fmt: skip
    s = b.scenario("irrevok", set(), "an approved irreversible action")
    b.tool(
        s,
        w(1),
        "drop_table-irrevok",
        session="s-irrevok",
        agent="agent-irrevok",
        **{"agentwatch.tool.irreversible": True, "agentwatch.tool.approved": True},
    )
    s = b.scenario(
        "driftfailbad",
        {"drift_after_failure", "scope_violation"},
        "after a failed migration the agent improvises with a tool outside its scope",
    )
    b.tool(
        s,
        w(1),
        "migrate",
        session="s-driftfailbad",
        agent="agent-driftfailbad",
        error=True,
        **{"agentwatch.agent.allowed_tools": ["migrate"]},
    )
    b.tool(
        s,
        w(2),
        "shell-driftfailbad",
        session="s-driftfailbad",
        agent="agent-driftfailbad",
        **{"agentwatch.agent.allowed_tools": ["migrate"]},
    )
    s = b.scenario("driftfailok", set(), "after a failure the agent retries within its scope")
    b.tool(
        s,
        w(1),
        "migrate",
        session="s-driftfailok",
        agent="agent-driftfailok",
        error=True,
        **{"agentwatch.agent.allowed_tools": ["migrate"]},
    )
    b.tool(
        s,
        w(2),
        "migrate",
        session="s-driftfailok",
        agent="agent-driftfailok",
        args="retry",
        **{"agentwatch.agent.allowed_tools": ["migrate"]},
    )
    s = b.scenario("newtoolbad", {"new_tool_for_agent"}, "a veteran agent uses a tool it never used")
    for i in range(60):
        b.tool(
            s,
            base(i % 24),
            f"{'read' if i % 2 else 'list'}-newtoolbad",
            session=f"s-newtoolbad-b{i}",
            agent="agent-newtoolbad",
            args=str(i),
        )
    b.tool(s, w(1), "wire_money-newtoolbad", session="s-newtoolbad", agent="agent-newtoolbad")
    s = b.scenario("newtoolok", set(), "a veteran agent uses its usual tools")
    for i in range(60):
        b.tool(s, base(i % 24), "read-newtoolok", session=f"s-newtoolok-b{i}", agent="agent-newtoolok", args=str(i))
    b.tool(s, w(1), "read-newtoolok", session="s-newtoolok", agent="agent-newtoolok", args="w")
    s = b.scenario("qualitybad", {"quality_drift"}, "relevance drops from ~0.9 to ~0.5 after a prompt change")
    for i in range(40):
        b.evaluation(
            s,
            base(i % 24),
            session=f"s-qualitybad-b{i}",
            agent="agent-qualitybad",
            metric="relevance",
            score=0.85 + (i % 10) / 100,
        )
        b.evaluation(
            s,
            w(i * 0.1),
            session=f"s-qualitybad-{i}",
            agent="agent-qualitybad",
            metric="relevance",
            score=0.45 + (i % 10) / 100,
        )
    s = b.scenario("qualityok", set(), "relevance as usual")
    for i in range(40):
        b.evaluation(
            s,
            base(i % 24),
            session=f"s-qualityok-b{i}",
            agent="agent-qualityok",
            metric="relevance",
            score=0.85 + (i % 10) / 100,
        )
        b.evaluation(
            s,
            w(i * 0.1),
            session=f"s-qualityok-{i}",
            agent="agent-qualityok",
            metric="relevance",
            score=0.84 + ((i + 3) % 10) / 100,
        )
    return b.scenarios


EVALUATION_COLUMNS = COLUMNS  # the worker's own list of evaluations columns


def load(store, scenarios: list[Scenario]) -> None:
    rows = [r for s in scenarios for r in s.rows]
    insert_spans(store, rows)
    evaluations = [r for s in scenarios for r in s.evaluations]
    if evaluations:
        store.insert("evaluations", evaluations, EVALUATION_COLUMNS)


def owner(finding, scenarios: list[Scenario]) -> Scenario | None:
    for s in scenarios:
        if any(s.tag in (value or "") for value in (finding.session_id, finding.agent_name, finding.tool_name)):
            return s
    return None
