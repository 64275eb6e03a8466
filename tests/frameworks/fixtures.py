"""The recorded framework spans (``record.py``), replayed into a real collector over OTLP/HTTP as they were sent.

Only the clock moves: every timestamp is shifted by the same amount so the last span ends now, so that retention
and the detectors' windows treat the recording as fresh; ids, attributes and events are the framework's own.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "frameworks"


def load(framework: str, mode: str, folder: Path = FIXTURES) -> dict[str, Any]:
    return json.loads(gzip.decompress((folder / f"{framework}.{mode}.json.gz").read_bytes()))


def recorded() -> list[tuple[str, str]]:
    """(framework, mode) of every fixture there is."""
    return sorted(tuple(p.name.removesuffix(".json.gz").split(".", 1)) for p in FIXTURES.glob("*.json.gz"))


def requests(fixture: dict[str, Any]) -> list[ExportTraceServiceRequest]:
    return [ExportTraceServiceRequest.FromString(base64.b64decode(r["body"])) for r in fixture["requests"]]


def spans(fixture: dict[str, Any]) -> list[Any]:
    return [s for r in requests(fixture) for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]


def shifted(fixture: dict[str, Any], now_ns: int | None = None) -> list[bytes]:
    """The recorded export bodies with every timestamp moved so the last span ends at ``now_ns``."""
    batches = requests(fixture)
    last = max(
        s.end_time_unix_nano for r in batches for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans
    )
    delta = (now_ns or time.time_ns()) - last
    for request in batches:
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    span.start_time_unix_nano += delta
                    span.end_time_unix_nano += delta
                    for event in span.events:
                        event.time_unix_nano += delta
    return [r.SerializeToString() for r in batches]
