"""Evaluation workers on a real store, and the LLM judge through the real openai client against a local server."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading

import pytest

from agentwatch.evaluators import HeuristicJudge, OpenAIJudge, evaluate
from agentwatch.testing import LLMServer, Reply

from ..conftest import PYTHON
from .spans import insert_spans, otel_row

NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
SINCE = NOW - dt.timedelta(hours=1)


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def agent_trace(
    trace: str,
    query: str,
    answer: str | None,
    tool_result: str | None,
    *,
    tool_error: bool = False,
    minutes: float = 10,
    agent: str = "support",
) -> list[list]:
    ts = NOW - dt.timedelta(minutes=minutes)
    root = f"{trace[:14]}aa"
    attrs = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": agent,
        "gen_ai.conversation.id": f"c-{trace}",
    }
    if answer is not None:
        attrs.update(
            {
                "gen_ai.input.messages": _messages("user", query),
                "gen_ai.output.messages": _messages("assistant", answer),
            }
        )
    else:
        attrs["agentwatch.content.capture"] = "false"  # what the SDK records when content capture is off
    rows = [otel_row(root, attrs, trace_id=trace, timestamp=ts)]
    if tool_result is not None:
        rows.append(
            otel_row(
                f"{trace[:14]}bb",
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "lookup",
                    "gen_ai.tool.call.result": tool_result,
                },
                trace_id=trace,
                parent=root,
                timestamp=ts,
                status="Error" if tool_error else "Unset",
            )
        )
    return rows


GOOD = (
    "Where is order A-17?",
    "Order A-17 shipped from Rotterdam and arrives in 3 days.",
    '{"order": "A-17", "warehouse": "Rotterdam", "eta_days": 3}',
)
BAD = (
    "Where is order A-18?",
    "Order A-18 shipped from Denver and arrives in 9 days.",
    '{"order": "A-18", "warehouse": "Rotterdam", "eta_days": 3}',
)


def _scores(store, evaluator="heuristic"):
    return {
        (trace, metric): (status, score, label)
        for trace, metric, status, score, label in store.query(
            "SELECT TraceId, Metric, Status, Score, Label FROM evaluations FINAL WHERE Evaluator = {e:String}",
            {"e": evaluator},
        ).result_rows
    }


def test_heuristic_worker_scores_skips_and_is_idempotent(store):
    rows = agent_trace("1" * 32, *GOOD) + agent_trace("2" * 32, *BAD)
    rows += agent_trace("3" * 32, "Where is order A-19?", None, '{"x": 1}')  # content capture was off
    rows += [
        otel_row(
            "4" * 16,
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",  # no agent span
                "gen_ai.input.messages": _messages("user", "What is 2 plus 2?"),
                "gen_ai.output.messages": _messages("assistant", "2 plus 2 is 4."),
            },
            trace_id="4" * 32,
            timestamp=NOW - dt.timedelta(minutes=5),
        )
    ]
    insert_spans(store, rows)
    stats = evaluate(store, HeuristicJudge(), since=SINCE)
    assert (stats.answers, stats.scored, stats.skipped, stats.errors) == (4, 3, 1, 0)
    scores = _scores(store)
    assert scores["1" * 32, "grounding"][2] == "grounded"
    assert scores["2" * 32, "grounding"][2] == "ungrounded" and scores["2" * 32, "grounding"][1] < 0.5
    assert scores["3" * 32, "grounding"][0] == "skipped"
    assert scores["4" * 32, "relevance"][0] == "scored"
    explanation = store.query(
        "SELECT Explanation FROM evaluations WHERE TraceId = {t:String} AND Metric = 'grounding'", {"t": "2" * 32}
    ).result_rows[0][0]
    assert "Denver" in explanation and "9" in explanation
    assert (
        "content capture off"
        in store.query("SELECT any(Explanation) FROM evaluations WHERE Status = 'skipped'").result_rows[0][0]
    )
    before = store.query("SELECT count() FROM evaluations").result_rows[0][0]
    again = evaluate(store, HeuristicJudge(), since=SINCE)
    assert again.answers == 0
    assert store.query("SELECT count() FROM evaluations").result_rows[0][0] == before == 12


def test_two_workers_never_duplicate(store):
    rows = []
    for i in range(40):
        rows += agent_trace(f"{i:032x}", *GOOD, minutes=30 - i * 0.5)
    insert_spans(store, rows)
    workers = [
        threading.Thread(target=evaluate, args=(clone, HeuristicJudge()), kwargs={"since": SINCE})
        for clone in (store.clone(), store.clone())
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    dupes = store.query(
        "SELECT count() FROM (SELECT TraceId, SpanId, Metric, Evaluator, count() AS n FROM "
        "evaluations FINAL GROUP BY TraceId, SpanId, Metric, Evaluator HAVING n > 1)"
    ).result_rows
    assert dupes == [(0,)]
    assert store.query("SELECT uniqExact(TraceId) FROM evaluations FINAL").result_rows[0][0] == 40


def test_sharded_workers_share_the_work_and_sampling_is_deterministic(store):
    rows = []
    for i in range(60):
        rows += agent_trace(f"{i + 100:032x}", *GOOD, minutes=30 - i * 0.3)
    insert_spans(store, rows)
    first = evaluate(store.clone(), HeuristicJudge(), since=SINCE, shard=0, shards=2)
    second = evaluate(store.clone(), HeuristicJudge(), since=SINCE, shard=1, shards=2)
    assert first.answers + second.answers == 60 and first.answers and second.answers
    assert store.query("SELECT count() FROM evaluations").result_rows[0][0] == 180  # raw rows: no duplicate at all
    from agentwatch.evaluators import read_answers

    sampled = {a.trace_id for a in read_answers(store, since=SINCE, until=NOW, evaluator="x", sample=0.5)}
    assert sampled == {a.trace_id for a in read_answers(store, since=SINCE, until=NOW, evaluator="x", sample=0.5)}
    assert 15 < len(sampled) < 45


def _judge_reply(grounding=0.9):
    return json.dumps(
        {
            m: {"score": grounding if m == "grounding" else 0.8, "label": "ok", "explanation": "fine"}
            for m in ("grounding", "relevance", "calibration")
        }
    )


class Script:
    """Replies from a list, then the last one forever; records what it saw."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.count = 0

    def __call__(self, path, body) -> Reply:
        self.count += 1
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def _judge(llm, **kwargs) -> OpenAIJudge:
    options = dict(model="judge-1", base_url=llm.base_url, api_key="sk-test", max_retries=2, concurrency=2, timeout=5)
    options.update(kwargs)
    return OpenAIJudge(**options)


