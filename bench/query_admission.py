"""Admission control: ingestion and a light query while heavy queries hammer the query endpoint.

Runs ``agentwatch serve`` (a process, free ports, a fresh embedded store). Measures, in one run:

- the collector's throughput alone (spans/s from the first request sent to the last span written);
- the same while eight clients keep sending ``SELECT count() FROM numbers_mt(1e13)`` with ``max_threads=16`` and
  ``max_execution_time=30`` (the attack of issue 32), and the ratio of the two (the bar: at least 0.5);
- how long a ``SELECT 1`` takes to be answered or refused under that load (the bar: 2 s), and how the heavy queries
  were answered (200, 503 with Retry-After, 408/timeout).

    python bench/query_admission.py [--spans 60000] [--probes 20]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _spans import agent_request

from agentwatch.listen import free_port
from tests.integration.running import start_agentwatch

HEAVY = "SELECT count() FROM numbers_mt(1e13)"


def _post(port: int, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _metric(port: int, name: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        for line in conn.getresponse().read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
    finally:
        conn.close()
    return 0.0


def _query(port: int, sql: str, **settings: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", "/?" + urllib.parse.urlencode({"query": sql, **settings}))
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After") or ""
    except OSError:
        return 0, ""
    finally:
        conn.close()


def ingest(port: int, bodies: list[bytes], spans_each: int) -> float:
    """Spans/s from the first request to the last span written (503s retried, as exporters do)."""
    before = _metric(port, "agentwatch_collector_spans_written_total")
    started = time.perf_counter()
    chunks = [bodies[i::2] for i in range(2)]

    def send(mine: list[bytes]) -> None:
        for body in mine:
            while _post(port, body) != 200:
                time.sleep(0.1)

    senders = [threading.Thread(target=send, args=(c,)) for c in chunks]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    target = before + len(bodies) * spans_each
    while _metric(port, "agentwatch_collector_spans_written_total") < target:
        time.sleep(0.05)
    return len(bodies) * spans_each / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=60_000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--heavy", type=int, default=8)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aw-admission-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWATCH_", "OTEL_"))}
    env.update(AGENTWATCH_STORE=f"chdb://{work / 'store'}", AGENTWATCH_SPOOL_DIR=str(work / "spool"))
    http_port, query_port = free_port(), free_port()
    proc = start_agentwatch("serve", env, http_port, "--query-http", f"127.0.0.1:{query_port}")
    try:
        rnd = random.Random(7)
        per = 200
        bodies = [agent_request(per, rnd, 1200) for _ in range(args.spans // per)]
        ingest(http_port, bodies[:20], per)  # warm up
        idle = ingest(http_port, bodies, per)

        stop = threading.Event()
        answers: Counter[str] = Counter()

        def hammer() -> None:
            while not stop.is_set():
                status, retry = _query(query_port, HEAVY, max_threads="16", max_execution_time="30")
                answers[f"{status}{' Retry-After' if retry else ''}"] += 1
                if status == 503:
                    time.sleep(0.05)

        heavy = [threading.Thread(target=hammer, daemon=True) for _ in range(args.heavy)]
        for thread in heavy:
            thread.start()
        time.sleep(2)
        probes: list[float] = []
        probe_answers: Counter[int] = Counter()
        for _ in range(args.probes):
            started = time.perf_counter()
            status, _ = _query(query_port, "SELECT 1")
            probes.append(time.perf_counter() - started)
            probe_answers[status] += 1
            time.sleep(0.1)
        loaded = ingest(http_port, bodies, per)
        stop.set()
    finally:
        proc.terminate()
        proc.wait(120)
    print(f"ingest alone                    {idle:>10,.0f} spans/s")
    print(f"ingest under {args.heavy} heavy queries      {loaded:>10,.0f} spans/s")
    print(f"ratio (bar: at least 0.50)      {loaded / idle:>10.2f}")
    print(
        f"SELECT 1 under load: median {statistics.median(probes) * 1000:.0f} ms, max {max(probes) * 1000:.0f} ms "
        f"(bar: 2000 ms); answers {dict(probe_answers)}"
    )
    print(f"heavy queries answered          {dict(answers)}")


if __name__ == "__main__":
    main()
