"""An LLM judge through the ``openai`` package, against any OpenAI-compatible endpoint.

The reply must be JSON matching :data:`SCHEMA`; a malformed reply is retried once with a repair prompt and then
raised as :class:`JudgeError` (recorded as an evaluation error, never as a score). 429 and 5xx answers are
retried by the client with backoff, honouring ``Retry-After``. The judge keeps a token budget per hour and raises
:class:`JudgeBudgetExhausted` once it is spent. Its own calls are never traced as agent spans.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from typing import Any

from agentwatch.errors import AgentwatchError, MissingExtraError
from agentwatch.evaluators._model import METRIC_UNITS, METRICS, Answer, Score

__all__ = ["SCHEMA", "JudgeBudgetExhausted", "JudgeError", "OpenAIJudge"]


class JudgeError(AgentwatchError):
    """The judge could not produce a valid evaluation (malformed reply, timeout, HTTP error)."""


class JudgeBudgetExhausted(JudgeError):
    """The judge's token budget for the hour is spent; it stops calling until the hour has passed."""


_METRIC = {
    "type": "object",
    "additionalProperties": False,
    "required": ["score", "label", "explanation"],
    "properties": {"score": {"type": "number"}, "label": {"type": "string"}, "explanation": {"type": "string"}},
}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": list(METRICS),
    "properties": {metric: _METRIC for metric in METRICS},
}

_SYSTEM = (
    "You evaluate an AI agent's answer to a user. Score three metrics from 0 to 1:\n"
    + "".join(f"- {m.name}: {m.definition}\n" for m in METRIC_UNITS)
    + "For each metric give a short label (e.g. grounded, ungrounded, relevant, overconfident) and one sentence of "
    "explanation. Reply with JSON only, matching this schema: " + json.dumps(SCHEMA)
)


def _validate(text: str) -> list[Score]:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    scores = []
    for metric in METRICS:
        entry = data.get(metric)
        if not isinstance(entry, dict):
            raise ValueError(f"missing object {metric!r}")
        score, label, explanation = entry.get("score"), entry.get("label"), entry.get("explanation")
        if not isinstance(score, (int, float)) or isinstance(score, bool) or not 0 <= score <= 1:
            raise ValueError(f"{metric}.score must be a number from 0 to 1, got {score!r}")
        if not isinstance(label, str) or not isinstance(explanation, str):
            raise ValueError(f"{metric}.label and {metric}.explanation must be strings")
        scores.append(Score(metric, float(score), label.strip()[:64] or "unlabelled", explanation.strip()[:1000]))
    return scores


# the openai package types response_format as a TypedDict union; a plain dict literal does not narrow to it
RESPONSE_FORMAT: Any = {"type": "json_schema", "json_schema": {"name": "evaluation", "schema": SCHEMA, "strict": True}}


class OpenAIJudge:
    """Scores answers with an LLM. Thread-safe; ``concurrency`` is how many calls the worker may run at once."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        concurrency: int = 4,
        tokens_per_hour: int = 500_000,
        client: Any = None,
    ) -> None:
        try:
            import openai
        except ImportError:
            raise MissingExtraError("openai", "server", "The LLM judge") from None
        self.model = model
        self.name = f"openai:{model}"
        self.concurrency = concurrency
        self.tokens_per_hour = tokens_per_hour
        self.client = client or openai.OpenAI(
            base_url=base_url, api_key=api_key or "not-set", timeout=timeout, max_retries=max_retries
        )
        self._openai = openai
        self._spent: collections.deque[tuple[float, int]] = collections.deque()
        self._lock = threading.Lock()
        self.calls = 0

    # -- budget -----------------------------------------------------------------------------------
    def tokens_spent(self) -> int:
        cutoff = time.monotonic() - 3600
        with self._lock:
            while self._spent and self._spent[0][0] < cutoff:
                self._spent.popleft()
            return sum(tokens for _, tokens in self._spent)

    def _charge(self, tokens: int) -> None:
        with self._lock:  # the worker calls the judge from several threads
            self.calls += 1
            self._spent.append((time.monotonic(), tokens))

    # -- scoring ----------------------------------------------------------------------------------
    def _prompt(self, answer: Answer) -> str:
        sources = (
            "\n\n".join(f"[{s.kind} {s.name}{' — FAILED' if s.failed else ''}]\n{s.text}" for s in answer.sources)
            or "(no sources were consulted)"
        )
        earlier = f"CONVERSATION SO FAR:\n{answer.history}\n\n" if answer.history else ""
        goal = f"AGENT'S GOAL:\n{answer.goal}\n\n" if answer.goal else ""
        return f"{goal}{earlier}QUERY:\n{answer.query}\n\nANSWER:\n{answer.answer}\n\nSOURCES:\n{sources}"

    def _call(self, messages: list[Any]) -> str:
        if self.tokens_spent() >= self.tokens_per_hour:
            raise JudgeBudgetExhausted(f"the judge's budget of {self.tokens_per_hour} tokens per hour is spent")
        from opentelemetry.instrumentation.utils import suppress_instrumentation

        try:
            with suppress_instrumentation():  # the judge's calls are not the agent's
                response = self.client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=0,
                    response_format=RESPONSE_FORMAT,
                )
        except self._openai.APITimeoutError as exc:
            raise JudgeError(f"the judge timed out: {exc}") from exc
        except self._openai.APIStatusError as exc:
            raise JudgeError(f"the judge answered HTTP {exc.status_code}: {exc.message}") from exc
        except self._openai.APIConnectionError as exc:
            raise JudgeError(f"cannot reach the judge: {exc}") from exc
        usage = getattr(response, "usage", None)
        self._charge((usage.total_tokens if usage and usage.total_tokens else 0) or 1)
        return response.choices[0].message.content or ""

    def score(self, answer: Answer) -> list[Score]:
        messages = [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": self._prompt(answer)}]
        reply = self._call(messages)
        try:
            return _validate(reply)
        except (ValueError, TypeError) as first:
            repair = [
                *messages,
                {"role": "assistant", "content": reply},
                {
                    "role": "user",
                    "content": f"That reply was not valid: {first}. Reply again with only the "
                    "JSON object, matching the schema exactly.",
                },
            ]
            again = self._call(repair)
            try:
                return _validate(again)
            except (ValueError, TypeError) as second:
                raise JudgeError(f"malformed judge reply after one repair attempt: {second}") from None