@pytest.mark.parametrize(
    ("replies", "status", "calls"),
    [
        ([Reply(text=_judge_reply())], "scored", 1),
        ([Reply(text="not json at all"), Reply(text=_judge_reply())], "scored", 2),  # repaired
        ([Reply(text='{"grounding": 2}'), Reply(text="{}")], "error", 2),  # malformed twice: an error, never a score
        ([Reply(status=429, error="slow down", retry_after=0), Reply(text=_judge_reply())], "scored", 2),
        ([Reply(status=500, error="boom")], "error", 3),  # retried by the client, then recorded as an error
    ],
)
def test_openai_judge_replies(store, replies, status, calls):
    insert_spans(store, agent_trace("a" * 32, *GOOD))
    script = Script(*replies)
    with LLMServer(script) as llm:
        stats = evaluate(store, _judge(llm), since=SINCE)
    assert script.count == calls
    scores = _scores(store, "openai:judge-1")
    assert scores["a" * 32, "grounding"][0] == status
    assert stats.errors == (1 if status == "error" else 0)
    if status == "scored":
        assert scores["a" * 32, "grounding"][1] == 0.9
    else:
        assert stats.error_messages


def test_openai_judge_timeout_is_an_error(store):
    insert_spans(store, agent_trace("b" * 32, *GOOD))
    with LLMServer(lambda p, b: Reply(text=_judge_reply(), delay=2)) as llm:
        stats = evaluate(store, _judge(llm, timeout=0.3, max_retries=0), since=SINCE)
    assert stats.errors == 1 and "timed out" in stats.error_messages[0]


def test_budget_stops_the_judge_and_identical_answers_are_scored_once(store):
    rows = []
    for i in range(6):
        rows += agent_trace(f"{i + 500:032x}", *GOOD, minutes=20 - i)  # identical content: the cache answers
    rows += agent_trace("c" * 32, *BAD, minutes=3)
    rows += agent_trace("d" * 32, "Another question?", "Another answer.", '{"x": 1}', minutes=2)
    insert_spans(store, rows)
    script = Script(Reply(text=_judge_reply()))
    with LLMServer(script) as llm:
        judge = _judge(llm, tokens_per_hour=1, concurrency=1)
        stats = evaluate(store, judge, since=SINCE)
    assert stats.budget_exhausted
    assert script.count == 1  # the first call spent the budget; the cache served the 5 identical answers
    assert stats.cached == 5 and stats.scored == 6 and stats.skipped == 2
    skipped = store.query("SELECT any(Explanation) FROM evaluations WHERE Status = 'skipped'").result_rows[0][0]
    assert "budget" in skipped


