"""Scoring an answer inline, before it is returned (``agentwatch.check_answer`` and the agent's answer gate).

The scores are recorded on the span (``agentwatch.evaluation.<metric>``, ``agentwatch.evaluation.judge``), so the
evaluator worker takes them from there instead of scoring the same answer again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span

from agentwatch.instrumentation.guards import AgentQualityError

__all__ = ["check_answer", "score_answer"]


def _sources(sources: Sequence[Any]) -> list[Any]:
    from agentwatch.evaluators._model import Source

    found = []
    for item in sources:
        if isinstance(item, Source):
            found.append(item)
        else:
            text = item if isinstance(item, str) else json.dumps(item, default=repr)
            failed = isinstance(item, dict) and item.get("error") not in (None, False, "", {}, [])
            found.append(Source("document", "source", text, failed))
    return found


def score_answer(span: Span, query: str, answer: str, sources: Sequence[Any], judge: Any = None) -> dict[str, float]:
    from agentwatch.evaluators._model import Answer
    from agentwatch.evaluators.heuristic import HeuristicJudge

    judge = judge or HeuristicJudge()
    scores = judge.score(Answer("", "", None, query, answer, _sources(sources)))
    result = {s.metric: s.score for s in scores}
    attributes: dict[str, Any] = {"agentwatch.evaluation.judge": judge.name}
    for s in scores:
        attributes[f"agentwatch.evaluation.{s.metric}"] = s.score
        attributes[f"agentwatch.evaluation.{s.metric}.label"] = s.label
        attributes[f"agentwatch.evaluation.{s.metric}.explanation"] = s.explanation
    span.set_attributes(attributes)
    return result


def check_answer(
    query: str,
    answer: str,
    sources: Sequence[Any],
    *,
    min_grounding: float = 0.7,
    fallback: str | None = None,
    judge: Any = None,
) -> str:
    """Score ``answer`` before returning it; below ``min_grounding`` raise :class:`AgentQualityError`, or return
    ``fallback`` when one is given. Returns the answer (or the fallback). The scores land on the current span."""
    scores = score_answer(trace.get_current_span(), query, answer, sources, judge)
    if scores["grounding"] >= min_grounding:
        return answer
    if fallback is not None:
        return fallback
    raise AgentQualityError(
        f"the answer's grounding {scores['grounding']:.2f} is below {min_grounding}", scores, limit=min_grounding
    )
