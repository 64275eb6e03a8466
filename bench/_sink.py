"""A local OTLP/HTTP sink for the peer benchmarks (``agentwatch.testing.RecordingServer``): accepts whatever a peer
exports (traces, metrics, logs, on any path, gzip or not), answers 200 at once and keeps the bodies, so that no peer
measures a network or a store. What was received is decoded after the measurement, off the clock."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentwatch.testing import RecordingServer

__all__ = ["Received", "Sink"]


@dataclass
class Received:
    spans: int = 0
    trace_bytes: int = 0
    other_bytes: int = 0  # metrics and logs
    names: Counter = field(default_factory=Counter)
    marker_seen: bool = False


class Sink:
    """``with Sink() as sink: ... sink.url ... sink.received(marker)``"""

    def __init__(self) -> None:
        self._recorder = RecordingServer("")
        self.url = self._recorder.url

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._recorder.stop()

    def bodies(self) -> list[tuple[str, str, bytes]]:
        """What arrived so far, in order: (path, content type, body as decompressed)."""
        return [(r.path, r.headers.get("Content-Type", ""), r.body) for r in self._recorder.received()]

    def received(self, marker: bytes) -> Received:
        """Spans, bytes and span names received so far, and whether ``marker`` (a string only the recorded content
        holds) arrived: the peer recorded the call's content."""
        out = Received()
        for path, content_type, body in self.bodies():
            if not path.endswith("/traces"):
                out.other_bytes += len(body)
                continue
            out.trace_bytes += len(body)
            out.marker_seen = out.marker_seen or marker in body
            if "json" in content_type:
                continue
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    out.spans += len(scope_spans.spans)
                    out.names.update(span.name for span in scope_spans.spans)
        return out
