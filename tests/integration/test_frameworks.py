"""Every agent framework's own telemetry, as it really emits it (recorded by ``tests/frameworks/record.py``),
replayed over OTLP/HTTP into a real collector: the runs are agents with names, each LLM call counts once, the
answers are evaluated against the run's tool results, and the detectors and the audit see the agent."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import tempfile
from pathlib import Path

import pytest

from agentwatch.audit import run_audit
from agentwatch.audit._render import render
from agentwatch.detectors import run_detectors
from agentwatch.evaluators import HeuristicJudge, evaluate

from ..frameworks import fixtures
from .plain_agents import QUESTIONS
from .running import RunningCollector, collector_config, count, http_request, wait_for

AGENTS = {
    "google_adk": "orders_agent",
    "smolagents": "orders_agent",
    "crewai": "orders agent",
}
ONE_LINE_AGENT = "orders-service"  # a run the one line derives is named after the service
CASES = [(fw, mode) for fw, mode in fixtures.recorded() if mode != "limited"]
LIMITED = [fw for fw, mode in fixtures.recorded() if mode == "limited"]


def _agent(framework: str, mode: str) -> str:
    return ONE_LINE_AGENT if mode == "oneline" else AGENTS.get(framework, "orders-agent")


def _window(store) -> tuple[dt.datetime, dt.datetime]:
    low, high = store.query("SELECT min(Timestamp), max(Timestamp) FROM agent_spans").result_rows[0]
    return low - dt.timedelta(seconds=1), high + dt.timedelta(seconds=1)


def _scenarios(store) -> dict[str, str]:
    """scenario → trace id: each agent program runs the scenarios one after another, in QUESTIONS' order."""
    traces = [
        t
        for (t,) in store.query("SELECT TraceId FROM otel_traces GROUP BY TraceId ORDER BY min(Timestamp)").result_rows
    ]
    assert len(traces) == len(QUESTIONS), traces
    return dict(zip(QUESTIONS, traces, strict=True))


# pydantic-ai and the OpenAI Agents SDK install in seconds (13.6 s and 24 s here): they also run live, recorded
# now by the same script against this checkout, so a new release of either is tested, not only the recording
LIVE = ("pydantic_ai", "openai_agents")


@pytest.fixture(scope="module")
def live_recordings(tmp_path_factory) -> Path:
    from ..frameworks import record

    chosen = [record.FRAMEWORKS[name] for name in LIVE]
    root = Path(tempfile.gettempdir()) / "agentwatch-frameworks"
    root.mkdir(exist_ok=True)
    with (root / ".lock").open("w") as lock:  # test workers share the venvs: one makes them, the others wait
        fcntl.flock(lock, fcntl.LOCK_EX)
        pythons = record.venvs(chosen, root)
    out = tmp_path_factory.mktemp("live-frameworks")
    for framework in chosen:
        record.record(framework, pythons[framework.name], "framework", out)
    return out


CASES_AND_LIVE = [(fw, mode, False) for fw, mode in CASES] + [(fw, "framework", True) for fw in LIVE]


@pytest.fixture(
    params=CASES_AND_LIVE, ids=[f"{fw}-{mode}{'-live' if live else ''}" for fw, mode, live in CASES_AND_LIVE]
)
def replayed(request, store, tmp_path):
    framework, mode, live = request.param
    folder = request.getfixturevalue("live_recordings") if live else fixtures.FIXTURES
    fixture = fixtures.load(framework, mode, folder)
    _replay(fixture, store, tmp_path)
    return framework, mode, fixture


def _replay(fixture: dict, store, tmp_path) -> None:
    """The recorded OTLP requests, clock shifted, through a real collector into ``store``."""
    with RunningCollector(collector_config(store, tmp_path / "spool"), store) as running:
        for body in fixtures.shifted(fixture):
            status, _, reply = http_request(
                running.collector.http_port, "POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"}
            )
            assert status == 200, reply
        total = len(fixtures.spans(fixture))
        wait_for(lambda: count(store, "agent_spans") >= total, what=f"{total} spans stored")


def test_framework_spans_are_agents_evaluated_detected_and_audited(replayed, store):
    """One replay, every check: the runs, each LLM call once, the answers, the findings, the audit."""
    _runs_and_calls(replayed, store)
    _answers_findings_audit(replayed, store)


