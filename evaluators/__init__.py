"""agentwatch.evaluators: score every answer for grounding, relevance and calibration.

Judges: :class:`HeuristicJudge` (offline, the default) and :class:`OpenAIJudge` (any OpenAI-compatible model).
:func:`evaluate` reads answers from the store, scores the ones not yet scored, and writes ``evaluations``.
"""

from agentwatch.evaluators._model import METRICS, Answer, Score, Source
from agentwatch.evaluators.heuristic import HeuristicJudge
from agentwatch.evaluators.openai_judge import JudgeBudgetExhausted, JudgeError, OpenAIJudge
from agentwatch.evaluators.worker import EvaluationStats, evaluate, read_answers

__all__ = [
    "METRICS",
    "Answer",
    "EvaluationStats",
    "HeuristicJudge",
    "JudgeBudgetExhausted",
    "JudgeError",
    "OpenAIJudge",
    "Score",
    "Source",
    "evaluate",
    "make_judge",
    "read_answers",
]


def make_judge(config) -> HeuristicJudge | OpenAIJudge:
    """The judge the configuration names."""
    if config.judge == "openai":
        return OpenAIJudge(
            model=config.judge_model,
            base_url=config.judge_base_url,
            api_key=config.judge_api_key,
            timeout=config.judge_timeout,
            concurrency=config.judge_concurrency,
            tokens_per_hour=config.judge_tokens_per_hour,
        )
    return HeuristicJudge()
