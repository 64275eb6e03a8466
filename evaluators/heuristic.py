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

import functools
import re
from collections import Counter
from collections.abc import Iterable

from agentwatch.evaluators._model import Answer, Score, Source

__all__ = ["HeuristicJudge"]

_STOP = frozenset(
    """
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
our ours out over own same she should so some such than that the their theirs them then there these they this
those through to too under until up very was we were what when where which while who whom why will with would
you your yours yes please thanks many much tell give show get find check need want thank hello hi sure okay ok
let know here's there's it's i'm you're we're they're that's what's can't won't don't
""".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+")
_NUMBER = re.compile(r"(?<![\w.])[$€£]?\d[\d,]*(?:\.\d+)?%?")
_ENTITY = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z0-9]+(?:[\s-][A-Z][a-zA-Z0-9]+)*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9$€£\"'])|\n+")
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
        _NUMBER,
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


_LOWER_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]")


def _words(text: str) -> set[str]:
    return set(_LOWER_WORD.findall(text.lower())) - _STOP


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _numbers(text: str) -> set[str]:
    found = set()
    for raw in _NUMBER.findall(text):
        value = raw.strip("$€£%").replace(",", "")
        if value.endswith(".0"):
            value = value[:-2]
        found.add(value)
    return found


def _claims(text: str) -> list[str]:
    """The answer's sentences that say something; a sentence repeated counts once per repetition."""
    return [c.strip() for c in _SENTENCE.split(text) if len(_words(c)) >= 2 or _numbers(c)]


class HeuristicJudge:
    """Scores answers against their sources with word, number and entity support; no model, no network."""

    name = "heuristic"
    cpu_bound = True  # the worker may spread large batches over processes

    def score(self, answer: Answer) -> list[Score]:
        sources_text = "\n".join(s.text for s in answer.sources if not s.failed)
        failed = [s for s in answer.sources if s.failed]
        source_words = {_stem(w) for w in _words(sources_text)}
        source_numbers = _numbers(sources_text)
        source_lower = sources_text.lower()
        lowered = answer.answer.lower()
        refusal = any(h in lowered for h in _REFUSAL_HINTS) and bool(_REFUSAL.search(lowered))
        grounding = self._grounding(answer, source_words, source_numbers, source_lower, refusal)
        relevance = self._relevance(answer, refusal)
        calibration = self._calibration(answer, lowered, grounding, refusal, bool(sources_text.strip()), failed)
        return [grounding, relevance, calibration]

    # -- grounding --------------------------------------------------------------------------------
    def _grounding(
        self, answer: Answer, source_words: set[str], source_numbers: set[str], source_lower: str, refusal: bool
    ) -> Score:
        claims = Counter(_claims(answer.answer))
        if refusal and not any(_numbers(c) for c in claims):
            return Score(
                "grounding", 1.0, "grounded", "The answer declines to state facts, so it claims nothing unsupported."
            )
        if not claims:
            return Score("grounding", 1.0, "grounded", "The answer makes no factual claim.")
        query_words = {_stem(w) for w in _words(answer.query)}
        unsupported_specifics: list[str] = []
        weights = supported = 0.0
        for claim, repeats in claims.items():
            numbers = _numbers(claim)
            missing_numbers = sorted(n for n in numbers if n not in source_numbers)
            entities = {e for e in _ENTITY.findall(claim) if e.lower() not in _STOP and len(e) > 2}
            missing_entities = sorted(
                e
                for e in entities
                if e.lower() not in source_lower and not _words(e) <= {w for w in _words(answer.query)}
            )
            # support units: the claim's specifics (numbers, entities) and its content words beyond the question's
            entity_words = {_stem(w) for e in entities for w in _words(e)}
            words = {_stem(w) for w in _words(claim)} - query_words - entity_words
            units = len(words) + len(numbers) + len(entities)
            found = (
                len(words & source_words)
                + (len(numbers) - len(missing_numbers))
                + (len(entities) - len(missing_entities))
            )
            coverage = found / units if units else 1.0
            weight = (1.0 + len(numbers) + len(entities)) * repeats
            weights += weight
            if missing_numbers or missing_entities:
                unsupported_specifics.extend(missing_numbers + missing_entities)
                supported += weight * 0.0
            elif coverage >= 0.5:
                supported += weight * min(1.0, 0.5 + coverage)
            else:
                supported += weight * coverage
        score = round(supported / weights, 3) if weights else 1.0
        if unsupported_specifics:
            listed = ", ".join(dict.fromkeys(unsupported_specifics))
            return Score(
                "grounding", min(score, 0.35), "ungrounded", f"The answer states {listed}, which no source mentions."
            )
        if score < 0.5:
            return Score("grounding", score, "ungrounded", "Most of the answer's content is not in the sources.")
        if score < 0.8:
            return Score("grounding", score, "partially_grounded", "Part of the answer is not in the sources.")
        return Score("grounding", score, "grounded", "Every claim in the answer is supported by the sources.")

    # -- relevance --------------------------------------------------------------------------------
    def _relevance(self, answer: Answer, refusal: bool) -> Score:
        query_words = {_stem(w) for w in _words(answer.query)}
        answer_words = {_stem(w) for w in _words(answer.answer)}
        if not answer.answer.strip():
            return Score("relevance", 0.0, "irrelevant", "The answer is empty.")
        overlap = len(query_words & answer_words) / len(query_words) if query_words else 1.0
        expected = [shape for question, shape in _QUESTION_TYPES if question.search(answer.query)]
        type_match = all(shape.search(answer.answer) for shape in expected) if expected else True
        if refusal:
            return Score(
                "relevance", 0.6, "relevant", "The answer addresses the question by saying it cannot be answered."
            )
        score = round(min(1.0, 0.3 + 0.7 * overlap) * (1.0 if type_match else 0.6), 3)
        if score < 0.4:
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
        has_sources: bool,
        failed: Iterable[Source],
    ) -> Score:
        failed = list(failed)
        hedged = bool(_HEDGE.search(lowered))
        certain = bool(_CERTAIN.search(lowered))
        states_facts = bool(_numbers(answer.answer)) or len(_claims(answer.answer)) > 0
        if refusal:
            if has_sources and grounding.score >= 0.8 and not failed:
                return Score(
                    "calibration",
                    0.7,
                    "underconfident",
                    "The answer declines although the sources seem to hold the information.",
                )
            return Score("calibration", 0.95, "calibrated", "The answer is honest about what could not be found.")
        if not has_sources or (failed and grounding.score < 0.8):
            why = "the tools failed" if failed else "no source was consulted"
            if hedged and not certain:
                return Score("calibration", 0.6, "hedged", f"The answer hedges, appropriately, since {why}.")
            if states_facts:
                return Score(
                    "calibration", 0.1, "overconfident", f"The answer states facts confidently although {why}."
                )
        if grounding.score < 0.5:
            if hedged and not certain:
                return Score("calibration", 0.5, "hedged", "The answer hedges claims the sources do not support.")
            return Score(
                "calibration", 0.2, "overconfident", "The answer is confident about claims the sources do not support."
            )
        if certain and grounding.score < 0.8:
            return Score(
                "calibration", 0.4, "overconfident", "The answer sounds more certain than its partial support allows."
            )
        return Score("calibration", 0.9, "calibrated", "The answer's confidence matches its support.")