def test_the_judges_calls_are_not_traced(spans, store):
    insert_spans(store, agent_trace("e" * 32, *GOOD))
    with LLMServer(Script(Reply(text=_judge_reply()))) as llm:
        evaluate(store, _judge(llm), since=SINCE)
    assert [s.name for s in spans.get_finished_spans()] == []


def test_evaluate_cli(cli_env):
    subprocess.run([PYTHON, "-m", "agentwatch", "db", "init"], env=cli_env, check=True, capture_output=True)
    out = subprocess.run(
        [PYTHON, "-m", "agentwatch", "evaluate", "--since", "1h"], env=cli_env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("heuristic: 0 answers")
    bad = subprocess.run(
        [PYTHON, "-m", "agentwatch", "evaluate", "--sample", "2"], env=cli_env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "--sample" in bad.stderr


def test_large_batches_are_scored_on_every_core_with_the_same_results(store):
    rows = []
    for i in range(620):
        good = i % 2 == 0
        query, answer, result = GOOD if good else BAD
        rows += agent_trace(
            f"{i + 9000:032x}",
            query,
            answer.replace("A-1", f"A-{i}"),
            result.replace("A-1", f"A-{i}"),
            minutes=50 - i * 0.05,
        )
    insert_spans(store, rows)
    from agentwatch.evaluators import read_answers

    expected = {
        a.trace_id: {s.metric: s.score for s in HeuristicJudge().score(a)}
        for a in read_answers(store, since=SINCE, until=NOW, evaluator="probe")
    }
    stats = evaluate(store, HeuristicJudge(), since=SINCE, batch=1000)
    assert stats.scored == 620 and stats.errors == 0
    got = {}
    for trace, metric, score in store.query("SELECT TraceId, Metric, Score FROM evaluations FINAL").result_rows:
        got.setdefault(trace, {})[metric] = score
    assert got == expected


def test_answers_scored_inline_by_the_gate_are_not_scored_again(store):
    rows = agent_trace("f" * 32, *GOOD)
    rows[0][11].update(
        {
            "agentwatch.evaluation.judge": "heuristic",
            "agentwatch.evaluation.grounding": "0.91",
            "agentwatch.evaluation.grounding.label": "grounded",
            "agentwatch.evaluation.grounding.explanation": "inline",
            "agentwatch.evaluation.relevance": "0.8",
            "agentwatch.evaluation.calibration": "0.9",
        }
    )
    insert_spans(store, rows)

    class Refuses(HeuristicJudge):
        def score(self, answer):
            raise AssertionError("the answer was scored again")

    stats = evaluate(store, Refuses(), since=SINCE)
    assert stats.scored == 1
    assert _scores(store)["f" * 32, "grounding"] == ("scored", 0.91, "grounded")


def test_openinference_and_traceloop_agents_are_evaluated(store):
    """No gen_ai.operation.name: the kinds come from agent_spans (openinference.span.kind, traceloop.span.kind), the
    text from input.value/output.value and traceloop.entity.*; a tool's error payload fails it as the view says."""
    ts = NOW - dt.timedelta(minutes=5)
    oi, tl = "0" * 31 + "1", "0" * 31 + "2"
    rows = [
        otel_row(
            "oi-agent-000001",
            {
                "openinference.span.kind": "AGENT",
                "agent.name": "oi-support",
                "input.value": "Where is order A-17?",
                "output.value": "Order A-17 shipped from Denver and arrives in 9 days.",
            },
            trace_id=oi,
            timestamp=ts,
        ),
        otel_row(
            "oi-tool-0000001",
            {"openinference.span.kind": "TOOL", "tool.name": "lookup", "output.value": GOOD[2]},
            trace_id=oi,
            parent="oi-agent-000001",
            timestamp=ts,
        ),
        otel_row(
            "tl-agent-000001",
            {
                "traceloop.span.kind": "agent",
                "traceloop.entity.name": "tl-support",
                "traceloop.entity.input": json.dumps({"messages": [{"role": "user", "content": "Where is A-17?"}]}),
                "traceloop.entity.output": "It arrives on Friday for sure.",
            },
            trace_id=tl,
            timestamp=ts,
        ),
        otel_row(
            "tl-tool-0000001",
            {
                "traceloop.span.kind": "tool",
                "traceloop.entity.name": "lookup",
                "traceloop.entity.output": '{"error": "upstream timeout"}',
            },
            trace_id=tl,
            parent="tl-agent-000001",
            timestamp=ts,
        ),
    ]
    insert_spans(store, rows)
    stats = evaluate(store, HeuristicJudge(), since=SINCE)
    assert stats.scored == 2
    scores = _scores(store)
    assert scores[(oi, "grounding")][2] == "ungrounded"  # Denver and 9 days are not in the lookup's result
    assert scores[(tl, "calibration")][2] == "overconfident"  # the only tool failed (error payload)
    agents = dict(store.query("SELECT TraceId, any(AgentName) FROM evaluations GROUP BY TraceId").result_rows)
    assert agents == {oi: "oi-support", tl: "tl-support"}


def test_identical_answers_in_one_batch_are_judged_once_at_any_concurrency(store):
    """Observed: 6 judge calls for 4 answers. Two pairs of identical answers, four threads, slow replies: the
    judge is called once per distinct content, and every answer gets its scores."""
    rows = []
    for i in range(4):
        rows += agent_trace(f"{i + 700:032x}", *(GOOD if i % 2 else BAD), minutes=10 - i)
    insert_spans(store, rows)
    script = Script(Reply(text=_judge_reply(), delay=0.3))
    with LLMServer(script) as llm:
        stats = evaluate(store, _judge(llm, concurrency=4), since=SINCE)
    assert script.count == 2
    assert stats.scored == 4 and stats.cached == 2 and stats.judge_calls == 2


def test_error_rows_are_retried_once_the_judge_recovers_and_not_forever(store):
    insert_spans(store, agent_trace("f" * 32, *GOOD))
    with LLMServer(Script(Reply(status=500, error="boom"))) as down:
        assert evaluate(store, _judge(down, max_retries=0), since=SINCE).errors == 1
    with LLMServer(Script(Reply(text=_judge_reply()))) as up:
        stats = evaluate(store, _judge(up), since=SINCE)
    assert stats.scored == 1 and _scores(store, "openai:judge-1")["f" * 32, "grounding"][0] == "scored"
    insert_spans(store, agent_trace("9" * 32, *BAD))
    with LLMServer(Script(Reply(status=500, error="boom"))) as down:
        attempts = [evaluate(store, _judge(down, max_retries=0), since=SINCE).errors for _ in range(4)]
    assert attempts == [1, 1, 1, 0]  # three attempts, then the answer is left as an error


def test_answers_skipped_for_the_budget_are_scored_when_it_allows(store):
    rows = agent_trace("7" * 32, *GOOD, minutes=5) + agent_trace("8" * 32, *BAD, minutes=4)
    insert_spans(store, rows)
    with LLMServer(Script(Reply(text=_judge_reply()))) as llm:
        first = evaluate(store, _judge(llm, tokens_per_hour=1, concurrency=1), since=SINCE)
        later = evaluate(store, _judge(llm, concurrency=1), since=SINCE)
    assert (first.scored, first.skipped) == (1, 1)
    assert (later.scored, later.skipped) == (1, 0)


def test_the_llm_judge_run_logs_a_summary_not_every_request(cli_env):
    """Observed: every judge request logged at INFO (the HTTP client's own lines). They are DEBUG detail now."""
    from agentwatch.store import open_store

    subprocess.run([PYTHON, "-m", "agentwatch", "db", "init"], env=cli_env, check=True, capture_output=True)
    store = open_store(store=cli_env["AGENTWATCH_STORE"])
    rows = []
    for i in range(3):
        rows += agent_trace(f"{i + 900:032x}", f"Question {i}?", f"Answer {i}.", json.dumps({"x": i}))
    insert_spans(store, rows)
    store.close()
    with LLMServer(Script(Reply(text=_judge_reply()))) as llm:
        env = {
            **cli_env,
            "AGENTWATCH_JUDGE": "openai",
            "AGENTWATCH_JUDGE_BASE_URL": llm.base_url,
            "AGENTWATCH_JUDGE_API_KEY": "sk-test",
        }
        out = subprocess.run(
            [PYTHON, "-m", "agentwatch", "evaluate", "--since", "1h"], env=env, capture_output=True, text=True
        )
    assert out.returncode == 0, out.stderr
    assert "3 answers" in out.stdout and "HTTP Request" not in out.stderr, out.stderr
