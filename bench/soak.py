"""Ingest soak: valid senders next to malformed ones and a restart, then the books must balance.

Runs ``agentwatch collector`` (a process, free ports, a fresh embedded store) for ``--seconds``. Senders post OTLP
protobuf requests with unique span ids; alongside them: malformed protobuf, ids of the wrong length (rejected in
``partial_success``), start times of 0, far future and past the retention (stored at receive time), bodies of two
gzip members, and slow senders that declare 64 MiB and send one byte. The store and the spool live on a small
tmpfs (``--disk-mb``, mounted when run as root): for the second quarter of the run it is filled but for 3 MB, so
the collector meets a full disk (its answers must be 200 or 503, never 500), then space comes back. Halfway the
collector is killed (SIGKILL) and started again. At the end it stops (SIGTERM) and the store is counted. Prints
spans acknowledged (answered 200 and not rejected), stored in otel_traces and agent_spans, rejected (told to the
sender) and kept in rejected/: stored must equal acknowledged, agent_spans must equal otel_traces, and nothing may
be kept aside for a local disk error.

    python bench/soak.py [--seconds 40] [--senders 3] [--disk-mb 256]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from agentwatch.listen import free_port

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.running import run_agentwatch, start_agentwatch

DAY = 86_400 * 10**9


class Books:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acknowledged = 0
        self.rejected = 0
        self.refused_requests = 0
        self.unanswered = 0
        self.server_errors = 0  # 5xx other than the retryable 502/503/504: must stay 0
        self.backoffs = 0  # 503/429 answers (retried)
        self.next_id = 1

    def ids(self, n: int) -> range:
        with self.lock:
            start = self.next_id
            self.next_id += n
        return range(start, start + n)


def _request(books: Books, n: int, kind: str) -> tuple[bytes, int]:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    now = time.time_ns()
    bad = 0
    for k, i in enumerate(books.ids(n)):
        start = now
        if kind == "window" and k % 3 == 0:
            start = (0, (1 << 64) - 1, now - 400 * DAY)[i % 3]
        span = spans.add(
            name=f"soak {kind}",
            trace_id=i.to_bytes(16, "big"),
            span_id=i.to_bytes(8, "big"),
            start_time_unix_nano=start,
            end_time_unix_nano=start + 1000 if start < (1 << 63) else start,
        )
        attribute = span.attributes.add()
        attribute.key = "gen_ai.input.messages"
        attribute.value.string_value = "how long do refunds take? " * 20
        if kind == "bad_ids" and k % 4 == 0:
            span.trace_id = b"short"
            bad += 1
    return request.SerializeToString(), bad


def _post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf", **headers})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def sender(port: int, books: Books, stop: threading.Event, seed: int) -> None:
    rnd = random.Random(seed)
    kinds = ["valid"] * 6 + ["bad_ids", "window", "gzip2", "malformed"]
    while not stop.is_set():
        kind = rnd.choice(kinds)
        n = rnd.randint(20, 200)
        headers: dict[str, str] = {}
        if kind == "malformed":
            body, bad, spans = b"\x0a\xff\xff\xff\x0f", 0, 0
        elif kind == "gzip2":
            first, _ = _request(books, n // 2, "valid")
            second, _ = _request(books, n - n // 2, "valid")
            body, bad, spans = gzip.compress(first) + gzip.compress(second), 0, n
            headers["Content-Encoding"] = "gzip"
        else:
            body, bad = _request(books, n, kind)
            spans = n
        for _ in range(50):  # a sender retries until answered, as OTLP exporters do (bounded)
            try:
                status, payload = _post(port, body, headers)
            except OSError:
                time.sleep(0.2)  # the collector is restarting
                continue
            if status in (429, 502, 503, 504):
                with books.lock:
                    books.backoffs += 1
                time.sleep(0.2)
                continue
            break
        else:
            with books.lock:
                books.unanswered += spans
            continue
        with books.lock:
            if status >= 500:
                books.server_errors += 1
            if status == 200:
                rejected = ExportTraceServiceResponse.FromString(payload).partial_success.rejected_spans
                books.acknowledged += spans - rejected
                books.rejected += rejected
                assert rejected == bad, (kind, rejected, bad)
            else:
                books.refused_requests += 1


def slow_senders(port: int, stop: threading.Event) -> None:
    while not stop.is_set():
        socks = []
        for _ in range(4):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 67108864\r\n\r\n\x0a")
                socks.append(sock)
            except OSError:
                pass
        stop.wait(3)
        for sock in socks:
            sock.close()


def start(env: dict[str, str], port: int) -> subprocess.Popen:
    return start_agentwatch("collector", env, port, log=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--senders", type=int, default=3)
    parser.add_argument("--disk-mb", type=int, default=256, help="tmpfs for the store and spool (0: no disk phase)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aw-soak-"))
    disk = _small_disk(work / "disk", args.disk_mb) if args.disk_mb else None
    home = disk or work
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWATCH_", "OTEL_"))}
    env.update(
        AGENTWATCH_STORE=f"chdb://{home / 'store'}",
        AGENTWATCH_SPOOL_DIR=str(home / "spool"),
        AGENTWATCH_REQUEST_TIMEOUT="2s",
        AGENTWATCH_SPOOL_MIN_FREE_BYTES="0",  # no reserve: the disk itself says no (the harder case)
    )
    port = free_port()
    books, stop = Books(), threading.Event()
    proc = start(env, port)
    threads = [threading.Thread(target=sender, args=(port, books, stop, i)) for i in range(args.senders)]
    threads.append(threading.Thread(target=slow_senders, args=(port, stop)))
    for thread in threads:
        thread.start()
    time.sleep(args.seconds / 4)
    if disk is not None:  # the disk-full phase: a quarter of the run with 3 MB free
        filler = _fill(disk, 3 << 20)
        time.sleep(args.seconds / 4)
        filler.unlink()
    else:
        time.sleep(args.seconds / 4)
    proc.send_signal(signal.SIGKILL)  # the restart, the hard way
    proc.wait(30)
    proc = start(env, port)
    time.sleep(args.seconds / 2)
    stop.set()
    for thread in threads:
        thread.join(120)
    proc.send_signal(signal.SIGTERM)
    proc.wait(120)
    out = run_agentwatch(
        env,
        "sql",
        "SELECT (SELECT count() FROM otel_traces) AS traces, (SELECT uniqExact(SpanId) FROM otel_traces) AS uniq, "
        "(SELECT count() FROM agent_spans) AS agent_spans",
        "--format",
        "json",
    )
    stored = json.loads(out.stdout)[0]
    notes = [json.loads(p.read_text()) for p in (home / "spool" / "rejected").glob("*.json")]
    kept = sum(note["spans"] for note in notes)
    disk_reasons = [r for note in notes for r in note["errors"] if "space" in r.lower() or "errno 28" in r.lower()]
    if disk is not None:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
    print(f"spans acknowledged            {books.acknowledged:>9,}")
    print(f"spans stored (otel_traces)    {stored['traces']:>9,}   (distinct ids {stored['uniq']:,})")
    print(f"spans stored (agent_spans)    {stored['agent_spans']:>9,}")
    print(f"spans rejected to the sender  {books.rejected:>9,}   (invalid ids, told in partial_success)")
    print(f"spans kept in rejected/       {kept:>9,}   (acknowledged, then refused by ClickHouse)")
    print(f"requests refused (4xx)        {books.refused_requests:>9,}")
    print(f"spans never answered          {books.unanswered:>9,}   (a sender's retries ran out: never acknowledged)")
    print(f"answers 503/429 (retried)     {books.backoffs:>9,}")
    print(f"answers 500 and other 5xx     {books.server_errors:>9,}   (a full disk must be 503)")
    print(f"kept aside for a disk error   {len(disk_reasons):>9,}")
    print(f"disk-full phase               {'yes, ' + str(args.disk_mb) + ' MB tmpfs' if disk else 'no (not root?)'}")
    balanced = stored["traces"] + kept == books.acknowledged == stored["uniq"] + kept == stored["agent_spans"] + kept
    balanced = balanced and not books.server_errors and not disk_reasons
    print(
        "books balance: acknowledged = stored + kept aside (not for the disk), agent_spans = otel_traces, no 500:",
        "yes" if balanced else "NO",
    )
    sys.exit(0 if balanced else 1)


def _small_disk(path: Path, megabytes: int) -> Path | None:
    """A tmpfs of ``megabytes`` (needs root); None, with a word, when it cannot be had."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0700", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        print(f"no disk-full phase: cannot mount a tmpfs ({done.stderr.decode().strip()})", flush=True)
        return None
    return path


def _fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler"
    size = shutil.disk_usage(disk).free - leave
    with open(filler, "wb") as f, contextlib.suppress(OSError):  # the senders may fill it first
        while size > 0:
            f.write(b"\0" * min(size, 1 << 20))
            f.flush()
            size -= 1 << 20
    return filler


if __name__ == "__main__":
    main()
