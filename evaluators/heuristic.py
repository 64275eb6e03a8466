"""The offline judge: no model, fast enough to run inline, honest about what it can see.

* **grounding** — the answer is split into claims (sentences); a claim is supported when its numbers, dates,
  prices and named entities appear in the sources and most of its content words do. Unsupported specifics are
  the typical silent wrong answer, and they are named in the explanation.
* **relevance** — overlap of the query's content words with the answer's, plus the kind of answer the question
  asks for (a number for "how many", a time for "when"…).
* **calibration** — certainty language against what the sources support: a confident answer over empty or failed
  tool results scores low; an honest "I could not find…" scores high.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from agentwatch.evaluators._evidence_text import split_conversation
from agentwatch.evaluators._grounding_model import Evidence, evidence_of, features, kind_of, probability
from agentwatch.evaluators._model import GROUNDING, RELEVANCE, Answer, Score, Source
from agentwatch.evaluators._text import claims, entities, identifiers, is_english, numbers, stems, words

__all__ = ["HeuristicJudge"]

_REFUSAL = re.compile(
    r"\b(i (?:could not|couldn't|can't|cannot|was unable to|am unable to|did not|didn't) (?:find|locate|verify|"
    r"confirm|access|determine)|no (?:results|records|information|data) (?:were |was )?found|i don't (?:know|have)|"
    r"unable to (?:find|retrieve|access)|not (?:able|sure)|i'm not sure|there (?:are|were) no (?:results|records)|"
    r"the (?:tool|search|lookup|request) (?:failed|returned an error|returned no))"
)
# every refusal above contains one of these: text without them needs no regex (searched lower-cased, no re.I)
_REFUSAL_HINTS = (
    "find",
    "locate",
    "verify",
    "confirm",
    "access",
    "determine",
    "found",
    "know",
    "have",
    "unable",
    "not able",
    "not sure",
    "no results",
    "no records",
    "failed",
    "error",
    "returned no",
)
_HEDGE = re.compile(
    r"\b(might|may|possibly|perhaps|probably|likely|seems?|appears?|i think|i believe|around|"
    r"approximately|roughly|it looks like|unclear|uncertain|estimate)\b"
)
_CERTAIN = re.compile(
    r"\b(definitely|certainly|guaranteed|always|never|absolutely|confirmed|without (?:a )?doubt|"
    r"100%|rest assured|i can confirm|exactly|clearly)\b"
)
_QUESTION_TYPES = (
    (
        re.compile(
            r"\bhow (?:many|much|long|old|far)\b|\bwhat (?:is|was) the (?:price|cost|total|number|amount)", re.I
        ),
        re.compile(r"\d"),
    ),
    (
        re.compile(r"\bwhen\b|\bwhat (?:date|time|day)\b", re.I),
        re.compile(
            r"\d|\b(?:today|tomorrow|yesterday|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
            r"january|february|march|april|may|june|july|august|september|october|november|december|week|"
            r"month|year|day|hour)s?\b",
            re.I,
        ),
    ),
    (re.compile(r"\bwhere\b", re.I), re.compile(r"\b(?:in|at|from|to|warehouse|city|country|street)\b", re.I)),
)


_CHAT_CERTAIN_NUMBERS = 1  # a tool-less answer stating this many numbers with certainty words is overconfident


class HeuristicJudge:
    """Scores answers against their evidence; no network, no model download: a few KB of weights in the package."""

    name = "heuristic"
    cpu_bound = True  # the worker may spread large batches over processes

    def score(self, answer: Answer) -> list[Score]:
        if not answer.history:  # a chat app may paste the conversation into the user's message
            query, history = split_conversation(answer.query)
            if history:
                answer = dataclasses.replace(answer, query=query, history=history)
        usable = [s for s in answer.sources if not s.failed and not s.empty]
        failed = [s for s in answer.sources if s.failed]
        evidence = evidence_of([s.text for s in usable], answer.history, answer.query)
        lowered = answer.answer.lower()
        refusal = any(h in lowered for h in _REFUSAL_HINTS) and bool(_REFUSAL.search(lowered))
        grounding = self._grounding(answer, evidence, refusal)
        relevance = self._relevance(answer, refusal, evidence)
        calibration = self._calibration(answer, lowered, grounding, refusal, usable, failed)
        return [grounding, relevance, calibration]

    # -- grounding --------------------------------------------------------------------------------
    def _grounding(self, answer: Answer, evidence: Evidence, refusal: bool) -> Score:
        text = answer.answer
        stated = _says_something(text)
        if refusal and not numbers(text):
            return Score(
                "grounding", 1.0, "grounded", "The answer declines to state facts, so it claims nothing unsupported."
            )
        if not stated:
            return Score("grounding", 1.0, "grounded", "The answer makes no factual claim.")
        if not answer.sources and not answer.history.strip():
            return Score(
                "grounding",
                1.0,
                "not_applicable",
                "No tool result, document or earlier conversation to check the answer against.",
            )
        if not is_english(text) or not evidence.prose.strip():
            # words of another language cannot be matched offline, nor an answer's wording against the keys of
            # structured results ("units" for in_stock): both are judged on what they state specifically
            return self._specifics_only(text, evidence, english=is_english(text))
        support = features(text, evidence)
        kind = kind_of(support.answer_words, evidence)
        p, threshold = probability(support.values, kind)
        score = 0.5 + 0.5 * (threshold - p) / threshold if p < threshold else 0.5 * (1 - p) / (1 - threshold)
        if support.source_recall >= 0.3 and not (
            support.unsupported_words or support.unsupported_names or support.unsupported_numbers
        ):
            score = max(score, 0.5)  # every word from the evidence, much of it used: a paraphrase, not a fabrication
        specifics = support.unsupported_numbers or (evidence.structured and support.unsupported_names)
        if (kind == "answer" and support.unsupported_numbers) or (
            kind == "dialogue" and evidence.structured and specifics
        ):
            score = min(score, 0.35)  # a number or a name no tool returned: the typical silent wrong answer
        score = round(score, 3)
        if score < GROUNDING.threshold:
            return Score("grounding", score, "ungrounded", _unsupported(text, support, evidence))
        if score < GROUNDING.full:
            return Score("grounding", score, "partially_grounded", _unsupported(text, support, evidence, partly=True))
        return Score("grounding", score, "grounded", "The answer's claims are supported by the sources.")

    def _specifics_only(self, text: str, evidence: Evidence, *, english: bool) -> Score:
        """Numbers, identifiers and (in English) names must be in the sources."""
        missing = sorted(n for n in numbers(text) if n not in evidence.numbers)
        missing += sorted(t for t in identifiers(text) if t.lower() not in evidence.lowered and t not in missing)
        if english:
            missing += sorted(n for n in entities(text) if n.lower() not in evidence.lowered)
        if missing:
            listed = ", ".join(dict.fromkeys(missing))
            return Score("grounding", 0.3, "ungrounded", f"The answer states {listed}, which no source mentions.")
        if english:
            content = stems(text) - evidence.query_stems
            unsupported = sorted(content - evidence.stems)
            if len(unsupported) >= 4 and len(unsupported) > 0.6 * len(content):
                return Score(
                    "grounding",
                    0.6,
                    "partially_grounded",
                    f"Most of the answer is not in the tool results ({', '.join(unsupported[:6])} found nowhere).",
                )
            return Score("grounding", 0.9, "grounded", "The names and figures the answer states are in the sources.")
        return Score(
            "grounding",
            0.8,
            "grounded",
            "The answer is not in English: its numbers and identifiers were checked and are in the sources.",
        )

    # -- relevance --------------------------------------------------------------------------------
    def _relevance(self, answer: Answer, refusal: bool, evidence: Evidence) -> Score:
        if not answer.answer.strip():
            return Score("relevance", 0.0, "irrelevant", "The answer is empty.")
        if refusal:
            return Score(
                "relevance", 0.6, "relevant", "The answer addresses the question by saying it cannot be answered."
            )
        query_words = stems(answer.query)
        answer_words = stems(answer.answer)
        overlap = len(query_words & answer_words) / len(query_words) if query_words else 1.0
        expected = [shape for question, shape in _QUESTION_TYPES if question.search(answer.query)]
        type_match = all(shape.search(answer.answer) for shape in expected) if expected else True
        # an agent's answer may report what it did instead of restating the request ("Ticket answered."), or what
        # its tools found for the question ("It's with UPS.")
        done = [s for s in answer.sources if not s.failed and not s.empty]
        task_words = stems(answer.goal) | {w for s in done if s.kind == "tool" for w in stems(_name_words(s.name))}
        reports_action = bool(done) and bool(answer_words & task_words) and len(answer_words) <= 15
        found = evidence.stems if done else frozenset()
        reports_findings = (
            len(answer_words) > 0
            and len(answer_words & found) >= 0.6 * len(answer_words)
            and (len(answer_words) >= 3 or bool(entities(answer.answer)) or bool(numbers(answer.answer)))
        )
        score = round(min(1.0, 0.3 + 0.7 * overlap) * (1.0 if type_match else 0.6), 3)
        if reports_action and score < 0.8:
            return Score("relevance", 0.8, "relevant", "The answer reports the action the agent's tools carried out.")
        if reports_findings and score < RELEVANCE.full:
            return Score(
                "relevance",
                RELEVANCE.full,
                "relevant",
                "The answer reports what the sources returned for the question.",
            )
        if not answer.sources and not answer.history.strip() and score < 0.5:
            return Score(
                "relevance",
                0.5,
                "uncertain",
                "The answer shares no words with the question, and with no tool result to relate it to, the offline "
                "judge cannot tell whether it is on topic.",
            )
        if score < RELEVANCE.threshold:
            return Score("relevance", score, "irrelevant", "The answer has little to do with the question.")
        if not type_match:
            return Score(
                "relevance",
                score,
                "partially_relevant",
                "The answer does not give the kind of answer the question asks for.",
            )
        return Score("relevance", score, "relevant", "The answer addresses the question.")

    # -- calibration ------------------------------------------------------------------------------
    def _calibration(
        self,
        answer: Answer,
        lowered: str,
        grounding: Score,
        refusal: bool,
        usable: list[Source],
        failed: Iterable[Source],
    ) -> Score:
        failed = list(failed)
        hedged = any(h in lowered for h in _HEDGE_HINTS) and bool(_HEDGE.search(lowered))
        certain = any(h in lowered for h in _CERTAIN_HINTS) and bool(_CERTAIN.search(lowered))
        states_facts = _says_something(answer.answer)
        if refusal:
            if usable and grounding.score >= 0.8 and not failed:
                return Score(
                    "calibration",
                    0.7,
                    "underconfident",
                    "The answer declines although the sources seem to hold the information.",
                )
            return Score("calibration", 0.95, "calibrated", "The answer is honest about what could not be found.")
        if not answer.sources:
            if certain and len(numbers(answer.answer)) >= _CHAT_CERTAIN_NUMBERS:
                return Score(
                    "calibration",
                    0.35,
                    "overconfident",
                    "The answer asserts figures with certainty although no tool or source was consulted.",
                )
            return Score("calibration", 0.8, "calibrated", "No tool was consulted; the answer claims no certainty.")
        if not usable and states_facts and grounding.score < 0.8:
            why = "the tools failed" if failed else "the tools returned nothing"
            if hedged and not certain:
                return Score("calibration", 0.6, "hedged", f"The answer hedges, appropriately, since {why}.")
            return Score("calibration", 0.1, "overconfident", f"The answer states facts confidently although {why}.")
        if grounding.score < GROUNDING.threshold:
            if hedged and not certain:
                return Score("calibration", 0.5, "hedged", "The answer hedges claims the sources do not support.")
            return Score(
                "calibration", 0.2, "overconfident", "The answer is confident about claims the sources do not support."
            )
        if certain and grounding.score < GROUNDING.full:
            return Score(
                "calibration", 0.4, "overconfident", "The answer sounds more certain than its partial support allows."
            )
        return Score("calibration", 0.9, "calibrated", "The answer's confidence matches its support.")


def _name_words(name: str) -> str:
    """A tool's name as words: reply_ticket, replyTicket, reply-ticket and tickets.reply all say "reply ticket"."""
    return _NAME_SEPARATORS.sub(" ", _CAMEL.sub(" ", name))


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NAME_SEPARATORS = re.compile(r"[_\-.:/]+")


