"""The collector with real OTLP exporters, real sockets and a real embedded ClickHouse."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .running import RunningCollector, collector_config, count, wait_for


@pytest.fixture
def running(store, tmp_path):
    with RunningCollector(collector_config(store, tmp_path / "spool"), store) as rc:
        yield rc


def provider(exporter, service="checkout-agent", batch=True) -> TracerProvider:
    tp = TracerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "test"}))
    tp.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return tp


def post(url, body: bytes, content_type="application/x-protobuf", headers=None, method="POST"):
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": content_type, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_http_exporter_spans_arrive_field_by_field(running, store):
    tp = provider(HttpSpanExporter(endpoint=f"{running.http_url}/v1/traces"), batch=False)
    tracer = tp.get_tracer("agent-scope", "2.1")
    link_ctx = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=TraceFlags(1))
    with tracer.start_as_current_span("invoke_agent support", kind=SpanKind.INTERNAL) as parent:  # noqa: SIM117 (parent, then child: the nesting is the point)
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            links=[Link(link_ctx, {"why": "retry"})],
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.request.temperature": 0.25,
                "gen_ai.request.stream": False,
                "gen_ai.response.finish_reasons": ["stop", "length"],
                "gen_ai.conversation.id": "s-1",
            },
        ) as child:
            child.add_event("gen_ai.choice", {"index": 0})
            child.set_status(Status(StatusCode.ERROR, "upstream said no"))
    tp.shutdown()
    wait_for(lambda: count(store) == 2, what="2 spans")
    row = (
        store.query(
            "SELECT TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName, ResourceAttributes, "
            "ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage, Events.Name, "
            "Events.Attributes, Links.TraceId, Links.SpanId, Links.Attributes, Timestamp "
            "FROM otel_traces WHERE SpanName = 'chat gpt-4o'"
        )
        .named_results()
        .__next__()
    )
    assert row["TraceId"] == f"{child.context.trace_id:032x}"
    assert row["SpanId"] == f"{child.context.span_id:016x}"
    assert row["ParentSpanId"] == f"{parent.context.span_id:016x}"
    assert row["TraceState"] == ""
    assert row["SpanKind"] == "Client"
    assert row["ServiceName"] == "checkout-agent"
    assert row["ResourceAttributes"]["deployment.environment"] == "test"
    assert row["ResourceAttributes"]["telemetry.sdk.language"] == "python"
    assert (row["ScopeName"], row["ScopeVersion"]) == ("agent-scope", "2.1")
    assert row["SpanAttributes"] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.usage.input_tokens": "1200",
        "gen_ai.request.temperature": "0.25",
        "gen_ai.request.stream": "false",
        "gen_ai.response.finish_reasons": '["stop","length"]',
        "gen_ai.conversation.id": "s-1",
    }
    assert row["Duration"] == child.end_time - child.start_time
    assert int(row["Timestamp"].timestamp() * 1_000_000) == child.start_time // 1000
    assert (row["StatusCode"], row["StatusMessage"]) == ("Error", "upstream said no")
    assert row["Events.Name"] == ["gen_ai.choice"] and row["Events.Attributes"] == [{"index": "0"}]
    assert row["Links.TraceId"] == [f"{0xABC:032x}"] and row["Links.SpanId"] == [f"{0xDEF:016x}"]
    assert row["Links.Attributes"] == [{"why": "retry"}]
    parent_row = store.query(
        "SELECT SpanKind, StatusCode, ParentSpanId FROM otel_traces WHERE SpanName = 'invoke_agent support'"
    ).result_rows[0]
    assert parent_row == ("Internal", "Unset", "")
    typed = store.query(
        "SELECT Operation, InputTokens, SessionId, IsError FROM agent_spans WHERE SpanName = 'chat gpt-4o'"
    ).result_rows[0]
    assert typed == ("chat", 1200, "s-1", 1)
    assert count(store, "otel_traces_trace_id_ts") == 1


def test_grpc_and_http_exporters_deliver_every_span(running, store):
    http_tp = provider(HttpSpanExporter(endpoint=f"{running.http_url}/v1/traces"), service="a")
    grpc_tp = provider(GrpcSpanExporter(endpoint=running.grpc_target, insecure=True), service="b")
    for tp in (http_tp, grpc_tp):
        tracer = tp.get_tracer("t")
        for i in range(1500):
            with tracer.start_as_current_span(f"execute_tool t{i % 7}", attributes={"i": i}):
                pass
        tp.shutdown()
    wait_for(lambda: count(store) == 3000, what="3000 spans")
    by_service = dict(
        store.query("SELECT ServiceName, uniqExact(SpanId) FROM otel_traces GROUP BY ServiceName").result_rows
    )
    assert by_service == {"a": 1500, "b": 1500}
    # one INSERT commits otel_traces' part before its views' parts: a reader in between sees the views behind
    wait_for(lambda: count(store, "agent_spans") == 3000, what="agent_spans to catch up")
    metrics = running.collector.metrics
    assert metrics.value("agentwatch_collector_spans_received_total", protocol="grpc") == 1500
    assert metrics.value("agentwatch_collector_spans_received_total", protocol="http") == 1500
    wait_for(lambda: metrics.value("agentwatch_collector_spans_written_total") == 3000, what="written counter")


def _json_request(trace_id="5b8efff798038103d269b633813fc60c", span_id="eee19b7ec3c1b174") -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "raw", "version": "0"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "name": "execute_tool search",
                                "kind": 3,
                                "startTimeUnixNano": "1764000000000000000",
                                "endTimeUnixNano": "1764000000250000000",
                                "attributes": [
                                    {"key": "gen_ai.tool.name", "value": {"stringValue": "search"}},
                                    {"key": "n", "value": {"intValue": "42"}},
                                    {
                                        "key": "m",
                                        "value": {
                                            "kvlistValue": {
                                                "values": [
                                                    {"key": "z", "value": {"boolValue": True}},
                                                    {"key": "a", "value": {"doubleValue": 1.5}},
                                                ]
                                            }
                                        },
                                    },
                                ],
                                "status": {"code": 1},
                                "someFutureField": {"x": 1},
                            }
                        ],
                    }
                ],
            }
        ]
    }


def test_json_with_hex_ids_and_unknown_fields(running, store):
    body = _json_request()
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"] = str(__import__("time").time_ns())
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["endTimeUnixNano"] = str(
        int(body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"]) + 250_000_000
    )
    status, headers, payload = post(f"{running.http_url}/v1/traces", json.dumps(body).encode(), "application/json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(payload) == {}
    wait_for(lambda: count(store) == 1, what="the JSON span")
    row = store.query(
        "SELECT TraceId, SpanId, SpanKind, StatusCode, ServiceName, SpanAttributes, Duration FROM otel_traces"
    ).result_rows[0]
    assert row == (
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
        "Client",
        "Ok",
        "json-svc",
        {"gen_ai.tool.name": "search", "n": "42", "m": '{"a":1.5,"z":true}'},
        250_000_000,
    )


def test_gzip_protobuf_and_partial_success(running, store):
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    now = __import__("time").time_ns()
    for i in range(3):
        span = spans.add(
            name=f"s{i}",
            trace_id=bytes([i + 1]) * 16,
            span_id=bytes([i + 1]) * 8,
            start_time_unix_nano=now,
            end_time_unix_nano=now + 1,
        )
    span.trace_id = b"short"  # one invalid id: rejected, the others stored
    status, _, payload = post(
        f"{running.http_url}/v1/traces",
        gzip.compress(request.SerializeToString()),
        headers={"Content-Encoding": "gzip"},
    )
    assert status == 200
    response = ExportTraceServiceResponse.FromString(payload)
    assert response.partial_success.rejected_spans == 1
    assert "invalid trace or span id" in response.partial_success.error_message
    wait_for(lambda: count(store) == 2, what="the 2 valid spans")
    assert running.collector.metrics.value("agentwatch_collector_spans_rejected_total", reason="invalid_id") == 1


@pytest.mark.parametrize(
    ("body", "content_type", "headers", "status", "text"),
    [
        (b"\x0a\xff\xff\xff", "application/x-protobuf", {}, 400, "malformed protobuf"),
        (b"{not json", "application/json", {}, 400, "malformed JSON"),
        (b"[1, 2]", "application/json", {}, 400, "not a JSON object"),
        (b"x", "text/plain", {}, 415, "unsupported content type"),
        (b"x", "application/x-protobuf", {"Content-Encoding": "br"}, 415, "unsupported content encoding"),
        (b"not gzip", "application/x-protobuf", {"Content-Encoding": "gzip"}, 400, "invalid gzip"),
    ],
)
def test_bad_requests_get_clear_errors(running, store, body, content_type, headers, status, text):
    code, _, payload = post(f"{running.http_url}/v1/traces", body, content_type, headers)
    assert code == status
    assert text in payload.decode("utf-8", "replace")
    good = post(f"{running.http_url}/v1/traces", ExportTraceServiceRequest().SerializeToString())
    assert good[0] == 200, "a bad request must not affect the next one"


def test_size_limits_and_gzip_bomb(store, tmp_path):
    config = collector_config(store, tmp_path / "spool", max_request_bytes=1 << 20)
    with RunningCollector(config, store) as rc:
        code, _, payload = post(f"{rc.http_url}/v1/traces", b"\0" * ((1 << 20) + 10))
        assert code == 413 and b"exceeds" in payload
        bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB of zeros in ~64 KiB
        assert len(bomb) < (1 << 20)
        code, _, payload = post(f"{rc.http_url}/v1/traces", bomb, headers={"Content-Encoding": "gzip"})
        assert code == 413 and b"after decompression" in payload


def test_paths_and_methods(running):
    code, _, payload = post(f"{running.http_url}/v1/logs", b"", method="POST")
    assert code == 404 and b"receives traces only" in payload
    code, _, payload = post(f"{running.http_url}/nope", b"")
    assert code == 404 and b"POST /v1/traces" in payload
    with urllib.request.urlopen(f"{running.http_url}/healthz", timeout=10) as response:
        assert json.loads(response.read())["status"] == "ok"
    with urllib.request.urlopen(f"{running.http_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    for name in (
        "agentwatch_collector_spans_received_total",
        "agentwatch_collector_spans_written_total",
        "agentwatch_collector_spans_rejected_total",
        "agentwatch_collector_queue_spans",
        "agentwatch_collector_batches_spilled_total",
        "agentwatch_collector_batches_replayed_total",
        "agentwatch_collector_write_seconds_bucket",
    ):
        assert f"\n{name}" in text or text.startswith(name) or f"# TYPE {name.removesuffix('_bucket')}" in text


def test_bearer_token_on_http_and_grpc(store, tmp_path):
    config = collector_config(store, tmp_path / "spool", ingest_token="s3cret-token")
    empty = ExportTraceServiceRequest().SerializeToString()
    with RunningCollector(config, store) as rc:
        assert post(f"{rc.http_url}/v1/traces", empty)[0] == 401
        assert post(f"{rc.http_url}/v1/traces", empty, headers={"Authorization": "Bearer wrong"})[0] == 401
        assert post(f"{rc.http_url}/v1/traces", empty, headers={"Authorization": "Bearer s3cret-token"})[0] == 200
        with grpc.insecure_channel(rc.grpc_target) as channel:
            export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
            with pytest.raises(grpc.RpcError) as info:
                export(empty, timeout=10)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert export(empty, timeout=10, metadata=[("authorization", "Bearer s3cret-token")]) == b""
        tp = provider(
            HttpSpanExporter(endpoint=f"{rc.http_url}/v1/traces", headers={"Authorization": "Bearer s3cret-token"}),
            batch=False,
        )
        with tp.get_tracer("t").start_as_current_span("authorised"):
            pass
        tp.shutdown()
        wait_for(lambda: count(store) == 1, what="the authorised span")


def test_redaction_and_truncation_at_the_door(store, tmp_path):
    config = collector_config(store, tmp_path / "spool", max_attribute_length=100, redact_patterns=r"internal-[0-9]{6}")
    with RunningCollector(config, store) as rc:
        tp = provider(HttpSpanExporter(endpoint=f"{rc.http_url}/v1/traces"), batch=False)
        with tp.get_tracer("t").start_as_current_span(
            "chat",
            attributes={
                "gen_ai.input.messages": "use key sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX and Bearer abcdefghijklmnop1234",
                "db.url": "postgres://admin:hunter2@db:5432/prod",
                "ticket": "internal-123456",
                "gen_ai.output.messages": "x" * 500,
                "safe": "nothing to see",
            },
        ) as span:
            span.add_event("exception", {"exception.message": "auth failed for AKIAABCDEFGHIJKLMNOP"})
        tp.shutdown()
        wait_for(lambda: count(store) == 1, what="the span")
    attrs, events = store.query("SELECT SpanAttributes, Events.Attributes FROM otel_traces").result_rows[0]
    assert attrs["gen_ai.input.messages"] == "use key [REDACTED] and [REDACTED]"
    assert attrs["db.url"] == "postgres:[REDACTED]db:5432/prod"
    assert attrs["ticket"] == "[REDACTED]"
    assert attrs["safe"] == "nothing to see"
    assert attrs["gen_ai.output.messages"] == "x" * 100 + "…[truncated]"
    assert events[0]["exception.message"] == "auth failed for [REDACTED]"
    assert attrs["agentwatch.redacted"] == "5"
    assert attrs["agentwatch.truncated"] == "1"
    assert "sk-proj" not in json.dumps(attrs)


def test_overload_answers_503_and_the_exporter_loses_nothing(store, tmp_path):
    config = collector_config(store, tmp_path / "spool", queue_max_spans=10, batch_max_age=0.3)
    with RunningCollector(config, store) as rc:
        status, headers, _ = 0, {}, b""
        tp = provider(HttpSpanExporter(endpoint=f"{rc.http_url}/v1/traces", timeout=30))
        tracer = tp.get_tracer("t")
        for i in range(2000):
            with tracer.start_as_current_span("s", attributes={"i": i}):
                pass
        tp.force_flush(60_000)
        tp.shutdown()
        wait_for(lambda: count(store) == 2000, 60, "all 2000 spans despite 503s")
        refused = rc.collector.metrics.value("agentwatch_collector_requests_total", protocol="http", code="503")
        assert refused >= 1, "the tiny queue should have pushed back at least once"
        request = ExportTraceServiceRequest()
        span = request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\1" * 16, span_id=b"\1" * 8)
        span.name = "x"
        rc.collector.spool.append(request.SerializeToString(), 11)  # fill the queue past its limit by hand
        status, headers, _ = post(f"{rc.http_url}/v1/traces", request.SerializeToString())
    assert status == 503 and headers["Retry-After"] == "1"
    assert len({r[0] for r in store.query("SELECT SpanId FROM otel_traces WHERE SpanName = 's'").result_rows}) == 2000


def test_store_outage_spools_then_replays_in_order(store, tmp_path):
    config = collector_config(store, tmp_path / "spool")
    with RunningCollector(config, store) as rc:
        tp = provider(HttpSpanExporter(endpoint=f"{rc.http_url}/v1/traces"), batch=False)
        tracer = tp.get_tracer("t")
        with tracer.start_as_current_span("before"):
            pass
        wait_for(lambda: count(store) == 1, what="the first span")
        store.command("RENAME TABLE otel_traces TO otel_traces_offline")  # a real failure: the table is gone
        try:
            for i in range(50):
                with tracer.start_as_current_span("during", attributes={"i": i}):
                    pass
            wait_for(lambda: not rc.collector.writer.store_up, what="the writer to notice the outage")
            assert rc.collector.health()["status"] == "degraded"
            assert rc.collector.spool.pending_spans == 50
        finally:
            store.command("RENAME TABLE otel_traces_offline TO otel_traces")
        with tracer.start_as_current_span("after"):
            pass
        tp.shutdown()
        wait_for(lambda: count(store) == 52, 30, "all spans after the store came back")
        metrics = rc.collector.metrics
        assert metrics.value("agentwatch_collector_batches_spilled_total") >= 1
        # counted just after the rows commit: the rows can be seen a moment before the counter moves
        wait_for(lambda: metrics.value("agentwatch_collector_batches_replayed_total") >= 1, what="the replay count")
    order = [r[0] for r in store.query("SELECT SpanName FROM otel_traces ORDER BY Timestamp").result_rows]
    assert order[0] == "before" and order[-1] == "after" and order.count("during") == 50
    assert count(store, "agent_spans") == 52


def test_segments_are_bounded_in_bytes_and_freed_memory_is_handed_back(store, tmp_path, monkeypatch):
    """One segment is one insert, so its bytes bound the insert's memory whatever the span size; after inserts the
    embedded engine's allocator is told to return what they freed."""
    from agentwatch.collector import _spool
    from agentwatch.collector._insert import OtlpInserter

    monkeypatch.setattr(_spool, "_MAX_SEGMENT_BYTES", 4096)
    spool = _spool.Spool(tmp_path / "spool", batch_max_spans=1_000_000, batch_max_age=60)
    for _ in range(6):
        spool.append(b"x" * 1500, 1)  # three records fill a segment past 4 KiB
    assert spool.ready_segments == 2 and spool.pending_spans == 6
    OtlpInserter(store, collector_config(store, tmp_path / "s2")).release_memory()  # the real engine accepts it


def test_the_collector_leaves_nothing_in_the_folder_it_runs_from(store, tmp_path, monkeypatch):
    """#34 item 9: the collector wrote ``__cache__/<hash>.proto`` (ClickHouse's copy of a schema given as a string)
    into whatever folder it was started from. The embedded store keeps its schema in the store."""
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    with RunningCollector(collector_config(store, tmp_path / "spool"), store) as rc:
        body = _json_request()
        body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"] = str(__import__("time").time_ns())
        body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["endTimeUnixNano"] = body["resourceSpans"][0][
            "scopeSpans"
        ][0]["spans"][0]["startTimeUnixNano"]
        status, _, _ = post(f"{rc.http_url}/v1/traces", json.dumps(body).encode(), "application/json")
        assert status == 200
        wait_for(lambda: count(store) == 1, what="the span")
    assert list(here.iterdir()) == []
