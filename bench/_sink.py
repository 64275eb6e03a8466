"""A local OTLP/HTTP sink for the peer benchmarks: accepts whatever a peer exports (traces, metrics, logs, on any
path, gzip or not), answers 200 at once and keeps the bodies, so that no peer measures a network or a store. What was
received is decoded after the measurement, off the clock."""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentwatch.listen import free_port

__all__ = ["Received", "Sink"]


@dataclass
class Received:
    spans: int = 0
    trace_bytes: int = 0
    other_bytes: int = 0  # metrics and logs
    names: Counter = field(default_factory=Counter)
    marker_seen: bool = False


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with self.server.lock:
            self.server.bodies.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    lock: threading.Lock
    bodies: list[tuple[str, str, bytes]]


class Sink:
    """``with Sink() as sink: ... sink.url ... sink.received(marker)``"""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", free_port()), _Handler)
        self._server.lock = threading.Lock()
        self._server.bodies = []
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Sink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self) -> list[tuple[str, str, bytes]]:
        """What arrived so far, in order: (path, content type, body as decompressed)."""
        with self._server.lock:
            return list(self._server.bodies)

    def received(self, marker: bytes) -> Received:
        """Spans, bytes and span names received so far, and whether ``marker`` (a string only the recorded content
        holds) arrived: the peer recorded the call's content."""
        with self._server.lock:
            bodies = list(self._server.bodies)
        out = Received()
        for path, content_type, body in bodies:
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
