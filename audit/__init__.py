"""agentwatch.audit: the six production-readiness questions, answered per agent from the store.

Each question is one SQL file (``sql/audit/<n>_<key>.sql``) returning a row per agent: a verdict (ready, at_risk,
not_ready, unknown), the reason, the next step and the evidence behind it. The verdict rules live in the SQL, so
the CLI, the HTML report and the Readiness dashboard show the same answer. Here they are gathered into one
:class:`Audit` with an overall verdict per agent and for the fleet. As the article puts it, "if any of these is 'I'm
not sure', you're not ready": an unknown answer makes the agent not ready overall.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentwatch.evaluators import GROUNDING
from agentwatch.output import to_jsonable
from agentwatch.sqlfiles import list_sql, load_sql

if TYPE_CHECKING:
    from agentwatch.audit._render import render, render_html, render_markdown, render_table

__all__ = [
    "AUDIT_THRESHOLDS",
    "QUESTIONS",
    "VERDICTS",
    "AgentAudit",
    "Assessment",
    "Audit",
    "Question",
    "render",
    "render_html",
    "render_markdown",
    "render_table",
    "run_audit",
]
_RENDERERS = ("render", "render_html", "render_markdown", "render_table")


def __getattr__(name: str) -> Any:
    """The renderers (text, Markdown, HTML, JSON) load on first use: they read this module's classes."""
    if name in _RENDERERS:
        from agentwatch.audit import _render

        return getattr(_render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


VERDICTS = ("ready", "at_risk", "not_ready", "unknown")
_LABELS = {"ready": "ready", "at_risk": "at risk", "not_ready": "NOT READY", "unknown": "unknown"}
# How much each verdict weighs when picking the next step: what blocks a deploy first, then what nobody knows.
_WEIGHT = {"not_ready": 3, "unknown": 2, "at_risk": 1, "ready": 0}
# Among answers of the same weight, what to fix first: the failures that hurt users and budgets now (loops and
# runaway cost, wrong answers, scope breaches) before those that make them likelier (contracts, credentials, context).
_URGENCY = ("caps", "answers", "scope", "tools", "credentials", "context")


def _urgency(question: Question) -> int:
    return -_URGENCY.index(question.key) if question.key in _URGENCY else -len(_URGENCY) - question.number


_STANDARD = ("agent", "verdict", "reason", "next_step")
# the metric units' thresholds the questions compare with, bound as parameters of their SQL (and the dashboard's)
AUDIT_THRESHOLDS = {"min_grounding": GROUNDING.threshold, "gate_grounding": GROUNDING.full}


def label(verdict: str) -> str:
    """A verdict as people read it (``not_ready`` → ``NOT READY``)."""
    return _LABELS[verdict]


@dataclass(frozen=True)
class Question:
    number: int
    key: str  # the SQL file's name, e.g. "context"
    text: str  # the question, as the article asks it
    sql: str  # "audit/1_context"
    failure_mode: str  # the failure mode (of the detectors) the question is about


def _questions() -> tuple[Question, ...]:
    found = []
    for name in list_sql("audit"):
        number, _, key = name.removeprefix("audit/").partition("_")
        header = load_sql(name).header
        found.append(Question(int(number), key, header["question"], name, header["failure_mode"]))
    return tuple(sorted(found, key=lambda q: q.number))


QUESTIONS: tuple[Question, ...] = _questions()


@dataclass(frozen=True)
class Assessment:
    """An agent's answer to one readiness question (named apart from the evaluators' Answer, an agent's reply)."""

    question: Question
    verdict: str
    reason: str
    next_step: str
    evidence: dict[str, Any]


@dataclass
class AgentAudit:
    agent: str
    answers: list[Assessment] = field(default_factory=list)

    @property
    def overall(self) -> str:
        """Not ready when any answer is not ready or unknown; at risk when any is at risk; else ready."""
        verdicts = {a.verdict for a in self.answers}
        if verdicts & {"not_ready", "unknown"}:
            return "not_ready"
        return "at_risk" if "at_risk" in verdicts else "ready"

    @property
    def next_step(self) -> Assessment | None:
        """The answer whose next step would most improve the agent: not ready, then unknown, then at risk; among
        equals loops and cost, wrong answers and scope breaches first (``_URGENCY``)."""
        pending = [a for a in self.answers if a.verdict != "ready"]
        return max(pending, key=lambda a: (_WEIGHT[a.verdict], _urgency(a.question))) if pending else None


@dataclass
class Audit:
    start: dt.datetime
    end: dt.datetime
    agents: list[AgentAudit]

    @property
    def overall(self) -> str:
        """The fleet is as ready as its least ready agent (and unknown when it has none)."""
        if not self.agents:
            return "unknown"
        return max((a.overall for a in self.agents), key=lambda v: _WEIGHT[v])

    def counts(self) -> dict[str, int]:
        return {v: sum(1 for a in self.agents if a.overall == v) for v in ("ready", "at_risk", "not_ready")}

    def fleet_next_step(self) -> tuple[Question, list[str], str] | None:
        """The question that holds agents back the furthest (a not ready answer outweighs any number at risk),
        then the most agents (weighted by how far from ready), then the most urgent; the agents it holds back and
        the next step the first of them was given."""
        worst: dict[int, int] = {}
        scores: dict[int, int] = {}
        questions: dict[int, Question] = {}
        for agent in self.agents:
            for answer in agent.answers:
                n = answer.question.number
                questions[n] = answer.question
                worst[n] = max(worst.get(n, 0), _WEIGHT[answer.verdict])
                scores[n] = scores.get(n, 0) + _WEIGHT[answer.verdict]
        if not scores or max(scores.values()) == 0:
            return None
        number = max(scores, key=lambda n: (worst[n], scores[n], _urgency(questions[n])))
        held = [
            (agent.agent, answer)
            for agent in self.agents
            for answer in agent.answers
            if answer.question.number == number and answer.verdict != "ready"
        ]
        held.sort(key=lambda pair: -_WEIGHT[pair[1].verdict])
        return held[0][1].question, [name for name, _ in held], held[0][1].next_step

    def failing(self, threshold: str) -> list[AgentAudit]:
        """Agents whose overall verdict is ``threshold`` or worse (``not_ready``, or ``at_risk``)."""
        return [a for a in self.agents if _WEIGHT[a.overall] >= _WEIGHT[threshold]]

    def to_json(self) -> dict[str, Any]:
        counts = self.counts()
        step = self.fleet_next_step()
        return {
            "window": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "fleet": {
                "verdict": self.overall,
                **counts,
                "next_step": None
                if step is None
                else {"question": step[0].number, "agents": step[1], "next_step": step[2]},
            },
            "questions": [{"number": q.number, "key": q.key, "question": q.text} for q in QUESTIONS],
            "agents": [
                {
                    "agent": a.agent,
                    "verdict": a.overall,
                    "next_step": None
                    if a.next_step is None
                    else {"question": a.next_step.question.number, "next_step": a.next_step.next_step},
                    "answers": [
                        {
                            "question": x.question.number,
                            "key": x.question.key,
                            "verdict": x.verdict,
                            "reason": x.reason,
                            "next_step": x.next_step,
                            "evidence": to_jsonable(x.evidence),
                        }
                        for x in a.answers
                    ],
                }
                for a in self.agents
            ],
        }


def run_audit(store: Any, *, start: dt.datetime, end: dt.datetime, agent: str | None = None) -> Audit:
    """Answer every question for every agent seen in [start, end) (or one agent)."""
    parameters = {"start": start, "end": end, "agent": agent or "", **AUDIT_THRESHOLDS}
    agents: dict[str, AgentAudit] = {}
    for question in QUESTIONS:
        result = store.run_sql(question.sql, parameters)
        for row in result.named_results():
            name = row["agent"]
            evidence = {k: v for k, v in row.items() if k not in _STANDARD}
            answer = Assessment(question, row["verdict"], row["reason"], row["next_step"], evidence)
            agents.setdefault(name, AgentAudit(name)).answers.append(answer)
    for audit in agents.values():  # an agent a question has no row for (it saw none of its data): unknown
        answered = {a.question.number for a in audit.answers}
        for question in QUESTIONS:
            if question.number not in answered:
                audit.answers.append(
                    Assessment(
                        question,
                        "unknown",
                        "nothing this question reads was recorded for this agent",
                        "record its runs with agentwatch (import agentwatch.auto, @agentwatch.agent, @agentwatch.tool)",
                        {},
                    )
                )
        audit.answers.sort(key=lambda a: a.question.number)
    return Audit(start, end, [agents[name] for name in sorted(agents)])
