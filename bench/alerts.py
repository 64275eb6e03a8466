"""From a span written to an alert delivered: an agent loops, its spans go through the real OTLP exporter and the
collector, the scheduler runs the rule on its schedule, and a webhook receives the alert.

    python bench/alerts.py [--schedule 10s] [--trials 3]

Prints the delay per trial and as a multiple of the schedule interval (the issue's bound: at most two intervals).
The default rules run every 1-15 minutes; a shorter schedule here measures the same mechanism in seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import threading
import time

from _store import fresh_store
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentwatch.alerts import AlertEngine, Scheduler, parse_rules
from agentwatch.collector import Collector
from agentwatch.config import parse_duration
from agentwatch.listen import free_port
from agentwatch.testing import RecordingServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedule", default="10s")
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    interval = parse_duration(args.schedule)
    hook = RecordingServer("/")
    received = hook.requests  # (arrival time, path, headers, body) of each notification
    port = free_port()
    _, config, store = fresh_store("aw-bench-alerts-", collector_http=f"127.0.0.1:{port}", collector_grpc="")
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    collector = Collector(config, store)
    asyncio.run_coroutine_threadsafe(collector.start(), loop).result(30)
    rules = parse_rules(f"""
channels:
  hook: {{type: webhook, url: "{hook.url}"}}
rules:
  - {{name: loops, detector: runaway_loop, schedule: {args.schedule}, window: 15m, repeat_interval: 24h}}
""")
    scheduler = Scheduler([AlertEngine(store.clone(), rules), AlertEngine(store.clone(), rules)])
    stop = threading.Event()
    threading.Thread(target=scheduler.run, args=(stop, 0.2), daemon=True).start()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces")))
    tracer = provider.get_tracer("bench")
    delays = []
    time.sleep(interval * 0.37)  # start the trials off the schedule's beat
    for trial in range(args.trials):
        seen = len(received)
        session = f"loop-{trial}-{dt.datetime.now().timestamp()}"
        for _ in range(8):
            with tracer.start_as_current_span(
                "execute_tool poll",
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "poll",
                    "gen_ai.conversation.id": session,
                    "agentwatch.tool.arguments.hash": "same",
                },
            ):
                pass
        written = time.monotonic()
        while len(received) == seen:
            time.sleep(0.05)
        delays.append(received[-1].at - written)
        print(
            f"trial {trial + 1}: alert delivered {delays[-1]:.1f} s after the spans were exported "
            f"({delays[-1] / interval:.2f} × the {interval:.0f} s schedule)",
            flush=True,
        )
        time.sleep(interval * 0.61)
    stop.set()
    print(
        f"median {statistics.median(delays):.1f} s, max {max(delays):.1f} s = {max(delays) / interval:.2f} schedule "
        "intervals (bound: 2)"
    )
    asyncio.run_coroutine_threadsafe(collector.stop(), loop).result(60)


if __name__ == "__main__":
    main()
