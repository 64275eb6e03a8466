"""Ingest and query, agentwatch beside Arize Phoenix: the same OTLP/HTTP protobuf load into ``agentwatch serve``
(embedded ClickHouse) and into ``phoenix serve`` (its default SQLite store), each alone on the machine in turn.

For each: seconds to start (the median of ``--starts`` starts, the two servers taking turns, each on a new store);
spans/s from the first request sent until every span is queryable (counted through its query interface: ClickHouse SQL on serve's read-only endpoint; Phoenix's GraphQL ``recordCount``); the peak
RSS of the server's processes; and, once the server has gone idle after the load, the median time of three
questions through each one's query interface (agentwatch: the shipped ``session_timeline`` query and two ad-hoc SQL statements through ``clickhouse-connect``;
Phoenix: its Python client), each answer checked against what was sent.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import clickhouse_connect
from _spans import agent_request
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentwatch.listen import free_port
from agentwatch.sqlfiles import load_sql

HERE = Path(__file__).resolve().parent
logging.getLogger("clickhouse_connect").setLevel(logging.CRITICAL)  # its errors while serve starts up are expected
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5")


@dataclass
class Expected:
    """What the load holds, worked out from the requests themselves."""

    spans: int
    session: str
    session_spans: list[str]  # what each step was about, in order: the tool's or the model's name
    tokens: dict[str, int]
    slowest_ms: list[float]


def about(span_name: str) -> str:
    """``chat gpt-4o`` → ``gpt-4o``, ``execute_tool search`` → ``search``: what agentwatch's timeline shows."""
    return span_name.split(" ", 1)[1]


