"""Durability when the disk fills and files tear: nothing acknowledged is lost, nothing stops silently.

The disk-full tests run on a real small file system (a tmpfs this test mounts; CI runs as root and requires it).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from agentwatch.collector._spool import Spool, SpoolFull, read_records, varint

from ..conftest import free_port
from .running import (
    RunningCollector,
    collector_config,
    count,
    sql_rows,
    start_agentwatch,
    stop_gracefully,
    wait_for,
)
from .spans import one_span_request
from .test_collector_crash import _request, _segment


def mount_tmpfs(path: Path, megabytes: int) -> None:
    """A tmpfs of ``megabytes`` at ``path``, or the test says why it cannot have one (CI requires it)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        why = f"cannot mount a tmpfs here ({(done.stderr or done.stdout).strip()}); it needs root"
        if os.environ.get("CI_REQUIRE_TMPFS"):
            pytest.fail(why)
        pytest.skip(why)


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    mount_tmpfs(disk, 64)
    yield disk
    unmount(disk)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until ``leave`` bytes are free; the filler file, to delete when space is to come back."""
    filler = disk / "filler"
    size = shutil.disk_usage(disk).free - leave
    with open(filler, "wb") as f, contextlib.suppress(OSError):  # the collector may fill it first
        block = b"\0" * (1 << 20)
        while size > 0:
            f.write(block[: min(size, len(block))])
            f.flush()
            size -= len(block)
    return filler


def test_spool_on_a_full_disk_refuses_and_stays_whole(tmp_path):
    """The spool alone, on a 1 MiB file system: appends until the disk says no, then a clear refusal; the open
    segment holds exactly the records acknowledged."""
    disk = tmp_path / "disk"
    mount_tmpfs(disk, 1)
    try:
        spool = Spool(disk / "spool", batch_max_spans=10**9, batch_max_age=3600)
        payload = os.urandom(50_000)
        acknowledged = 0
        with pytest.raises(SpoolFull, match="disk refused"):
            for _ in range(1000):
                spool.append(payload, 1)
                acknowledged += 1
        assert acknowledged > 5
        spool.close_open()
        (segment,) = list(spool.segments())
        data = segment.path.read_bytes()
        records, end = read_records(data)
        assert end == len(data) and len(records) == acknowledged == segment.spans
        spool.finish(segment)
        spool.append(payload, 1)  # space came back: appends go on
    finally:
        unmount(disk)


def _post(port: int, body: bytes) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def _health(port: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


@pytest.mark.parametrize("reserve", ["0", str(8 << 20)])
def test_full_disk_under_load_is_back_pressure_and_loses_nothing(small_disk, cli_env, reserve):
    """Store and spool on one 64 MB disk, filled but for a little; two senders for a while. Only 200 and 503
    answers; once space returns, every acknowledged span is in otel_traces and agent_spans, none set aside."""
    env = dict(
        cli_env,
        AGENTWATCH_STORE=f"chdb://{small_disk / 'store'}",
        AGENTWATCH_SPOOL_DIR=str(small_disk / "spool"),
        AGENTWATCH_SPOOL_MIN_FREE_BYTES=reserve,
        AGENTWATCH_BATCH_MAX_AGE="0.05",
    )
    port = free_port()
    proc = start_agentwatch("collector", env, port)
    try:
        filler = fill(small_disk, (12 << 20) if reserve != "0" else (3 << 20))
        statuses: list[int] = []
        acknowledged = [0]
        ids = itertools.count(1)
        lock = threading.Lock()
        deadline = time.monotonic() + 8

        def send() -> None:
            while time.monotonic() < deadline:
                prefix = next(ids)
                status = _post(port, _request(prefix, 100, attributes=True))
                with lock:
                    statuses.append(status)
                    if status == 200:
                        acknowledged[0] += 100
                if status == 503:
                    time.sleep(0.05)

        senders = [threading.Thread(target=send) for _ in range(2)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        assert set(statuses) <= {200, 503}, sorted(set(statuses))
        assert statuses.count(503) > 0 and statuses.count(200) > 0, "the disk never filled: the test tested nothing"
        filler.unlink()
        wait_for(lambda: _metric(port, "agentwatch_collector_queue_spans") == 0, 90, "the spool to drain")
        assert _health(port)["status"] == "ok"
    finally:
        stop_gracefully(proc)
    counts = sql_rows(
        env,
        "SELECT (SELECT uniqExact(SpanId) FROM otel_traces) AS traces, "
        "(SELECT uniqExact(SpanId) FROM agent_spans) AS typed",
    )
    assert counts == [{"traces": acknowledged[0], "typed": acknowledged[0]}]
    assert not list((small_disk / "spool" / "rejected").glob("*.json")), "nothing is set aside for a full disk"


def test_a_corrupt_segment_at_start_is_set_aside_and_start_goes_on(store, tmp_path):
    """Segments damaged on disk (a torn tail, garbage between records, a damaged one mid-insert): the requests
    before the damage are stored, the rest set aside with the reason and counted, start-up is not held up and no
    thread dies."""
    spool = tmp_path / "spool"
    spool.mkdir()
    good = _segment(_request(1, 3))
    (spool / "000000000001-5.ready").write_bytes(good + b"\x7f" * 40)  # a torn tail: length says more than there is
    garbage = varint(20) + b"\xff" * 20  # a whole record that is not OTLP
    (spool / "000000000002-4.ready").write_bytes(_segment(_request(2, 2)) + garbage + _segment(_request(3, 2)))
    (spool / "000000000003-2.inserting").write_bytes(varint(9) + b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff")
    config = collector_config(store, spool)
    started = time.monotonic()
    with RunningCollector(config, store) as rc:
        assert time.monotonic() - started < 10
        wait_for(lambda: rc.collector.spool.pending_spans == 0, 30, "the spool to drain")
        health = rc.collector.health()
        assert health["status"] == "ok" and health["writer"] == "running", health
        assert rc.collector.metrics.value("agentwatch_collector_corrupt_records_total", reason="torn") == 1
        assert rc.collector.metrics.value("agentwatch_collector_corrupt_records_total", reason="corrupt") == 2
    names = dict(store.query("SELECT SpanName, count() FROM otel_traces GROUP BY SpanName").result_rows)
    assert names == {"r1": 3, "r2": 2, "r3": 2}
    notes = [json.loads(p.read_text()) for p in sorted((spool / "rejected").glob("*.json"))]
    reasons = [reason.split(":")[0] for note in notes for reason in note["errors"]]
    assert sorted(reasons) == ["corrupt", "corrupt", "torn"], notes


def test_a_writer_thread_that_dies_turns_health_failing_and_is_restarted(store, tmp_path, monkeypatch):
    config = collector_config(store, tmp_path / "spool")
    with RunningCollector(config, store) as rc:
        writer = rc.collector.writer
        spool = rc.collector.spool
        real = spool.next_ready
        broken = threading.Event()
        broken.set()

        def next_ready(timeout: float):
            if broken.is_set() and threading.current_thread().name == "agentwatch-writer-0":
                raise RuntimeError("simulated bug in the writer")
            return real(timeout)

        monkeypatch.setattr(spool, "next_ready", next_ready)
        wait_for(lambda: rc.collector.health()["status"] == "failing", 10, "health to fail")
        health = rc.collector.health()
        assert "agentwatch-writer-0 died: RuntimeError: simulated bug in the writer" in health["writer"], health
        assert _health(rc.collector.http_port)["status"] == "failing"
        broken.clear()  # the bug goes away: the restarted thread runs on
        wait_for(lambda: rc.collector.health()["status"] == "ok", 20, "the restart")
        assert writer.restarts >= 1 and rc.collector.health()["writer_restarts"] >= 1
        assert rc.collector.metrics.value("agentwatch_collector_thread_deaths_total", thread="agentwatch-writer-0") >= 1


def test_grpc_and_http_share_one_ingest_path(store, tmp_path, monkeypatch):
    """Both receivers go through Collector.ingest: the bytes of a gRPC request in flight are counted like HTTP's."""
    import grpc

    from agentwatch.collector import server as collector_server

    config = collector_config(store, tmp_path / "spool")
    with RunningCollector(config, store) as rc:
        seen: list[int] = []
        real = collector_server.decode_request

        def decode(*args, **kwargs):
            seen.append(rc.collector.inflight_bytes)
            return real(*args, **kwargs)

        monkeypatch.setattr(collector_server, "decode_request", decode)
        body = _request(7, 5)
        channel = grpc.insecure_channel(rc.grpc_target)
        export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        export(body, timeout=30)
        channel.close()
        assert _post(rc.collector.http_port, body) == 200
        assert seen == [len(body), len(body)]
        assert rc.collector.inflight_bytes == 0


