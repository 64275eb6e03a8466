"""The offline judge's grounding model: support features of an answer against its evidence, and a small
logistic regression per kind of answer over them.

The weights (``grounding_model.json``, a few KB) are fitted by ``bench/train_judge.py`` on HaluEval's development
lines only; features that measure missing support may only raise the probability of a hallucination (their weights
are constrained to be non-negative), so the model cannot learn that copying the source is suspicious.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources

from agentwatch.evaluators._evidence_text import is_conversation, unwrap
from agentwatch.evaluators._text import STOP, digit_runs, entities, numbers, stem, stems, tokens

__all__ = ["FEATURES", "Evidence", "Support", "evidence_of", "features", "kind_of", "load_model", "probability"]

FEATURES = (
    "unsupported_share",  # share of the answer's content words (beyond the question's) absent from the evidence
    "unsupported_count",  # log(1 + how many)
    "unsupported_names",  # log(1 + names absent from the evidence and the question)
    "unsupported_name_share",
    "unsupported_numbers",  # log(1 + numbers absent from the evidence)
    "novel_bigrams",  # share of the answer's word pairs absent from the prose evidence (0 over structured data)
    "unrelated_pairs",  # share of the answer's neighbouring word pairs never near each other in the evidence
    "negation_mismatch",  # negations in the answer where the evidence has none
    "source_recall",  # share of the source's own words (beyond question and conversation) the answer uses
    "uses_source",  # the answer uses any of them
    "source_names_used",  # log(1 + the source's names the answer mentions)
)
# features that measure missing support: their weights must be >= 0
MONOTONE = frozenset(FEATURES[:8])
# features that measure use of the source: their weights must be <= 0
ANTITONE = frozenset(FEATURES[8:])

_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without)\b|n't\b")
_WINDOW = 12
# an answer this long (content words) is read as a summary of its sources, whatever their size: on HaluEval's
# training lines a source-size condition as well (150 words) did worse on validation (0.68 vs 0.71 for summaries)
SUMMARY_MIN_ANSWER_WORDS = 12


@dataclass(frozen=True)
class Evidence:
    """What an answer may rest on, prepared once per answer."""

    source: str  # tool results and documents
    history: str  # the conversation before the question (dialogue)
    query: str
    prose: str = ""  # the part of source and history that is text, not structured data
    structured: bool = False  # some source is structured data (a JSON record, a table)
    source_prose: str = ""  # the sources' prose: what a summary or an answer draws its wording from

    @functools.cached_property
    def bigrams(self) -> set[frozenset[str]]:
        return _content_pairs(self.prose)

    @functools.cached_property
    def context(self) -> str:
        return f"{self.source}\n{self.history}" if self.history else self.source

    @functools.cached_property
    def stems(self) -> frozenset[str]:
        return stems(self.context)

    @functools.cached_property
    def query_stems(self) -> frozenset[str]:
        return stems(self.query)

    @functools.cached_property
    def numbers(self) -> frozenset[str]:
        return digit_runs(self.context)

    @functools.cached_property
    def lowered(self) -> str:
        return f"{self.context}\n{self.query}".lower()

    @functools.cached_property
    def windows(self) -> list[list[str]]:
        """The evidence as overlapping runs of words: two words in one run are stated together."""
        found = [t for t in tokens(self.context) if t not in STOP]
        runs = [found[i : i + _WINDOW] for i in range(0, max(1, len(found) - _WINDOW // 2), _WINDOW // 2)]
        return [*runs, [t for t in tokens(self.query) if t not in STOP]]

    @functools.cached_property
    def runs_of(self) -> dict[str, set[int]]:
        """Each word of the evidence → the runs (``windows``) that hold it."""
        found: dict[str, set[int]] = {}
        for i, run in enumerate(self.windows):
            for word in run:
                found.setdefault(word, set()).add(i)
        return found

    @functools.cached_property
    def negated(self) -> bool:
        return bool(_NEGATION.search(self.context.lower()))

    @functools.cached_property
    def own_stems(self) -> frozenset[str]:
        return stems(self.source_prose) - self.query_stems - stems(self.history)

    @functools.cached_property
    def own_names(self) -> set[str]:
        asked = f"{self.query} {self.history}"
        return {e.lower() for e in entities(self.source_prose)} - {e.lower() for e in entities(asked)}


@dataclass(frozen=True)
class Support:
    """The features, and what the explanation names."""

    values: tuple[float, ...]
    unsupported_words: tuple[str, ...]
    unsupported_names: tuple[str, ...]
    unsupported_numbers: tuple[str, ...]
    answer_words: int

    @property
    def source_recall(self) -> float:
        return self.values[FEATURES.index("source_recall")]


def features(answer: str, evidence: Evidence) -> Support:
    answer_stems = stems(answer)
    content = answer_stems - evidence.query_stems
    unsupported = sorted(w for w in content if w not in evidence.stems)
    names = entities(answer)
    missing_names = sorted(n for n in names if n.lower() not in evidence.lowered)
    missing_numbers = sorted(n for n in numbers(answer) if n not in evidence.numbers)
    pairs = _content_pairs(answer)
    novel = len(pairs - evidence.bigrams) / len(pairs) if pairs and evidence.prose else 0.0
    negations = len(_NEGATION.findall(answer.lower()))
    own = evidence.own_stems
    recall = len(answer_stems & own) / len(own) if own else 0.0
    lowered = answer.lower()
    names_used = sum(1 for n in evidence.own_names if n in lowered)
    values = (
        len(unsupported) / (len(content) + 1),
        math.log1p(len(unsupported)),
        math.log1p(len(missing_names)),
        len(missing_names) / len(names) if names else 0.0,
        math.log1p(len(missing_numbers)),
        novel,
        _unrelated_pairs(answer, evidence),
        0.0 if evidence.negated else float(min(negations, 3)),
        recall,
        float(recall > 0),
        math.log1p(names_used),
    )
    return Support(values, tuple(unsupported), tuple(missing_names), tuple(missing_numbers), len(answer_stems))


def _content_pairs(text: str) -> set[frozenset[str]]:
    """Neighbouring content words, unordered and stemmed: "items can be returned" and "return items" share one."""
    said = [stem(t) for t in tokens(text) if t not in STOP]
    return {frozenset(p) for p in itertools.pairwise(said) if p[0] != p[1]}


def _unrelated_pairs(answer: str, evidence: Evidence) -> float:
    """Of the neighbouring content words of the answer that the evidence has, the share it never states together:
    a claim can join two true words wrongly ("Nairobi" and "PostNL" both in the result, on different orders)."""
    known = evidence.stems
    said = [t for t in tokens(answer) if t not in STOP and stem(t) in known]
    pairs = {frozenset(p) for p in itertools.pairwise(said) if p[0] != p[1]}
    if not pairs:
        return 0.0
    where = evidence.runs_of
    apart = sum(1 for pair in pairs if len(pair) == 2 and not set.intersection(*(where.get(w, _NONE) for w in pair)))
    return apart / len(pairs)


_NONE: set[int] = set()


def evidence_of(sources: list[str], history: str, query: str) -> Evidence:
    """Every source as text (``unwrap``): all of it counts for words, names and numbers; the prose of documents
    (not of records, whose facts keep their own rules) for phrasing too. A piece that only repeats the question
    (a search tool echoing its query) is not evidence for it."""
    asked = stems(query)
    unwrapped = [unwrap(s) for s in sources]
    pieces = [(u, p) for u in unwrapped for p in u.prose if not stems(p) <= asked]
    facts = [f for u in unwrapped for f in u.facts]
    source_prose = "\n".join(p for u, p in pieces if not u.structured)
    said = history if is_conversation(history) else ""  # a system prompt alone is instructions, not prose to echo
    prose = f"{source_prose}\n{said}" if said and source_prose else said or source_prose
    return Evidence(
        "\n".join([*facts, *(p for _, p in pieces)]),
        history,
        query,
        prose,
        any(u.structured for u in unwrapped),
        source_prose,
    )


def kind_of(answer_words: int, evidence: Evidence) -> str:
    """Which model reads the features: a turn in a conversation, a summary (a long answer), or an answer. A turn
    goes to the dialogue model whatever its length: the summary model, fitted on documents' summaries, flagged
    nine in ten long right turns of HaluEval's training dialogues. A system prompt alone is no conversation."""
    if is_conversation(evidence.history):
        return "dialogue"
    if answer_words >= SUMMARY_MIN_ANSWER_WORDS:
        return "summary"
    return "answer"


@functools.cache
def load_model() -> dict:
    text = resources.files("agentwatch.evaluators").joinpath("grounding_model.json").read_text(encoding="utf-8")
    model = json.loads(text)
    if tuple(model["features"]) != FEATURES:
        raise RuntimeError("grounding_model.json was trained on other features: run bench/train_judge.py")
    return model


def expand(values: tuple[float, ...] | list[float], quadratic: bool) -> list[float]:
    """The model's inputs: the features, and with ``quadratic`` every product of two of them."""
    row = list(values)
    if quadratic:
        n = len(values)
        row += [values[i] * values[j] for i in range(n) for j in range(i, n)]
    return row


def probability(values: tuple[float, ...], kind: str, model: dict | None = None) -> tuple[float, float]:
    """(probability that the answer is not supported, the threshold fitted for this kind)."""
    params = (model or load_model())["kinds"][kind]
    row = expand(values, params["quadratic"])
    z = params["bias"] + sum(
        w * (x - m) / s for x, m, s, w in zip(row, params["mean"], params["scale"], params["weights"], strict=True)
    )
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))), params["threshold"]
