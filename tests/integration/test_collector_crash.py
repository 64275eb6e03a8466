"""Crashes: SIGKILL with spooled spans, restarts, and the on-disk states a crash can leave behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from agentwatch.collector._insert import OtlpInserter
from agentwatch.collector._spool import varint

from ..conftest import PYTHON, free_port
from . import running


def _request(prefix: int, n: int, *, attributes: bool = False) -> bytes:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    now = time.time_ns()
    for i in range(n):
        span = spans.add(
            name=f"r{prefix}",
            trace_id=bytes([prefix % 256]) * 14 + i.to_bytes(2, "big"),
            span_id=bytes([prefix % 256]) * 6 + i.to_bytes(2, "big"),
            start_time_unix_nano=now,
            end_time_unix_nano=now + 10,
        )
        if attributes:  # an agent span of realistic weight
            for key, value in (
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.agent.name", f"agent-{i % 5}"),
                ("gen_ai.conversation.id", f"s-{prefix}-{i % 9}"),
                ("gen_ai.input.messages", "how long do refunds take for orders placed last week? " * 12),
            ):
                attribute = span.attributes.add()
                attribute.key = key
                attribute.value.string_value = value
    return request.SerializeToString()


def _segment(*records: bytes) -> bytes:
    return b"".join(varint(len(r)) + r for r in records)


def test_restart_replays_without_duplicates(store, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    config = running.collector_config(store, spool)
    already = _request(1, 3)
    # the insert of segment 1 landed, then the process died before removing the file
    (spool / "000000000001-3.inserting").write_bytes(_segment(already))
    OtlpInserter(store, config).insert(spool / "000000000001-3.inserting")
    # segment 2's insert was under way and did not land
    (spool / "000000000002-2.inserting").write_bytes(_segment(_request(2, 2)))
    # segment 3 was closed and waiting
    (spool / "000000000003-4.ready").write_bytes(_segment(_request(3, 4)))
    # segment 4 was being appended: one whole request, then a torn write (never acknowledged)
    torn = _segment(_request(5, 1))
    (spool / "000000000004.open").write_bytes(_segment(_request(4, 5)) + torn[: len(torn) // 2])
    assert running.count(store) == 3
    with running.RunningCollector(config, store) as rc:
        running.wait_for(lambda: rc.collector.spool.pending_spans == 0, what="the spool to drain")
        assert rc.collector.metrics.value("agentwatch_collector_batches_replayed_total") == 1  # segment 2
    names = dict(store.query("SELECT SpanName, count() FROM otel_traces GROUP BY SpanName").result_rows)
    assert names == {"r1": 3, "r2": 2, "r3": 4, "r4": 5}
    assert not [p for p in spool.iterdir() if p.is_file()]


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def _start(env: dict[str, str], port: int):
    return running.start_agentwatch("collector", env, port)


def test_sigkill_with_spooled_spans_then_restart(tmp_path, cli_env):
    env = dict(cli_env, AGENTWATCH_SPOOL_DIR=str(tmp_path / "spool"))
    port = free_port()
    # a batch that waits a minute: accepted spans sit in the spool when the process is killed
    holding = _start(dict(env, AGENTWATCH_BATCH_MAX_AGE="60", AGENTWATCH_BATCH_MAX_SPANS="1000000"), port)
    try:
        tp = TracerProvider()
        tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces")))
        tracer = tp.get_tracer("t")
        for i in range(700):
            with tracer.start_as_current_span("killed", attributes={"i": i}):
                pass
        assert tp.force_flush(30_000)
        tp.shutdown()
        assert _metric(port, "agentwatch_collector_queue_spans") == 700
        assert _metric(port, "agentwatch_collector_spans_written_total") == 0
    finally:
        holding.send_signal(signal.SIGKILL)
        holding.wait(30)
    restarted = _start(env, port)
    try:
        running.wait_for(lambda: _metric(port, "agentwatch_collector_spans_written_total") == 700, 60, "the replay")
    finally:
        running.stop_gracefully(restarted)
    assert running.sql_rows(env, "SELECT count() AS n, uniqExact(SpanId) AS u FROM otel_traces") == [
        {"n": 700, "u": 700}
    ]


def test_sigterm_flushes_what_was_accepted(tmp_path, cli_env):
    env = dict(
        cli_env,
        AGENTWATCH_SPOOL_DIR=str(tmp_path / "spool"),
        AGENTWATCH_BATCH_MAX_AGE="60",
        AGENTWATCH_BATCH_MAX_SPANS="1000000",
    )
    port = free_port()
    proc = _start(env, port)
    try:
        tp = TracerProvider()
        tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces")))
        for _ in range(300):
            with tp.get_tracer("t").start_as_current_span("flushed"):
                pass
        assert tp.force_flush(30_000)
        tp.shutdown()
    finally:
        running.stop_gracefully(proc)
    assert not [p for p in (tmp_path / "spool").iterdir() if p.is_file()]
    out = subprocess.run(
        [PYTHON, "-m", "agentwatch", "sql", "SELECT count() FROM otel_traces", "--format", "csv"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.splitlines()[1] == "300"
    assert os.path.isdir(tmp_path / "spool" / "rejected")


def test_a_segment_whose_views_a_crash_missed_is_completed_on_restart(store, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    config = running.collector_config(store, spool)
    segment = spool / "000000000001-3.inserting"
    segment.write_bytes(_segment(_request(1, 3)))
    # the crash fell between otel_traces and the views: otel_traces has the segment, agent_spans does not
    store.command("DETACH TABLE agent_spans_mv")
    try:
        OtlpInserter(store, config).insert(segment)
    finally:
        store.command("ATTACH TABLE agent_spans_mv")
    assert (running.count(store), running.count(store, "agent_spans")) == (3, 0)
    with running.RunningCollector(config, store) as rc:
        running.wait_for(lambda: rc.collector.spool.pending_spans == 0, what="the spool to drain")
        running.wait_for(lambda: running.count(store, "agent_spans") == 3, what="agent_spans to get the segment")
    assert running.count(store) == 3  # and otel_traces did not get it twice
    assert store.query("SELECT uniqExact(SpanId) FROM agent_spans").result_rows[0][0] == 3


def test_repeated_sigkill_during_inserts_leaves_every_table_exact(tmp_path, cli_env):
    import random

    spool = tmp_path / "spool"
    spool.mkdir()
    sent = 0
    for seq in range(1, 9):  # eight waiting segments of 2,500 spans, ~2 MB each: inserts long enough to be cut
        records = [_request(seq * 10 + r, 250, attributes=True) for r in range(10)]
        (spool / f"{seq:012d}-2500.ready").write_bytes(_segment(*records))
        sent += 2500
    env = dict(cli_env, AGENTWATCH_SPOOL_DIR=str(spool))
    rnd = random.Random(15)
    port = free_port()
    for _ in range(6):  # start, let it insert for a random while, kill -9
        proc = _start(env, port)
        time.sleep(rnd.uniform(0.1, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    proc = _start(env, port)
    try:
        running.wait_for(lambda: not [p for p in spool.iterdir() if p.is_file()], 120, "the spool to drain")
    finally:
        running.stop_gracefully(proc)
    counts = running.sql_rows(
        env,
        "SELECT (SELECT count() FROM otel_traces) AS traces, (SELECT uniqExact(SpanId) FROM otel_traces) AS uniq,"
        " (SELECT count() FROM agent_spans) AS spans, (SELECT uniqExact(SpanId) FROM agent_spans) AS span_uniq,"
        " (SELECT sum(Calls) FROM agent_hourly) AS hourly",
    )
    assert counts == [{"traces": sent, "uniq": sent, "spans": sent, "span_uniq": sent, "hourly": sent}]
