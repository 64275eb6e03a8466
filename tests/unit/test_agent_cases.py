"""The offline judge on hand-labelled agent answers: healthy look-alikes stay quiet, planted failures are caught.

These cases were written alongside the judge, so they show it does what was meant (action confirmations, tool
summaries, refusals, hedges, small talk, multi-turn, other languages); how well it does on data written by others
is measured by ``bench/judge_quality.py`` on HaluEval.
"""

import json
from pathlib import Path

import pytest

from agentwatch.evaluators import Answer, HeuristicJudge, Source

THRESHOLDS = {"grounding": 0.5, "relevance": 0.4, "calibration": 0.4}  # ungrounded_answers' defaults
CASES = json.loads((Path(__file__).parent.parent / "data" / "agent_cases.json").read_text())["cases"]


def _answer(case: dict) -> Answer:
    sources = [Source("tool", s["name"], s["text"], s.get("failed", False)) for s in case.get("sources", [])]
    return Answer(
        "t",
        "s",
        None,
        case["query"],
        case["answer"],
        sources,
        history=case.get("history", ""),
        goal=case.get("goal", ""),
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_agent_case(case):
    scores = {s.metric: s for s in HeuristicJudge().score(_answer(case))}
    low = {m for m, limit in THRESHOLDS.items() if scores[m].score < limit}
    if case["fails"] is None:
        assert not low, f"healthy answer flagged: {[(m, scores[m].explanation) for m in low]}"
    else:
        assert case["fails"] in low, f"{case['fails']} not caught: {scores[case['fails']]}"


def test_the_set_has_both_kinds():
    healthy = [c for c in CASES if c["fails"] is None]
    assert len(healthy) >= 15 and len(CASES) - len(healthy) >= 10
