"""What the query endpoint costs on top of the engine: the same queries straight through chDB in this process
(the baseline) and through ``agentwatch serve``'s ClickHouse HTTP endpoint with a keep-alive HTTP client, as a
Grafana panel would send them. Prints medians and the ratio.

    python bench/query.py [--spans 200000] [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import statistics
import tempfile
import threading
import time
import urllib.parse

QUERIES = {
    "point (count)": "SELECT count() FROM agent_spans",
    "panel (time series)": (
        "SELECT toStartOfInterval(Timestamp, INTERVAL 60 second) AS time, Operation, count() AS n "
        "FROM agent_spans GROUP BY time, Operation ORDER BY time"
    ),
    "table (top tools)": (
        "SELECT ToolName, count() AS calls, quantile(0.95)(Duration) AS p95 FROM agent_spans "
        "WHERE Operation = 'execute_tool' GROUP BY ToolName ORDER BY calls DESC LIMIT 20"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    import chdb

    from agentwatch.config import configure
    from agentwatch.migrate import Migrator
    from agentwatch.query import QueryEndpoint
    from agentwatch.store import open_store

    path = tempfile.mkdtemp(prefix="agentwatch-bench-query-")
    config = configure(store=f"chdb://{path}", query_http="127.0.0.1:0")
    store = open_store(config, create=True)
    Migrator(store, config).apply()
    start = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=1)
    store.command(
        "INSERT INTO agent_spans (Timestamp, TraceId, SpanId, Operation, ToolName, AgentName, Duration) "
        "SELECT {start:DateTime64(9)} + toIntervalMillisecond(number * 10), hex(intDiv(number, 10)), hex(number), "
        "['chat', 'execute_tool', 'invoke_agent'][number % 3 + 1], concat('tool-', toString(number % 17)), "
        "concat('agent-', toString(number % 5)), 1000000 + number % 5000000 FROM numbers({n:UInt64})",
        {"start": start, "n": args.spans},
    )
    loop = asyncio.new_event_loop()
    endpoint = QueryEndpoint(config, path)
    loop.run_until_complete(endpoint.start())
    threading.Thread(target=loop.run_forever, daemon=True).start()
    direct = chdb.connect(path)
    direct.query(f"USE {config.database}")
    client = http.client.HTTPConnection("127.0.0.1", endpoint.port)

    def through_endpoint(sql: str) -> bytes:
        client.request("POST", "/?" + urllib.parse.urlencode({"default_format": "JSONCompact"}), sql.encode())
        response = client.getresponse()
        body = response.read()
        assert response.status == 200, body
        return body

    print(f"{args.spans:,} rows in agent_spans; {args.rounds} rounds per query; medians")
    print(f"{'query':<22}{'chDB direct':>14}{'endpoint':>12}{'ratio':>8}{'overhead':>11}")
    for name, sql in QUERIES.items():
        timings: dict[str, list[float]] = {"direct": [], "endpoint": []}
        for _ in range(args.rounds):  # interleaved, so drift hits both sides alike
            t = time.perf_counter()
            direct.query(sql, "JSONCompact").bytes()
            timings["direct"].append(time.perf_counter() - t)
            t = time.perf_counter()
            through_endpoint(sql)
            timings["endpoint"].append(time.perf_counter() - t)
        a, b = statistics.median(timings["direct"]), statistics.median(timings["endpoint"])
        print(f"{name:<22}{a * 1e3:>11.2f} ms{b * 1e3:>9.2f} ms{b / a:>7.2f}x{(b - a) * 1e3:>8.2f} ms")
    client.close()
    direct.close()
    asyncio.run_coroutine_threadsafe(endpoint.stop(), loop).result(30)
    store.close()


if __name__ == "__main__":
    main()
