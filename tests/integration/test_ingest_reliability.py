"""Ingest that nothing stalls and nothing silently loses (#15): a batch touching many partitions, start times outside
the kept window, senders that declare a large body and send it slowly, gzip bodies of several members. A real
collector on free ports, real OTLP exporters and raw sockets."""

from __future__ import annotations

import gzip
import socket
import time

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from .running import RunningCollector, collector_config, count, http_request, wait_for

DAY = 86_400 * 10**9


def _request(*starts: int, name: str = "s", first: int = 1) -> bytes:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for i, start in enumerate(starts, first):
        spans.add(
            name=name,
            trace_id=i.to_bytes(16, "big"),
            span_id=i.to_bytes(8, "big"),
            start_time_unix_nano=start,
            end_time_unix_nano=start + 1000 if start < (1 << 64) - 1000 else start,
        )
    return request.SerializeToString()


def _post(rc: RunningCollector, body: bytes, headers=None):
    return http_request(
        rc.collector.http_port,
        "POST",
        "/v1/traces",
        body,
        {"Content-Type": "application/x-protobuf", **(headers or {})},
    )


def test_a_batch_over_many_partitions_does_not_stall_ingestion(store, tmp_path):
    for table in ("otel_traces", "agent_spans"):  # keep what is sent: this store keeps 200 days, like the collector
        store.command(f"ALTER TABLE {table} REMOVE TTL")
    config = collector_config(store, tmp_path / "spool", traces_retention_days=200, batch_max_age=0.5)
    now = time.time_ns()
    with RunningCollector(config, store) as rc:
        for day in range(101):  # 101 requests, one day apart: one segment, one insert over 101 daily partitions
            assert _post(rc, _request(now - day * DAY, first=day + 1))[0] == 200
        for i in range(30):  # later spans, acknowledged after the poison batch
            assert _post(rc, _request(now, name="later", first=1000 + i))[0] == 200
        wait_for(lambda: count(store) == 131, 30, "every span, the 101-day batch and the later ones")
        assert rc.collector.health()["status"] == "ok"
        assert not list((tmp_path / "spool").glob("rejected/*"))
    assert count(store, "agent_spans") == 131


def test_start_times_outside_the_kept_window_are_stored_at_receive_time_and_counted(store, tmp_path):
    config = collector_config(store, tmp_path / "spool")  # 30 days kept
    before = time.time_ns()
    with RunningCollector(config, store) as rc:
        starts = (0, (1 << 64) - 1, before - 40 * DAY, before + 3 * DAY, before - DAY)
        status, _, body = _post(rc, _request(*starts))
        assert status == 200
        response = ExportTraceServiceResponse.FromString(body)
        assert response.partial_success.rejected_spans == 0
        assert "4 span(s) started outside the time the store keeps" in response.partial_success.error_message
        wait_for(lambda: count(store) == 5, what="all five spans")
        assert rc.collector.metrics.value("agentwatch_collector_spans_clamped_total") == 4
    rows = store.query(
        "SELECT toUnixTimestamp64Nano(Timestamp), SpanAttributes['agentwatch.timestamp.original'] FROM otel_traces"
    ).result_rows
    originals = sorted(original for _, original in rows if original)
    assert originals == sorted(str(min(s, (1 << 63) - 1)) for s in starts[:4])
    assert all(before <= ts <= time.time_ns() for ts, original in rows if original)
    assert count(store, "agent_spans") == 5  # and still there after the views


def test_slow_senders_do_not_block_other_exports(store, tmp_path):
    config = collector_config(store, tmp_path / "spool", request_timeout=2.0)
    with RunningCollector(config, store) as rc:
        slow = []
        for _ in range(4):  # each declares the largest body and sends one byte
            sock = socket.create_connection(("127.0.0.1", rc.collector.http_port), timeout=10)
            sock.sendall(
                b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                b"Content-Length: 67108864\r\n\r\n\x0a"
            )
            slow.append(sock)
        try:
            for exporter in (
                HttpSpanExporter(endpoint=f"{rc.http_url}/v1/traces", timeout=5),
                GrpcSpanExporter(endpoint=rc.grpc_target, insecure=True, timeout=5),
            ):
                tp = TracerProvider()
                tp.add_span_processor(SimpleSpanProcessor(exporter))
                for i in range(5):
                    with tp.get_tracer("t").start_as_current_span(f"fine {i}"):
                        pass
                tp.shutdown()
            wait_for(lambda: count(store) == 10, 10, "the exports sent while slow senders hang")
            assert http_request(rc.collector.http_port, "GET", "/healthz")[0] == 200
            for sock in slow:  # each slow sender is answered 408 once its deadline passes, and the connection closed
                sock.settimeout(10)
                assert sock.recv(64).startswith(b"HTTP/1.1 408")
        finally:
            for sock in slow:
                sock.close()
        assert rc.collector.metrics.value("agentwatch_collector_requests_total", protocol="http", code="408") == 4


def test_every_member_of_a_gzip_body_is_read(store, tmp_path):
    with RunningCollector(collector_config(store, tmp_path / "spool"), store) as rc:
        _gzip_members(rc, store)


def _gzip_members(rc: RunningCollector, store) -> None:
    body = gzip.compress(_request(time.time_ns(), first=1)) + gzip.compress(_request(time.time_ns(), first=2))
    assert _post(rc, body, {"Content-Encoding": "gzip"})[0] == 200  # two protobuf messages concatenated: merged
    wait_for(lambda: count(store) == 2, what="the spans of both members")
    status, _, _ = _post(
        rc, gzip.compress(_request(time.time_ns(), first=3)) + b"trailing junk", {"Content-Encoding": "gzip"}
    )
    assert status == 400  # neither member is acknowledged
    time.sleep(0.3)
    assert count(store) == 2


def _two_valued_oneof_request() -> bytes:
    """A request whose attribute value sets two fields of AnyValue's oneof — protobuf parsers keep the last, so the
    collector accepts it; ClickHouse's reader refuses it (found by mutating valid requests)."""
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    from agentwatch.collector._spool import varint

    def field(number: int, payload: bytes) -> bytes:
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    now = time.time_ns()
    value = AnyValue(string_value="x").SerializeToString() + varint(3 << 3) + varint(5)  # and int_value 5
    attribute = KeyValue(key="k").SerializeToString() + field(2, value)
    span = Span(
        name="oneof", trace_id=b"\x07" * 16, span_id=b"\x07" * 8, start_time_unix_nano=now, end_time_unix_nano=now + 1
    ).SerializeToString() + field(9, attribute)
    return field(1, field(2, field(2, span)))


def test_a_request_clickhouse_cannot_read_as_sent_is_stored_in_canonical_form(store, tmp_path):
    body = _two_valued_oneof_request()
    assert len(ExportTraceServiceRequest.FromString(body).resource_spans[0].scope_spans[0].spans) == 1
    with RunningCollector(collector_config(store, tmp_path / "spool"), store) as rc:
        assert _post(rc, body)[0] == 200
        wait_for(lambda: count(store) == 1, what="the span")
        assert rc.collector.metrics.value("agentwatch_collector_spans_rejected_total", reason="store_rejected") == 0
    assert not list((tmp_path / "spool").glob("rejected/*"))
    assert store.query("SELECT SpanAttributes['k'] FROM otel_traces").result_rows == [("5",)]  # the last one wins
