"""Scoring an answer inline, before it is returned (``agentwatch.check_answer`` and the agent's answer gate).

The scores are recorded on the span (``agentwatch.evaluation.<metric>``, ``agentwatch.evaluation.judge``), so the
evaluator worker takes them from there instead of scoring the same answer again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span

from agentwatch.errors import AgentQualityError
from agentwatch.instrumentation._content import is_error_payload, to_json

__all__ = ["check_answer", "gate", "score_answer"]


def _sources(sources: Sequence[Any]) -> list[Any]:
    from agentwatch.evaluators import Source

    found = []
    for item in sources:
        if isinstance(item, Source):
            found.append(item)
        else:
            found.append(Source("document", "source", to_json(item), is_error_payload(item)))
    return found


def _judged(query: str, answer: str, sources: Sequence[Any], judge: Any) -> tuple[Any, list[Any]]:
    from agentwatch.evaluators import Answer, HeuristicJudge

    judge = judge or HeuristicJudge()
    return judge, judge.score(Answer("", "", None, query, answer, _sources(sources)))


def _record(span: Span, judge: Any, scores: list[Any]) -> None:
    """The scores on the span, where the evaluator worker takes them instead of scoring the answer again."""
    attributes: dict[str, Any] = {"agentwatch.evaluation.judge": judge.name}
    for s in scores:
        attributes[f"agentwatch.evaluation.{s.metric}"] = s.score
        attributes[f"agentwatch.evaluation.{s.metric}.label"] = s.label
        attributes[f"agentwatch.evaluation.{s.metric}.explanation"] = s.explanation
    span.set_attributes(attributes)


def score_answer(span: Span, query: str, answer: str, sources: Sequence[Any], judge: Any = None) -> dict[str, float]:
    judge, scores = _judged(query, answer, sources, judge)
    _record(span, judge, scores)
    return {s.metric: s.score for s in scores}


def gate(
    span: Span,
    query: str,
    answer: str,
    sources: Sequence[Any],
    *,
    min_grounding: float,
    fallback: str | None,
    judge: Any = None,
    decided: Callable[[str, float], None] | None = None,
) -> str:
    """Score ``answer``; return it when grounded enough, else the fallback, else raise. ``decided`` hears the
    decision ("allowed" or "blocked") and the grounding score.

    Only an answer that is let through leaves its scores on the span: a blocked one never reached the user, so
    it is no ungrounded answer of the agent's (guard_blocked reports it, from the guard's event); the worker
    judges the fallback, which is what the user saw."""
    judge, judged = _judged(query, answer, sources, judge)
    scores = {s.metric: s.score for s in judged}
    grounding = scores["grounding"]
    decision = "allowed" if grounding >= min_grounding else "blocked"
    if decided is not None:
        decided(decision, grounding)
    if decision == "allowed":
        _record(span, judge, judged)
        return answer
    if fallback is not None:
        return fallback
    raise AgentQualityError(
        f"the answer's grounding {grounding:.2f} is below {min_grounding}", scores, limit=min_grounding
    )


def check_answer(
    query: str,
    answer: str,
    sources: Sequence[Any],
    *,
    min_grounding: float | None = None,
    fallback: str | None = None,
    judge: Any = None,
) -> str:
    """Score ``answer`` before returning it; below ``min_grounding`` (by default the score from which the grounding
    metric counts an answer fully grounded) raise :class:`AgentQualityError`, or return ``fallback`` when one is
    given. Returns the answer (or the fallback). The scores land on the current span."""
    if min_grounding is None:
        from agentwatch.evaluators import GROUNDING  # the judge loads when an answer is gated, not at import

        min_grounding = GROUNDING.full
    return gate(
        trace.get_current_span(), query, answer, sources, min_grounding=min_grounding, fallback=fallback, judge=judge
    )
