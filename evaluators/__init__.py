"""agentwatch.evaluators: score every answer for grounding, relevance and calibration.

Judges: :class:`HeuristicJudge` (offline, the default) and :class:`OpenAIJudge` (any OpenAI-compatible model).
:func:`evaluate` reads answers from the store, scores the ones not yet scored, and writes ``evaluations``.

The worker and the LLM judge load on first use: the agent's inline answer gate imports this package for the offline
judge, and must not bring the store, pandas or the ``openai`` client into the application.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentwatch.evaluators._model import GROUNDING, METRIC_UNITS, METRICS, Answer, Metric, Score, Source
from agentwatch.evaluators.heuristic import HeuristicJudge

if TYPE_CHECKING:
    from agentwatch.config import Config
    from agentwatch.evaluators.openai_judge import JudgeBudgetExhausted, JudgeError, OpenAIJudge
    from agentwatch.evaluators.worker import EvaluationStats, evaluate, read_answers

__all__ = [
    "GROUNDING",
    "METRICS",
    "METRIC_UNITS",
    "Answer",
    "EvaluationStats",
    "HeuristicJudge",
    "JudgeBudgetExhausted",
    "JudgeError",
    "Metric",
    "OpenAIJudge",
    "Score",
    "Source",
    "evaluate",
    "make_judge",
    "read_answers",
]

_LAZY = {
    "JudgeBudgetExhausted": "openai_judge",
    "JudgeError": "openai_judge",
    "OpenAIJudge": "openai_judge",
    "EvaluationStats": "worker",
    "evaluate": "worker",
    "read_answers": "worker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def make_judge(config: Config) -> HeuristicJudge | OpenAIJudge:
    """The judge the configuration names."""
    if config.judge == "openai":
        from agentwatch.evaluators.openai_judge import OpenAIJudge

        return OpenAIJudge(
            model=config.judge_model,
            base_url=config.judge_base_url,
            api_key=config.judge_api_key,
            timeout=config.judge_timeout,
            concurrency=config.judge_concurrency,
            tokens_per_hour=config.judge_tokens_per_hour,
        )
    return HeuristicJudge()