@pytest.mark.parametrize("state", ["idle", "disk_full", "corrupt_segment"])
def test_sigterm_stops_the_collector_in_every_state(tmp_path, cli_env, state):
    """SIGTERM stops the collector within the drain timeout (30 s) whatever it is doing: idle, waiting on a full
    disk with segments it cannot write, or starting over a damaged segment."""
    home = tmp_path
    if state == "disk_full":
        home = tmp_path / "disk"
        mount_tmpfs(home, 64)
    spool = home / "spool"
    spool.mkdir()
    env = dict(cli_env, AGENTWATCH_SPOOL_DIR=str(spool), AGENTWATCH_STORE=f"chdb://{home / 'store'}")
    env["AGENTWATCH_SPOOL_MIN_FREE_BYTES"] = "0"
    if state == "corrupt_segment":
        (spool / "000000000001-2.inserting").write_bytes(varint(9) + b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff")
    port = free_port()
    proc = start_agentwatch("collector", env, port)
    try:
        if state == "disk_full":  # accepted spans that cannot be written: the writer is retrying when the signal comes
            for i in range(20):
                _post(port, _request(100 + i, 100, attributes=True))
            fill(home, 0)
            for i in range(20):
                assert _post(port, _request(200 + i, 100, attributes=True)) in (200, 503)
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(90)
        stderr = proc.stderr.read() if proc.stderr else ""
        if state == "disk_full":
            unmount(home)
    assert code == 0 and time.monotonic() - started < 60, stderr
    assert "Traceback" not in stderr, stderr


def test_values_at_the_edges_are_clamped_and_kept(store, tmp_path):
    now = time.time_ns()
    request, span = one_span_request(
        "edge", b"\x01" * 16, b"\x02" * 8, start_time_unix_nano=now, end_time_unix_nano=(1 << 64) - 1
    )
    for stamp in ((1 << 64) - 1, 1 << 63, 0):
        span.events.add(name=f"e{stamp}", time_unix_nano=stamp)
    nested = span.attributes.add()
    nested.key = "deep"
    inner = nested.value.array_value.values.add().array_value.values.add().array_value.values.add()
    inner.string_value = "bottom"
    with RunningCollector(collector_config(store, tmp_path / "spool"), store) as rc:
        assert _post(rc.collector.http_port, request.SerializeToString()) == 200
        wait_for(lambda: count(store) == 1, what="the span")
    duration, stamps, attributes, event_attributes = store.query(
        "SELECT Duration, Events.Timestamp, SpanAttributes, Events.Attributes FROM otel_traces"
    ).result_rows[0]
    assert duration == 0
    assert attributes["agentwatch.end_time.original"] == str((1 << 64) - 1)
    low = now - 86_400 * 10**9
    assert all(low <= int(s.timestamp() * 1e9) <= now + 86_400 * 10**9 for s in stamps), stamps
    assert [e.get("agentwatch.timestamp.original") for e in event_attributes] == [
        str((1 << 64) - 1),
        str(1 << 63),
        "0",
    ]
    assert json.loads(attributes["deep"]) == [[["bottom"]]]


_CRASH_SIGNS = ("Traceback", "Exception in", "Segmentation fault", "ShutdownTablesThreadPool", "cannot schedule")


@pytest.mark.parametrize(
    ("signum", "after"),
    [(signal.SIGINT, 0.9), (signal.SIGINT, 1.3), (signal.SIGINT, 1.7), (signal.SIGINT, 5.0), (signal.SIGTERM, 1.5),
     (signal.SIGTERM, 3.0)],
)  # fmt: skip
def test_the_demo_stops_cleanly_when_interrupted(tmp_path, cli_env, signum, after):
    """Ctrl-C (exit 130) or SIGTERM (exit 143) at any moment of ``agentwatch demo``: what it started is stopped, no
    traceback, no crash of the engine at exit."""
    from ..conftest import PYTHON

    temp = tmp_path / "temp"
    temp.mkdir()
    proc = subprocess.Popen(
        [PYTHON, "-m", "agentwatch", "demo"],
        env={**cli_env, "TMPDIR": str(temp)},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(after)
    proc.send_signal(signum)
    try:
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    finished = proc.returncode in (0, 1)  # the demo was faster than the signal
    assert finished or proc.returncode == (130 if signum == signal.SIGINT else 143), (proc.returncode, stderr)
    assert not [sign for sign in _CRASH_SIGNS if sign in stderr], stderr
    assert list(temp.iterdir()) == [], "an interrupted demo leaves no store behind (#34 item 9)"


@pytest.mark.parametrize("after", [0.3, 4.0])
def test_serve_stops_on_sigterm_while_starting_or_serving(tmp_path, cli_env, after):
    from ..conftest import PYTHON

    port = free_port()
    env = dict(cli_env, AGENTWATCH_SPOOL_DIR=str(tmp_path / "spool"))
    proc = subprocess.Popen(
        [PYTHON, "-m", "agentwatch", "serve", "--http", f"127.0.0.1:{port}", "--grpc", "", "--query-http", ""],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(after)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    # still loading Python (before agentwatch could install a handler) the signal ends it at once: nothing was open
    assert proc.returncode in ((0,) if after > 1 else (0, 143, -signal.SIGTERM)), stderr
    assert time.monotonic() - started < 45
    assert not [sign for sign in _CRASH_SIGNS if sign in stderr], stderr
