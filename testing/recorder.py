"""A loopback HTTP endpoint that records every POST: the webhook the demo's alerts go to, the channels the alert
tests deliver to, the OTLP sink the peer benchmarks export into. One of them, instead of one per place."""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Recorded", "RecordingServer"]


@dataclass(frozen=True)
class Recorded:
    at: float  # time.monotonic() when it arrived
    path: str
    headers: dict[str, str]
    body: bytes  # decompressed when it came gzipped

    def json(self) -> Any:
        return json.loads(self.body)


class RecordingServer:
    """``with RecordingServer() as hook: … hook.url … hook.requests``; it can fail the first ``fail_first`` requests
    with 500 (not recorded) and answer each after ``delay`` seconds. Starts at once; ``stop()`` (or the ``with``)
    ends it."""

    def __init__(self, path: str = "/", *, fail_first: int = 0, delay: float = 0.0) -> None:
        self.requests: list[Recorded] = []
        self.fail_first = fail_first
        self.delay = delay
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                time.sleep(recorder.delay)
                with recorder._lock:
                    failing = recorder.fail_first > 0
                    if failing:
                        recorder.fail_first -= 1
                    else:
                        recorder.requests.append(Recorded(time.monotonic(), self.path, dict(self.headers), body))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self) -> list[Recorded]:
        """What arrived so far, in order (a copy, safe while more arrives)."""
        with self._lock:
            return list(self.requests)

    def payloads(self) -> list[Any]:
        """The JSON bodies received so far."""
        return [r.json() for r in self.received()]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> RecordingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
