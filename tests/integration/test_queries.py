"""The investigation queries in sql/queries/ run on a seeded store and answer what they say they answer."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

from agentwatch.evaluators import HeuristicJudge, evaluate
from agentwatch.sqlfiles import list_sql

from ..conftest import PYTHON
from .spans import insert_spans, otel_row
from .test_evaluators import BAD, GOOD, agent_trace

NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def seed(store) -> None:
    rows = agent_trace("a" * 32, *GOOD) + agent_trace("b" * 32, *BAD)
    rows.append(
        otel_row(
            "c" * 16,
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.agent.name": "support",
                "gen_ai.conversation.id": "c-" + "a" * 32,
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": "900",
                "agentwatch.usage.cost_usd": "0.004",
            },
            trace_id="a" * 32,
            parent="a" * 14 + "aa",
            timestamp=NOW - dt.timedelta(minutes=9),
        )
    )
    insert_spans(store, rows)
    evaluate(store, HeuristicJudge(), since=NOW - dt.timedelta(hours=1))


def test_every_query_runs_and_answers(store):
    seed(store)
    assert len(list_sql("queries")) == 5
    timeline = store.run_sql("queries/session_timeline", {"session": "c-" + "a" * 32}).named_results()
    steps = list(timeline)
    assert [s["operation"] for s in steps] == ["invoke_agent", "chat"]  # (the seeded tool span names no session)
    assert steps[0]["scores"].startswith("calibration=") and steps[1]["input_tokens"] + steps[1]["output_tokens"] == 900
    tree = list(store.run_sql("queries/trace_tree", {"trace": "a" * 32}).named_results())
    assert next(t["span"] for t in tree) == "span" and tree[1]["span"].startswith("  ")
    shapes = store.run_sql("queries/tool_shape_history", {"tool": "lookup", "days": 1}).result_rows
    assert [r[0] for r in shapes] == ["eta_days:number,order:string,warehouse:string"]
    expensive = list(
        store.run_sql("queries/expensive_sessions", {"agent": "support", "days": 1, "limit": 5}).named_results()
    )
    assert expensive[0]["session"] == "c-" + "a" * 32 and expensive[0]["cost_usd"] == 0.004
    answers = list(store.run_sql("queries/answers_with_scores", {"hours": 2, "limit": 10}).named_results())
    assert answers[0]["trace"] == "b" * 32 and answers[0]["grounding"] < 0.5  # lowest grounding first
    assert "Denver" in answers[0]["explanation"] and answers[0]["sources"]


def test_queries_from_the_cli(cli_env):
    assert subprocess.run([PYTHON, "-m", "agentwatch", "db", "init"], env=cli_env, capture_output=True).returncode == 0
    out = subprocess.run(
        [PYTHON, "-m", "agentwatch", "sql", "--query", "session_timeline", "--param", "session=x", "--format", "json"],
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
    missing = subprocess.run(
        [PYTHON, "-m", "agentwatch", "sql", "--query", "nope"], env=cli_env, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "'nope' is not a shipped query" in missing.stderr  # and which ones are
