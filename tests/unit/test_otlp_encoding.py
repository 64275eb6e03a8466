"""agentwatch's OTLP span encoder builds exactly the SDK's message, and only agentwatch's exporters use it."""

from __future__ import annotations

from concurrent import futures

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode
from opentelemetry.exporter.otlp.proto.grpc import trace_exporter as grpc_module
from opentelemetry.exporter.otlp.proto.http import trace_exporter as http_module
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from agentwatch.instrumentation import _otlp

REMOTE = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("k", "v")]))


def sdk_spans() -> list[ReadableSpan]:
    """Spans as the SDK makes them: two resources, scopes with and without version, schema and attributes, every
    kind, events, links to a remote context, error status with a message, a remote parent, dropped counts."""
    memory = InMemorySpanExporter()
    spans = []
    for service in ("a", "b"):
        provider = TracerProvider(
            resource=Resource.create({"service.name": service, "deployment": ["x", "y"]}, schema_url="https://s/1"),
            span_limits=SpanLimits(max_span_attributes=6, max_events=2, max_links=1),
        )
        provider.add_span_processor(SimpleSpanProcessor(memory))
        plain = provider.get_tracer("plain")
        versioned = provider.get_tracer("agentwatch", "1.2", schema_url="https://s/2", attributes={"scope.k": 1})
        for tracer in (plain, versioned):
            for kind in SpanKind:
                with tracer.start_as_current_span(f"op {kind.name}", kind=kind) as span:
                    span.set_attributes(
                        {"s": "text é", "b": False, "i": -3, "f": 0.25, "strs": ["a", ""], "ints": [1, 2]}
                    )
                    span.set_attribute("over the limit", True)
                    span.add_event("e1", {"n": 1})
                    span.add_event("e2")
                    span.add_event("e3 dropped")
                    with tracer.start_as_current_span("child", links=[Link(REMOTE, {"l": "x"}), Link(REMOTE)]) as child:
                        child.set_status(Status(StatusCode.ERROR, "it broke"))
            from opentelemetry import trace

            with tracer.start_span("remote child", context=trace.set_span_in_context(trace.NonRecordingSpan(REMOTE))):
                pass
        spans.extend(memory.get_finished_spans())
        memory.clear()
    return spans


def odd_spans() -> list[ReadableSpan]:
    """What the SDK's API would not let through but a ReadableSpan can hold: maps, None, bytes, nested and empty
    arrays, floats in arrays, no scope, no status description, an unencodable value (dropped, as the SDK does)."""
    context = SpanContext(1, 2, is_remote=False)
    return [
        ReadableSpan(
            name="odd",
            context=context,
            parent=None,
            resource=Resource({}),
            attributes={
                "map": {"a": 1, "b": [True, 2.5], "c": {"d": None}},
                "none": None,
                "bytes": b"\x00\x01",
                "empty": [],
                "floats": [1.5, 2.0],
                "tuple": ("x", 1),
                "bad": object(),
                "after bad": "kept",
            },
            events=[Event("e", {"m": {"x": "y"}}, timestamp=5)],
            links=[Link(SpanContext(3, 4, is_remote=False), {})],
            kind=SpanKind.CLIENT,
            status=Status(StatusCode.OK),
            start_time=10,
            end_time=20,
            instrumentation_scope=None,
        ),
        ReadableSpan(name="bare", context=context, resource=Resource({"r": 1.5}), start_time=None, end_time=None),
    ]


@pytest.mark.parametrize("make", [sdk_spans, odd_spans], ids=["sdk spans", "odd values"])
def test_the_request_is_the_sdks_field_for_field_and_byte_for_byte(make):
    spans = make()
    ours, theirs = _otlp.encode_spans(spans), sdk_encode(spans)
    assert ours == theirs
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(deterministic=True)


def test_only_agentwatch_batches_take_the_fast_path(monkeypatch):
    _otlp.http_exporter(endpoint="http://127.0.0.1:9/v1/traces")  # routes the module's encode_spans
    calls = []
    monkeypatch.setattr(_otlp, "encode_spans", lambda spans: calls.append(len(spans)) or sdk_encode(spans))
    spans = sdk_spans()[:3]
    http_module.encode_spans(list(spans))  # another library's exporter in the same process: the SDK's encoder
    assert calls == []
    http_module.encode_spans(_otlp.Batch(spans))
    assert calls == [3]


def test_an_sdk_without_the_hook_keeps_its_own_encoding(monkeypatch):
    monkeypatch.delattr(http_module, "encode_spans")
    exporter = _otlp.http_exporter(endpoint="http://127.0.0.1:9/v1/traces")
    assert type(exporter) is http_module.OTLPSpanExporter


def test_the_http_exporter_sends_what_the_sdk_would_over_loopback():
    from agentwatch.testing import RecordingServer

    with RecordingServer("/v1/traces") as server:
        spans = sdk_spans()
        exporter = _otlp.http_exporter(endpoint=server.url)
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        exporter.shutdown()
    received = trace_service_pb2.ExportTraceServiceRequest.FromString(b"".join(r.body for r in server.requests))
    assert received == sdk_encode(spans)


def test_the_grpc_exporter_sends_what_the_sdk_would_over_loopback():
    received: list[trace_service_pb2.ExportTraceServiceRequest] = []

    class Service(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            received.append(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        spans = sdk_spans()
        exporter = _otlp.grpc_exporter(endpoint=f"127.0.0.1:{port}", insecure=True)
        assert isinstance(exporter, grpc_module.OTLPSpanExporter)
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        exporter.shutdown()
    finally:
        server.stop(None)
    assert received == [sdk_encode(spans)]
