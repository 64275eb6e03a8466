"""The offline judge on HaluEval's validation lines, through the real pipeline, against a naive baseline.

    python bench/judge_quality.py [--items 1000] [--shapes plain json_documents …]

Each item becomes two traces — an ``invoke_agent`` span with the question (and, for dialogue, the conversation
before it) and one answer, and an ``execute_tool`` span whose result is the item's knowledge or document — one
with the right answer, one with the hallucinated one. Every split is sent in each evidence shape of
``_halueval.SHAPES``: plain text; a JSON document list; a list of chunk objects; nested search hits; and, for
dialogue, the conversation pasted into the user's message instead of earlier chat messages. They are exported with the OpenTelemetry SDK to a real
collector, stored in chDB, scored by ``evaluate()`` (the worker) and read back from ``evaluations``; "flagged" is
grounding below 0.5 (ungrounded_answers' threshold). Only validation lines (numbers ending in 7 or 8) are used;
lines ending in 9, the test pool, are never read (see ``_halueval.py``).

Baseline: the share of the answer's content words found in the source, flagged below a threshold chosen on the
training lines (the ten-line judge the issue measured against).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _halueval import SHAPES, SPLITS, items, shaped
from train_judge import balanced_accuracy, quality

from agentwatch.evaluators import HeuristicJudge, evaluate
from agentwatch.evaluators._text import stems


def baseline_share(answer: str, source: str) -> float:
    words = stems(answer)
    return len(words & stems(source)) / len(words) if words else 1.0


def baseline(split: str, limit: int) -> tuple[np.ndarray, np.ndarray]:
    train = [it for _, it in zip(range(3000), items(split, "train"), strict=False)]
    shares = np.array([baseline_share(a, it.source) for it in train for a in (it.right, it.hallucinated)])
    labels = np.array([0, 1] * len(train))
    threshold = max(np.linspace(0, 1, 101), key=lambda t: balanced_accuracy(shares < t, labels))
    valid = [it for _, it in zip(range(limit), items(split, "validation"), strict=False)]
    flagged = np.array([baseline_share(a, it.source) < threshold for it in valid for a in (it.right, it.hallucinated)])
    return flagged, np.array([0, 1] * len(valid))


def export(split: str, shape: str, limit: int, endpoint: str) -> dict[str, int]:
    """Send ``split``'s items in ``shape`` through the OTLP exporter; returns trace id → label."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"halueval-{split}"}))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=1 << 17, max_export_batch_size=2048))
    tracer = provider.get_tracer("bench.judge_quality")
    labels = {}
    for _, item in zip(range(limit), items(split, "validation"), strict=False):
        case = shaped(item, shape)
        if case is None:
            continue
        for label, answer in ((0, item.right), (1, item.hallucinated)):
            messages = [{"role": role, "parts": [{"type": "text", "content": text}]} for role, text in case.turns]
            messages.append({"role": "user", "parts": [{"type": "text", "content": case.message}]})
            with tracer.start_as_current_span(f"invoke_agent {split}") as agent:
                agent.set_attributes(
                    {
                        "gen_ai.operation.name": "invoke_agent",
                        "gen_ai.agent.name": f"{split}.{shape}",
                        "gen_ai.input.messages": json.dumps(messages),
                        "gen_ai.output.messages": json.dumps(
                            [{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]
                        ),
                    }
                )
                with tracer.start_as_current_span("execute_tool knowledge") as tool:
                    tool.set_attributes(
                        {
                            "gen_ai.operation.name": "execute_tool",
                            "gen_ai.tool.name": "knowledge",
                            "gen_ai.tool.call.result": case.tool_result,
                        }
                    )
                labels[format(agent.get_span_context().trace_id, "032x")] = label
    provider.shutdown()
    return labels


def figures(flagged: np.ndarray, y: np.ndarray) -> dict[str, float]:
    tp, fp = int((flagged & (y == 1)).sum()), int((flagged & (y == 0)).sum())
    precision, recall = tp / max(1, tp + fp), tp / max(1, int((y == 1).sum()))
    return {
        "f1": 2 * precision * recall / max(1e-9, precision + recall),
        "bacc": balanced_accuracy(flagged, y),
        "right_flagged": fp / max(1, int((y == 0).sum())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="validation items per split (two answers each)")
    parser.add_argument(
        "--shapes", nargs="+", default=list(SHAPES), choices=SHAPES, help="how the evidence reaches the agent span"
    )
    args = parser.parse_args()

    from agentwatch.config import configure
    from agentwatch.migrate import Migrator
    from agentwatch.store import open_store

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.integration.running import RunningCollector, collector_config, count, wait_for

    with tempfile.TemporaryDirectory() as tmp:
        config = configure(store=f"chdb://{tmp}/store", database="quality")
        store = open_store(config, create=True)
        Migrator(store, config).apply()
        rows = []
        with RunningCollector(collector_config(store, Path(tmp) / "spool"), store) as collector:
            for split in SPLITS:
                for shape in args.shapes:
                    labels = export(split, shape, args.items, collector.http_url)
                    if labels:
                        rows.append((split, shape, labels))
            expected = 2 * sum(len(labels) for *_, labels in rows)
            wait_for(lambda: count(store, "agent_spans") >= expected, 300, "the spans stored")
        started = time.perf_counter()
        stats = evaluate(store, HeuristicJudge(), since=configure_since())
        seconds = time.perf_counter() - started
        grounding = dict(
            store.query(
                "SELECT TraceId, argMax(Score, EvaluatedAt) FROM evaluations WHERE Metric = 'grounding' "
                "AND Status = 'scored' GROUP BY TraceId"
            ).result_rows
        )
        print(f"evaluated {stats.scored:,} answers in {seconds:.1f} s ({stats.scored / seconds:,.0f} answers/s)")
        print("flagged = grounding < 0.5, validation lines only (numbers ending in 7 or 8; never 9):")
        table: dict[str, dict[str, dict[str, float]]] = {}
        for split, shape, labels in rows:
            missing = [t for t in labels if t not in grounding]
            y = np.array([labels[t] for t in labels if t in grounding])
            flagged = np.array([grounding[t] < 0.5 for t in labels if t in grounding])
            table.setdefault(shape, {})[split] = figures(flagged, y)
            print(
                f"  {shape:15} {quality(split, flagged, y)}" + (f"  ({len(missing)} not evaluated)" if missing else "")
            )
        for split in SPLITS:
            flagged_b, y_b = baseline(split, args.items)
            print(f"  {'baseline':15} {quality(split, flagged_b, y_b)}")
        print()
        print("| evidence shape | QA F1 | dialogue bal. acc. | right dialogue flagged | summarization bal. acc. |")
        print("|---|---|---|---|---|")
        for shape, by_split in table.items():
            cells = [
                f"{by_split['qa']['f1']:.3f}" if "qa" in by_split else "—",
                f"{by_split['dialogue']['bacc']:.3f}" if "dialogue" in by_split else "—",
                f"{by_split['dialogue']['right_flagged']:.1%}" if "dialogue" in by_split else "—",
                f"{by_split['summarization']['bacc']:.3f}" if "summarization" in by_split else "—",
            ]
            print(f"| {shape} | " + " | ".join(cells) + " |")
        store.close()


def configure_since():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=2)


if __name__ == "__main__":
    main()
