"""A metric is one unit: its threshold is its detector's default and the dashboards' red line, its definition the
LLM judge's instruction."""

import inspect
import json
import re
from pathlib import Path

import pytest

from agentwatch.detectors import load_detectors
from agentwatch.evaluators._model import METRIC_UNITS
from agentwatch.evaluators.openai_judge import _SYSTEM

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def test_each_metric_has_its_detector_with_its_threshold():
    detectors = {d.name: d for d in load_detectors()}
    for metric in METRIC_UNITS:
        detector = detectors[metric.detector]
        assert detector.parameters()[f"min_{metric.name}"] == metric.threshold
        assert f"metric = '{metric.name}'" in detector.sql.body


def test_the_llm_judge_is_told_each_definition():
    for metric in METRIC_UNITS:
        assert f"- {metric.name}: {metric.definition}" in _SYSTEM


def test_the_dashboards_turn_red_below_each_threshold():
    board = json.loads((DASHBOARDS / "agentwatch-evaluations.json").read_text())
    stats = {p["title"]: p for p in board["panels"] if p.get("title", "").startswith("Mean ")}
    for metric in METRIC_UNITS:
        steps = stats[f"Mean {metric.name}"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[0]["color"] == "red" and steps[1]["value"] == metric.threshold


def test_every_threshold_is_read_from_the_metric_units():
    """Issue 35: grounding's 0.5 stood bare in the audit and the offline judge, the gate's 0.7 in the answer gate,
    the judge, the dashboards and the audit's advice. Each now reads the metric's unit; a bare copy is refused."""
    from agentwatch.evaluators import GROUNDING, heuristic
    from agentwatch.instrumentation import _gate
    from agentwatch.sqlfiles import load_sql

    audit = load_sql("audit/2_answers").body
    assert "{min_grounding:Float64}" in audit and "{gate_grounding:Float64}" in audit
    assert not re.search(r"Score < 0\.\d|min_grounding=0\.\d", audit), "a bare threshold in the audit"
    judge = inspect.getsource(heuristic)
    assert not re.search(r"grounding\.score < 0\.[57]\b|\bscore < 0\.[47]\b", judge), (
        "a bare threshold in the offline judge"
    )
    assert not re.search(r"min_grounding: float = 0\.\d", inspect.getsource(_gate))
    readiness = (DASHBOARDS / "agentwatch-readiness.json").read_text()
    assert f"Score < {GROUNDING.threshold}" in readiness and f"toString({GROUNDING.full})" in readiness


def test_the_answer_gate_defaults_to_full_grounding(monkeypatch):
    """check_answer without min_grounding gates at the grounding metric's full score: an answer scored between the
    threshold and the full score is refused."""
    import agentwatch
    from agentwatch.evaluators import GROUNDING, Score

    class Partly:
        name = "partly"

        def score(self, answer):
            return [Score("grounding", (GROUNDING.threshold + GROUNDING.full) / 2, "partially_grounded", "")]

    with pytest.raises(agentwatch.AgentQualityError) as raised:
        agentwatch.check_answer("q", "a", [], judge=Partly())
    assert raised.value.limit == GROUNDING.full
