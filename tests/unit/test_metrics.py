"""A metric is one unit: its threshold is its detector's default and the dashboards' red line, its definition the
LLM judge's instruction."""

import json
from pathlib import Path

from agentwatch.detectors import load_detectors
from agentwatch.evaluators._model import METRIC_UNITS
from agentwatch.evaluators.openai_judge import _SYSTEM

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def test_each_metric_has_its_detector_with_its_threshold():
    detectors = {d.name: d for d in load_detectors()}
    for metric in METRIC_UNITS:
        detector = detectors[metric.detector]
        assert detector.parameters()[f"min_{metric.name}"] == metric.threshold
        assert f"Metric = '{metric.name}'" in detector.sql.body


def test_the_llm_judge_is_told_each_definition():
    for metric in METRIC_UNITS:
        assert f"- {metric.name}: {metric.definition}" in _SYSTEM


def test_the_dashboards_turn_red_below_each_threshold():
    board = json.loads((DASHBOARDS / "agentwatch-evaluations.json").read_text())
    stats = {p["title"]: p for p in board["panels"] if p.get("title", "").startswith("Mean ")}
    for metric in METRIC_UNITS:
        steps = stats[f"Mean {metric.name}"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[0]["color"] == "red" and steps[1]["value"] == metric.threshold