def _says_something(text: str) -> bool:
    """A number, or two content words: what a claim needs (cheaper than splitting into sentences)."""
    return bool(numbers(text)) or len(words(text)) >= 2


# every hedge / certainty phrase contains one of these: text without them needs no regex
_HEDGE_HINTS = (
    "might",
    "may",
    "possib",
    "perhaps",
    "probab",
    "likely",
    "seem",
    "appear",
    "think",
    "believe",
    "around",
    "approx",
    "roughly",
    "looks like",
    "unclear",
    "uncertain",
    "estimat",
)
_CERTAIN_HINTS = (
    "definite",
    "certain",
    "guarantee",
    "always",
    "never",
    "absolute",
    "confirm",
    "doubt",
    "100%",
    "rest assured",
    "exactly",
    "clearly",
)


def _unsupported(text: str, support, evidence: Evidence, partly: bool = False) -> str:
    """Name what no source supports: numbers and names first, then the sentence with the most unsupported words."""
    specifics = list(dict.fromkeys(support.unsupported_numbers + support.unsupported_names))
    if specifics:
        return f"The answer states {', '.join(specifics[:8])}, which no source mentions."
    missing = set(support.unsupported_words)
    worst = max(claims(text), key=lambda c: len(stems(c) & missing), default="")
    if worst and stems(worst) & missing:
        quoted = worst if len(worst) <= 120 else worst[:117] + "…"
        share = "Part of the answer" if partly else "The answer"
        words = ", ".join(sorted(stems(worst) & missing)[:6])
        return f'{share} is not in the sources: "{quoted}" ({words} found nowhere).'
    return "The answer departs from the sources (a negation or wording the sources do not have)."
