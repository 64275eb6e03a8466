"""The collector's counters, gauges and write-latency histogram, rendered as Prometheus text."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

__all__ = ["Metrics"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_HELP = {
    "agentwatch_collector_spans_received_total": ("counter", "Spans received, by protocol."),
    "agentwatch_collector_spans_written_total": ("counter", "Spans written to otel_traces."),
    "agentwatch_collector_spans_rejected_total": ("counter", "Spans not accepted or not stored, by reason."),
    "agentwatch_collector_rejected_deleted_spans_total": (
        "counter",
        "Spans of refused requests deleted from rejected/ to keep it under AGENTWATCH_REJECTED_MAX_BYTES.",
    ),
    "agentwatch_collector_rejected_bytes": ("gauge", "Bytes of refused requests kept in the spool's rejected/ folder."),
    "agentwatch_collector_spans_clamped_total": (
        "counter",
        "Spans stored at their receive time because they started outside the kept window (0, future, past retention).",
    ),
    "agentwatch_collector_requests_total": ("counter", "Export requests answered, by protocol and status code."),
    "agentwatch_collector_batches_spilled_total": (
        "counter",
        "Batches that could not be written and stayed in the spool.",
    ),
    "agentwatch_collector_batches_replayed_total": ("counter", "Spooled batches written after a failure or restart."),
    "agentwatch_collector_batches_written_total": ("counter", "Batches written to otel_traces."),
    "agentwatch_collector_queue_spans": ("gauge", "Spans accepted and not yet written."),
    "agentwatch_collector_spool_bytes": ("gauge", "Bytes in the spool."),
    "agentwatch_collector_store_up": ("gauge", "1 when the last write to the store succeeded."),
    "agentwatch_collector_write_seconds": ("histogram", "Time to write one batch to the store."),
}


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(lambda: defaultdict(float))
        self._gauges: dict[str, Callable[[], float]] = {}
        self._hist_counts = [0] * len(_BUCKETS)
        self._hist_sum = 0.0
        self._hist_total = 0

    def inc(self, name: str, value: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._counters[name][key] += value

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            series = self._counters.get(name, {})
            if labels:
                return series.get(tuple(sorted(labels.items())), 0.0)
            return sum(series.values())

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        self._gauges[name] = read

    def observe_write(self, seconds: float) -> None:
        with self._lock:
            self._hist_sum += seconds
            self._hist_total += 1
            for i, bound in enumerate(_BUCKETS):
                if seconds <= bound:
                    self._hist_counts[i] += 1

    def render(self) -> str:
        lines: list[str] = []

        def head(name: str) -> None:
            kind, doc = _HELP.get(name, ("untyped", ""))
            lines.append(f"# HELP {name} {doc}")
            lines.append(f"# TYPE {name} {kind}")

        with self._lock:
            counters = {name: dict(series) for name, series in self._counters.items()}
            hist = (list(self._hist_counts), self._hist_sum, self._hist_total)
        for name in sorted(set(counters) | {n for n, (k, _) in _HELP.items() if k == "counter"}):
            head(name)
            series = counters.get(name) or {(): 0.0}
            for labels, value in sorted(series.items()):
                label_text = ",".join(f'{k}="{v}"' for k, v in labels)
                lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")
        for name, read in sorted(self._gauges.items()):
            head(name)
            lines.append(f"{name} {read():g}")
        head("agentwatch_collector_write_seconds")
        counts, total_sum, total = hist
        for bound, count in zip(_BUCKETS, counts, strict=True):
            lines.append(f'agentwatch_collector_write_seconds_bucket{{le="{bound:g}"}} {count}')
        lines.append(f'agentwatch_collector_write_seconds_bucket{{le="+Inf"}} {total}')
        lines.append(f"agentwatch_collector_write_seconds_sum {total_sum:g}")
        lines.append(f"agentwatch_collector_write_seconds_count {total}")
        return "\n".join(lines) + "\n"
