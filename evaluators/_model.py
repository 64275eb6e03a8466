"""What gets evaluated and what an evaluation says."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from agentwatch.evaluators._text import parsed_json

__all__ = ["CALIBRATION", "GROUNDING", "METRICS", "METRIC_UNITS", "RELEVANCE", "Answer", "Metric", "Score", "Source"]


@dataclass(frozen=True)
class Metric:
    """One quality metric, defined once: the LLM judge's instruction, the threshold below which an answer fails
    (the default of its detector, the audit's and the dashboards' red line), the score from which it fully meets the
    metric (the answer gate's default, the dashboards' green) and what a failing answer is called."""

    name: str
    definition: str
    threshold: float
    full: float  # from here the answer fully meets the metric (grounded, not partly)
    failure: str  # the label of a failing answer
    detector: str  # the detector that reports answers below the threshold


METRIC_UNITS = (
    Metric(
        "grounding",
        "is every claim in the answer supported by the SOURCES or the earlier conversation? Unsupported names, "
        "numbers, dates and prices are the typical failure. An answer that states no facts (for example an honest "
        '"I could not find it") is grounded.',
        0.5,
        0.7,
        "ungrounded",
        "ungrounded_answers",
    ),
    Metric(
        "relevance",
        "does the answer address the QUERY or report what the agent's tools did for it? A short confirmation of an "
        "action that succeeded is relevant.",
        0.4,
        0.7,
        "off_topic",
        "off_topic_answers",
    ),
    Metric(
        "calibration",
        "does the answer's certainty match what the sources support? A confident answer over empty or failed tool "
        'results scores low; an honest "I could not find…" scores high.',
        0.4,
        0.7,
        "overconfident",
        "overconfident_answers",
    ),
)
METRICS = tuple(m.name for m in METRIC_UNITS)
GROUNDING, RELEVANCE, CALIBRATION = METRIC_UNITS


@dataclass(frozen=True)
class Source:
    """Something the agent consulted before answering: a tool result or a retrieved document."""

    kind: str  # "tool" or "document"
    name: str
    text: str
    failed: bool = False  # the tool raised or returned an error payload

    @property
    def empty(self) -> bool:
        """The tool ran and found nothing: "", null, [], {} or an object whose every value is empty."""
        return _empty_text(self.text)


@dataclass
class Answer:
    trace_id: str
    span_id: str
    timestamp: dt.datetime | None  # None for an answer scored before it was stored (the answer gate)
    query: str
    answer: str
    sources: list[Source] = field(default_factory=list)
    service_name: str = ""
    agent_name: str = ""
    session_id: str = ""
    history: str = ""  # the conversation before the question: earlier turns, the system prompt
    goal: str = ""  # the agent's declared goal (agentwatch.agent.goal)
    skip_reason: str = ""  # set when the answer cannot be evaluated (no captured content)
    inline: list[Score] | None = None  # scored before it was returned (the answer gate), by this judge

    @property
    def content_hash(self) -> str:
        """Identical (query, answer, sources) are scored once."""
        payload = json.dumps(
            [self.query, self.answer, [(s.kind, s.name, s.text, s.failed) for s in self.sources], self.history]
            + ([self.goal] if self.goal else [])
        )
        return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def _empty_text(text: str) -> bool:
    stripped = text.strip()
    if stripped in ("", "null", "None", "[]", "{}", '""'):
        return True
    data = parsed_json(stripped)
    if isinstance(data, dict):
        return all(v in (None, "", [], {}, 0, False) for v in data.values())
    return data == []


@dataclass(frozen=True)
class Score:
    metric: str
    score: float
    label: str
    explanation: str