def _runs_and_calls(replayed, store) -> None:
    framework, mode, fixture = replayed
    start, end = _window(store)
    window = {"s": start, "e": end}
    traces = _scenarios(store)
    runs = store.query(
        "SELECT TraceId, AgentName FROM agent_spans_in(start = {s:DateTime64(9)}, end = {e:DateTime64(9)}) "
        "WHERE IsRun AND RunDepth = 1",
        window,
    ).result_rows
    assert sorted(runs) == sorted((trace, _agent(framework, mode)) for trace in traces.values()), runs
    apart = store.query(  # the evaluators' evidence and the view's result sizes read the same result text
        "SELECT count() FROM agent_spans AS s INNER JOIN otel_traces AS t ON t.TraceId = s.TraceId AND t.SpanId = "
        "s.SpanId WHERE s.Kind = 'tool' AND t.SpanAttributes['agentwatch.tool.result.size'] = '' AND s.ResultSize "
        "!= length(agentwatch_tool_result(t.SpanAttributes, t.Events.Name, t.Events.Attributes))"
    ).result_rows[0][0]
    assert apart == 0, "agentwatch_tool_result and agent_spans_mv disagree on where a tool's result is"
    if framework == "crewai" and mode == "framework":
        return  # OpenInference's CrewAI instrumentation records no LLM call (the one line does: crewai.oneline)
    calls = store.query(
        "SELECT count() FROM agent_spans_in(start = {s:DateTime64(9)}, end = {e:DateTime64(9)}) "
        "WHERE Operation = 'chat'",
        window,
    ).result_rows[0][0]
    assert calls == fixture["llm_calls"]
    stored = store.query("SELECT count() FROM agent_spans WHERE Kind = 'llm'").result_rows[0][0]
    assert stored == fixture["llm_calls"], "the one line beside a framework records no second span for a call"
    anonymous = store.query(
        "SELECT count() FROM agent_spans_in(start = {s:DateTime64(9)}, end = {e:DateTime64(9)}) "
        "WHERE Operation IN ('chat', 'execute_tool') AND AgentName != {a:String}",
        {**window, "a": _agent(framework, mode)},
    ).result_rows[0][0]
    assert anonymous == 0, "every LLM and tool span belongs to the run's agent"


def _answers_findings_audit(replayed, store) -> None:
    framework, mode, _ = replayed
    agent = _agent(framework, mode)
    start, end = _window(store)
    traces = _scenarios(store)
    evaluate(store, HeuristicJudge(), since=start, until=end)
    scores = {
        trace: (status, score, reason)
        for trace, status, score, reason in store.query(
            "SELECT TraceId, Status, Score, Explanation FROM evaluations FINAL WHERE Metric = 'grounding'"
        ).result_rows
    }
    assert set(scores) == set(traces.values()), scores
    assert scores[traces["healthy"]][:1] == ("scored",) and scores[traces["healthy"]][1] >= 0.5, scores
    assert scores[traces["wrong"]][:1] == ("scored",) and scores[traces["wrong"]][1] < 0.5, scores

    listed = {
        r["trace"]: r for r in store.run_sql("queries/answers_with_scores", {"hours": 2, "limit": 50}).named_results()
    }
    assert listed[traces["wrong"]]["sources"], "the investigation query shows the wrong answer's tool results"

    findings = [f for run in run_detectors(store, window=3600, end=end + dt.timedelta(seconds=1)) for f in run.findings]
    by_trace = {}
    for f in findings:
        by_trace.setdefault(f.trace_id, []).append(f)
    assert not by_trace.get(traces["healthy"]), f"a healthy run raised {by_trace.get(traces['healthy'])}"
    wrong = [f for f in by_trace.get(traces["wrong"], []) if f.detector == "ungrounded_answers"]
    assert wrong and wrong[0].agent_name == agent, by_trace.get(traces["wrong"])
    loop = [f for f in findings if f.detector == "runaway_loop"]
    if framework == "crewai":  # CrewAI stops the loop itself after 5 identical calls: its guard at work
        assert not loop
        if mode == "framework":  # its exception is on OpenInference's agent span (the one line sees no exception)
            stopped = [f for f in by_trace.get(traces["loop"], []) if f.detector == "framework_stopped_run"]
            assert stopped and stopped[0].agent_name == agent, by_trace.get(traces["loop"])
    else:
        assert loop and {f.agent_name for f in loop} == {agent}, loop

    audit = run_audit(store, start=start, end=end + dt.timedelta(seconds=1))
    assert [a.agent for a in audit.agents] == [agent]
    answers = next(a for a in audit.agents[0].answers if a.question.key == "answers")
    assert answers.verdict != "unknown", answers  # its answers were evaluated
    document = json.loads(render(audit, "json"), parse_constant=lambda bare: pytest.fail(f"{bare} is not JSON"))
    assert document["agents"][0]["agent"] == agent


@pytest.mark.parametrize("framework", LIMITED)
def test_a_run_the_framework_stops_at_its_limit_is_reported(framework, store, tmp_path):
    """The frameworks' own step limits, as their real exceptions land on the run: pydantic-ai's UsageLimitExceeded,
    the Agents SDK's MaxTurnsExceeded (the looping run is stopped at 10 requests; the others are healthy)."""
    fixture = fixtures.load(framework, "limited")
    _replay(fixture, store, tmp_path)
    _, end = _window(store)
    traces = _scenarios(store)
    findings = [f for run in run_detectors(store, window=3600, end=end + dt.timedelta(seconds=1)) for f in run.findings]
    stopped = [f for f in findings if f.detector == "framework_stopped_run"]
    assert [(f.trace_id, f.agent_name) for f in stopped] == [(traces["loop"], _agent(framework, "limited"))], findings