def build(spans: int, request_spans: int, prompt_bytes: int) -> tuple[list[bytes], Expected]:
    rnd = random.Random(11)
    bodies = [
        agent_request(request_spans, rnd, prompt_bytes, models=MODELS, openinference=True, session_traces=True)
        for _ in range(spans // request_spans)
    ]
    sessions: dict[str, list[tuple[int, str]]] = defaultdict(list)
    tokens: Counter = Counter()
    tool_ms: list[float] = []
    for body in bodies:
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attrs = {kv.key: kv.value for kv in span.attributes}
                    sessions[attrs["session.id"].string_value].append((span.start_time_unix_nano, span.name))
                    if "llm.model_name" in attrs:
                        tokens[attrs["llm.model_name"].string_value] += attrs["llm.token_count.total"].int_value
                    else:
                        tool_ms.append((span.end_time_unix_nano - span.start_time_unix_nano) / 1e6)
    session = max(sessions, key=lambda s: len(sessions[s]))  # the longest: a session worth looking at
    return bodies, Expected(
        spans=len(bodies) * request_spans,
        session=session,
        session_spans=[about(name) for _, name in sorted(sessions[session])],
        tokens=dict(tokens),
        slowest_ms=sorted(tool_ms, reverse=True)[:10],
    )


def send(port: int, path: str, bodies: list[bytes], senders: int) -> int:
    """POST every body from ``senders`` threads over kept-alive connections; 503 means back off and retry.
    Returns how many back-offs there were."""
    backoffs = [0]

    def sender(mine: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for body in mine:
            while True:
                conn.request("POST", path, body, {"Content-Type": "application/x-protobuf"})
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    break
                if response.status not in (429, 503):
                    raise SystemExit(f"{path} on :{port} answered {response.status}")
                backoffs[0] += 1
                time.sleep(0.05)

    threads = [threading.Thread(target=sender, args=(bodies[i::senders],)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return backoffs[0]


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (a server's workers count as the server)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def peak_rss_mib(pid: int) -> float:
    """Sum of the high-water RSS of a process and its descendants (read before they exit)."""
    total = 0
    for current in process_tree(pid):
        try:
            for line in (Path("/proc") / str(current) / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its descendants have used so far."""
    ticks = 0
    for current in process_tree(pid):
        try:
            fields = (Path("/proc") / str(current) / "stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(pid: int, *, idle: float = 0.05, window: float = 1.0, limit: float = 60.0) -> float:
    """Wait until the server is idle (under ``idle`` of a core over ``window`` seconds: merges, indexing and
    write-behind done), at most ``limit`` seconds; returns the seconds waited. Questions are then asked of a server
    at rest, as a user would after a load, and work left from the load is not charged to the first question."""
    began = time.perf_counter()
    used = cpu_seconds(pid)
    while time.perf_counter() - began < limit:
        time.sleep(window)
        now = cpu_seconds(pid)
        if now - used < idle * window:
            break
        used = now
    return time.perf_counter() - began


def wait_until(what: str, ready: Callable[[], bool], timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what}: the server exited with {proc.returncode}")
        try:
            if ready():
                return
        except Exception:  # not up yet: refused, reset, 5xx
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what}: not within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Result:
    name: str
    version: str
    start_s: float
    spans_per_s: float
    backoffs: int
    rss_mib: float
    query_ms: dict[str, float]
    checks: dict[str, bool]
    settled_s: float  # waited after the load for the server to go idle, before the questions


def check(expected: Expected, session: list[str], tokens: dict[str, int], slowest: list[float]) -> dict[str, bool]:
    return {
        "session": session == expected.session_spans,
        "tokens": tokens == expected.tokens,
        "slowest": [round(ms) for ms in slowest] == [round(ms) for ms in expected.slowest_ms],
    }


@dataclass
class Server:
    proc: subprocess.Popen
    port: int  # where it takes OTLP/HTTP
    start_s: float  # from launch until it answered
    client: Any = None  # agentwatch: a clickhouse-connect client on serve's query endpoint
    url: str = ""  # Phoenix: its HTTP root


@contextmanager
def serving(
    what: str, command: list[str], env: dict[str, str], log_path: Path, ready: Callable[[], Any], timeout: float
) -> Iterator[tuple[subprocess.Popen, float]]:
    """Launch ``command``, wait until ``ready()`` holds, yield (process, seconds to start); always stop it after."""
    with log_path.open("w") as log:
        began = time.perf_counter()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_until(what, ready, timeout, proc)
            yield proc, time.perf_counter() - began
        finally:
            stop(proc)


@contextmanager
def agentwatch_serve(work: Path) -> Iterator[Server]:
    """``agentwatch serve`` on a new embedded store under ``work``, up and answering SQL."""
    otlp, query = free_port(), free_port()
    work.mkdir(parents=True, exist_ok=True)
    client: list[Any] = []

    def up() -> bool:
        if not client:
            client.append(clickhouse_connect.get_client(host="127.0.0.1", port=query))
        http.client.HTTPConnection("127.0.0.1", otlp, timeout=1).connect()
        return client[0].query("SELECT 1").result_rows == [(1,)]

    command = [
        sys.executable,
        "-m",
        "agentwatch",
        "serve",
        "--http",
        f"127.0.0.1:{otlp}",
        "--grpc",
        "",
        "--query-http",
        f"127.0.0.1:{query}",
        "--no-evaluator",
        "--no-alerts",
        "--store",
        f"chdb://{work / 'aw-store'}",
        "--spool-dir",
        str(work / "aw-spool"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWATCH_", "OTEL_"))}
    with serving("agentwatch serve", command, env, work / "agentwatch-serve.log", up, 120) as (proc, start_s):
        yield Server(proc, otlp, start_s, client=client[0])


@contextmanager
def phoenix_serve(python: Path, work: Path) -> Iterator[Server]:
    """``phoenix serve`` with its default SQLite store under ``work``, healthy."""
    port = free_port()
    home = work / "phoenix"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "OTEL_"))}
    env.update(
        PHOENIX_HOST="127.0.0.1",
        PHOENIX_PORT=str(port),
        PHOENIX_GRPC_PORT=str(free_port()),
        PHOENIX_WORKING_DIR=str(home),
        PHOENIX_TELEMETRY_ENABLED="false",
    )
    url = f"http://127.0.0.1:{port}"
    healthy = lambda: urllib.request.urlopen(f"{url}/healthz", timeout=2).status == 200  # noqa: E731
    command = [str(python.parent / "phoenix"), "serve"]
    with serving("phoenix serve", command, env, work / "phoenix-serve.log", healthy, 180) as (proc, start_s):
        yield Server(proc, port, start_s, url=url)


def extra_starts(phoenix_python: Path, work: Path, times: int) -> tuple[list[float], list[float]]:
    """Extra starts of each server, interleaved, each on a new store and stopped once up: a start is one wall-clock
    sample on a machine whose speed varies several-fold, so the table reports a median."""
    mine, peer = [], []
    for n in range(times):
        with agentwatch_serve(work / f"start-aw-{n}") as server:
            mine.append(server.start_s)
        with phoenix_serve(phoenix_python, work / f"start-phoenix-{n}") as server:
            peer.append(server.start_s)
    return mine, peer


def load(
    server: Server, bodies: list[bytes], expected: Expected, count: Callable[[], int], senders: int, name: str
) -> tuple[float, int, float, float]:
    """The same load for each server: every request sent (backing off on 503/429) until all its spans are
    queryable; (spans/s, back-offs, peak RSS in MiB, seconds until the server went idle)."""
    began = time.perf_counter()
    backoffs = send(server.port, "/v1/traces", bodies, senders)
    wait_until(f"all spans queryable in {name}", lambda: count() >= expected.spans, 600, server.proc)
    rate = expected.spans / (time.perf_counter() - began)
    return rate, backoffs, peak_rss_mib(server.proc.pid), settle(server.proc.pid)


def run_agentwatch(bodies: list[bytes], expected: Expected, work: Path, args: argparse.Namespace) -> Result:
    from agentwatch import __version__

    with agentwatch_serve(work / "aw") as server:
        ch = server.client
        count = lambda: ch.query("SELECT count() FROM otel_traces").result_rows[0][0]  # noqa: E731
        rate, backoffs, rss, settled = load(server, bodies, expected, count, args.senders, "agentwatch")

        timeline = load_sql("queries/session_timeline").body
        questions = {
            "session": lambda: [
                row["what"] for row in ch.query(timeline, parameters={"session": expected.session}).named_results()
            ],
            "tokens": lambda: dict(
                ch.query(
                    "SELECT RequestModel, sum(InputTokens + OutputTokens) FROM agent_spans "
                    "WHERE Operation = 'chat' AND Timestamp >= now() - INTERVAL 1 HOUR GROUP BY RequestModel"
                ).result_rows
            ),
            "slowest": lambda: [
                r[1]
                for r in ch.query(
                    "SELECT ToolName, Duration / 1e6 AS ms FROM agent_spans WHERE Operation = 'execute_tool' "
                    "ORDER BY Duration DESC LIMIT 10"
                ).result_rows
            ],
        }
        times, answers = timed(questions, args.query_repeats)
        return Result(
            "agentwatch serve",
            __version__,
            server.start_s,
            rate,
            backoffs,
            rss,
            times,
            check(expected, **answers),
            settled,
        )


def timed(questions: dict[str, Callable[[], Any]], repeats: int) -> tuple[dict[str, float], dict[str, Any]]:
    times, answers = {}, {}
    for name, ask in questions.items():
        samples = []
        for _ in range(repeats):
            began = time.perf_counter()
            answers[name] = ask()
            samples.append((time.perf_counter() - began) * 1000)
        times[name] = statistics.median(samples)
    return times, answers


def run_phoenix(python: Path, bodies: list[bytes], expected: Expected, work: Path, args: argparse.Namespace) -> Result:
    with phoenix_serve(python, work / "phoenix-run") as server:
        url = server.url

        def count() -> int:
            request = urllib.request.Request(
                f"{url}/graphql",
                json.dumps({"query": "{ projects { edges { node { name recordCount } } } }"}).encode(),
                {"Content-Type": "application/json"},
            )
            data = json.load(urllib.request.urlopen(request, timeout=30))["data"]["projects"]["edges"]
            return sum(edge["node"]["recordCount"] for edge in data)

        rate, backoffs, rss, settled = load(server, bodies, expected, count, args.senders, "Phoenix")
        out = subprocess.run(
            [str(python), str(HERE / "_phoenix_client.py"), url, expected.session, str(args.query_repeats)],
            capture_output=True,
            text=True,
            check=True,
        )
        got = json.loads(out.stdout.strip().splitlines()[-1])
        version = subprocess.run(
            [str(python), "-c", "import phoenix; print(phoenix.__version__)"], capture_output=True, text=True
        ).stdout.strip()
        answers = {
            "session": [about(name) for name in got["session"]["answer"]],
            "tokens": got["tokens"]["answer"],
            "slowest": [ms for _, ms in got["slowest"]["answer"]],
        }
        times = {name: got[name]["ms"] for name in answers}
        return Result(
            "phoenix serve", version, server.start_s, rate, backoffs, rss, times, check(expected, **answers), settled
        )


def ingest(phoenix_python: Path, root: Path, args: argparse.Namespace) -> None:
    bodies, expected = build(args.ingest_spans, args.request_spans, args.prompt_bytes)
    size = sum(map(len, bodies))
    print(
        f"\nIngest and query: {expected.spans:,} spans in {len(bodies)} OTLP/HTTP protobuf requests "
        f"({size / 1e6:.0f} MB, {size / expected.spans:,.0f} bytes/span) from {args.senders} senders; "
        f"queries: median of {args.query_repeats}; start: median of {args.starts}, interleaved, each on a new store",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="aw-peers-ingest-") as tmp:
        work = Path(tmp)
        starts = extra_starts(phoenix_python, work, args.starts - 1)
        results = [
            run_agentwatch(bodies, expected, work, args),
            run_phoenix(phoenix_python, bodies, expected, work, args),
        ]
    mine, peer = results
    mine.start_s = statistics.median([*starts[0], mine.start_s])
    peer.start_s = statistics.median([*starts[1], peer.start_s])
    rows = [
        ("start, s", lambda r: r.start_s, "{:.1f}"),
        ("spans/s until queryable", lambda r: r.spans_per_s, "{:,.0f}"),
        ("peak RSS, MiB", lambda r: r.rss_mib, "{:,.0f}"),
        ("a session's spans in order, ms", lambda r: r.query_ms["session"], "{:.1f}"),
        ("tokens per model, last hour, ms", lambda r: r.query_ms["tokens"], "{:.1f}"),
        ("10 slowest tool calls, ms", lambda r: r.query_ms["slowest"], "{:.1f}"),
    ]
    head = f"{'':<34}{mine.name + ' ' + mine.version:>24}{peer.name + ' ' + peer.version:>24}{'aw ÷ peer':>11}"
    print(head)
    print("-" * len(head))
    for label, get, fmt in rows:
        print(f"{label:<34}{fmt.format(get(mine)):>24}{fmt.format(get(peer)):>24}{get(mine) / get(peer):>10.2f}×")
    print(f"{'503/429 back-offs':<34}{mine.backoffs:>24}{peer.backoffs:>24}")
    print(f"{'idle after the load, s':<34}{mine.settled_s:>24.1f}{peer.settled_s:>24.1f}")
    for result in results:
        wrong = [name for name, ok in result.checks.items() if not ok]
        print(f"{result.name}: answers {'all match what was sent' if not wrong else 'WRONG for ' + ', '.join(wrong)}")
