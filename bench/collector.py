"""Collector throughput: concurrent OTLP/HTTP senders → collector → embedded ClickHouse.

Prints sustained spans/s end to end (first request sent → all spans written and queryable), request latency
p50/p99, peak RSS of the collector process, how often senders were told to back off (503), and, in the same run,
the rate at which the same rows go straight into ClickHouse (Arrow insert into otel_traces with its views):
the limit the collector is measured against.

    python bench/collector.py [--spans 200000] [--senders 4] [--request-spans 512] [--prompt-bytes 1200] [--overload]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _spans import agent_request
from _store import fresh_store

from agentwatch.collector import Collector
from agentwatch.config import configure
from agentwatch.listen import free_port
from agentwatch.migrate import Migrator
from agentwatch.store import open_store


def _sender(port: int, bodies: list[bytes], latencies, backoffs, start_barrier) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start_barrier.wait()
    for body in bodies:
        while True:
            began = time.perf_counter()
            conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - began)
            if response.status == 200:
                break
            if response.status != 503:
                raise RuntimeError(f"unexpected status {response.status}")
            backoffs.append(1)
            time.sleep(0.05)


def _senders_process(
    port: int, requests: int, request_spans: int, prompt_bytes: int, senders: int, ready, go, out
) -> None:
    """A separate process: builds the requests first, then sends them from ``senders`` threads."""
    rnd = random.Random(7)
    bodies = [agent_request(request_spans, rnd, prompt_bytes) for _ in range(requests)]
    ready.set()
    go.wait()
    latencies: list[float] = []
    backoffs: list[int] = []
    barrier = threading.Barrier(senders)
    threads = [
        threading.Thread(target=_sender, args=(port, bodies[i::senders], latencies, backoffs, barrier))
        for i in range(senders)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((latencies, len(backoffs), sum(len(b) for b in bodies)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--request-spans", type=int, default=512)
    parser.add_argument(
        "--prompt-bytes",
        type=int,
        default=1200,
        help="prompt text on each LLM span (half the spans); 1200 gives FIELD-NOTES' realistic weight of ~1.36 KB "
        "per span (its '2 KB prompts' on half of 10,000 spans made a 13.7 MB request)",
    )
    parser.add_argument("--batch-spans", type=int, help="override AGENTWATCH_BATCH_MAX_SPANS")
    parser.add_argument(
        "--overload", action="store_true", help="a small queue and spool, so senders outrun the store and get 503s"
    )
    args = parser.parse_args()
    requests = args.spans // args.request_spans
    total = requests * args.request_spans
    port = free_port()
    limits = dict(queue_max_spans=20_000, spool_max_bytes=64 << 20) if args.overload else {}
    if args.batch_spans:
        limits["batch_max_spans"] = args.batch_spans
    _, config, store = fresh_store("aw-bench-", collector_http=f"127.0.0.1:{port}", collector_grpc="", **limits)

    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
    senders = ctx.Process(
        target=_senders_process,
        args=(port, requests, args.request_spans, args.prompt_bytes, args.senders, ready, go, out),
    )
    senders.start()

    collector = Collector(config, store)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(collector.start(), loop).result(30)
    ready.wait()
    print(f"{requests} requests of {args.request_spans} spans built; sending from {args.senders} threads", flush=True)
    started = time.perf_counter()
    cpu_started = time.process_time()
    go.set()
    written = lambda: collector.metrics.value("agentwatch_collector_spans_written_total")  # noqa: E731
    while written() < total:
        time.sleep(0.01)
        if not senders.is_alive() and out.empty():
            raise SystemExit("senders died")
    elapsed = time.perf_counter() - started
    cpu_cores = (time.process_time() - cpu_started) / elapsed
    latencies, backoffs, payload_bytes = out.get()
    senders.join()
    queryable = store.query("SELECT count() FROM otel_traces").result_rows[0][0]
    typed = store.query("SELECT count() FROM agent_spans").result_rows[0][0]
    parts = dict(
        store.query(
            "SELECT table, count() FROM system.parts WHERE database = currentDatabase() AND active "
            "AND table IN ('otel_traces', 'agent_spans') GROUP BY table"
        ).result_rows
    )
    asyncio.run_coroutine_threadsafe(collector.stop(), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # the limit: the same rows inserted straight into otel_traces (with its views), in this process
    rows = store.client.query_arrow("SELECT * FROM otel_traces")
    limit_config = configure(store=config.store, database="bench_limit")
    limit_store = open_store(limit_config, create=True)
    Migrator(limit_store, limit_config).apply()
    chunk = 20_000
    began = time.perf_counter()
    for offset in range(0, rows.num_rows, chunk):
        limit_store.insert_arrow("otel_traces", rows.slice(offset, chunk))
    raw_elapsed = time.perf_counter() - began
    raw_rate = rows.num_rows / raw_elapsed

    rate = total / elapsed
    lat = sorted(latencies)
    print(
        f"spans sent                {total:>12,}   ({payload_bytes / 1e6:,.0f} MB of protobuf, "
        f"{payload_bytes / total:,.0f} bytes/span)"
    )
    print(f"spans queryable           {queryable:>12,}   (agent_spans: {typed:,})")
    print(f"end to end                {rate:>12,.0f} spans/s   ({elapsed:.2f} s)")
    print(f"request latency p50       {statistics.median(lat) * 1000:>12.1f} ms")
    print(f"request latency p99       {lat[int(len(lat) * 0.99) - 1] * 1000:>12.1f} ms")
    print(f"503 back-offs             {backoffs:>12,}")
    print(
        f"active parts at the end   {parts.get('otel_traces', 0):>12,}   (agent_spans: {parts.get('agent_spans', 0):,})"
    )
    print(f"collector CPU             {cpu_cores:>12.2f} cores (of {os.cpu_count()})")
    print(f"peak RSS (collector proc) {peak_rss_mb:>12,.0f} MiB")
    print(f"raw insert limit          {raw_rate:>12,.0f} spans/s   (Arrow insert of the same rows, same views)")
    print(f"ratio end to end / limit  {rate / raw_rate:>12.2f}")
    assert queryable == total, "spans were lost"


if __name__ == "__main__":
    main()
