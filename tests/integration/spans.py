"""Build otel_traces rows directly, for tests that exercise the schema without a collector."""

from __future__ import annotations

import datetime as dt
from typing import Any

OTEL_TRACES_COLUMNS = [
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
]


def otel_row(
    span_id: str,
    attributes: dict[str, str],
    *,
    trace_id: str = "t" * 32,
    parent: str = "",
    name: str = "span",
    status: str = "Unset",
    service: str = "svc",
    timestamp: dt.datetime | None = None,
    duration_ns: int = 1_000_000,
    events: list[tuple[str, dict[str, str]]] = (),
) -> list[Any]:
    ts = timestamp or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return [
        ts,
        trace_id,
        span_id,
        parent,
        "",
        name,
        "Internal",
        service,
        {"service.name": service},
        "test",
        "1",
        attributes,
        duration_ns,
        status,
        "",
        [ts for _ in events],
        [e[0] for e in events],
        [e[1] for e in events],
        [],
        [],
        [],
        [],
    ]


def insert_spans(store, rows: list[list[Any]]) -> None:
    store.insert("otel_traces", rows, OTEL_TRACES_COLUMNS)


def one_span_request(name: str, trace_id: bytes, span_id: bytes, attributes: dict[str, Any] | None = None, **fields):
    """An OTLP/protobuf export request holding one span (``fields``: the Span message's, ``attributes`` encoded as
    agentwatch's exporters encode them): (the request, the span, for a test to add to)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from agentwatch.instrumentation._otlp import key_value

    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    span = spans.add(name=name, trace_id=trace_id, span_id=span_id, **fields)
    span.attributes.extend(key_value(key, value) for key, value in (attributes or {}).items())
    return request, span
