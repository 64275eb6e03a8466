"""Real servers for tests: a collector and a query endpoint in this process (each on its own event loop thread,
free ports), and agentwatch commands as subprocesses."""

from __future__ import annotations

import asyncio
import http.client
import threading
import time
import urllib.parse
from collections.abc import Callable

from agentwatch.collector import Collector
from agentwatch.config import Config, configure
from agentwatch.query import QueryEndpoint
from agentwatch.store import Store

from ..conftest import free_port


def collector_config(store: Store, spool_dir, **overrides) -> Config:
    values = dict(
        store=store.dsn.redacted() if not store.dsn.embedded else f"chdb://{store.dsn.path}",
        database=store.database,
        collector_http=f"127.0.0.1:{free_port()}",
        collector_grpc=f"127.0.0.1:{free_port()}",
        spool_dir=str(spool_dir),
        batch_max_age=0.05,
    )
    values.update(overrides)
    return configure(**values)


class _InLoop:
    """An asyncio loop on a thread of its own, for servers the test drives from outside."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class RunningCollector(_InLoop):
    def __init__(self, config: Config, store: Store) -> None:
        super().__init__()
        self.collector = Collector(config, store)

    def __enter__(self) -> RunningCollector:
        self.run(self.collector.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, drain_timeout: float = 30.0) -> None:
        if not self.thread.is_alive():
            return
        self.run(self.collector.stop(drain_timeout), drain_timeout + 30)
        self.close()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.collector.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.collector.grpc_port}"


class RunningEndpoint(_InLoop):
    """agentwatch's query endpoint over ``store``'s database on a free port, and a raw HTTP client for it."""

    def __init__(self, store: Store, **overrides) -> None:
        super().__init__()
        config = configure(
            store=f"chdb://{store.dsn.path}", database=store.database, query_http="127.0.0.1:0", **overrides
        )
        self.endpoint = QueryEndpoint(config, store.dsn.path)
        self.run(self.endpoint.start())
        self.port = self.endpoint.port

    def stop(self) -> None:
        self.run(self.endpoint.stop())
        self.close()

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        return http_request(self.port, method, path, body, headers)

    def get(self, query: str, **params: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", "/?" + urllib.parse.urlencode({"query": query, **params}))

    def post(self, text: str, headers: dict[str, str] | None = None, **params: str):
        path = "/?" + urllib.parse.urlencode(params) if params else "/"
        return self.request("POST", path, text.encode(), headers)


def http_request(
    port: int, method: str, path: str, body: bytes | None = None, headers=None, timeout: float = 60
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to 127.0.0.1:``port``: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def count(store: Store, table: str = "otel_traces") -> int:
    return int(store.query(f"SELECT count() FROM {table}").result_rows[0][0])


def run_agentwatch(env: dict[str, str], *args: str, check: bool = True, timeout: float = 120):
    """``agentwatch <args>`` in a subprocess, as a user runs it; ``check``: a non-zero exit fails with its stderr."""
    import subprocess

    from ..conftest import PYTHON

    proc = subprocess.run([PYTHON, "-m", "agentwatch", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"agentwatch {args} exited {proc.returncode}: {proc.stderr}")
    return proc


def sql_rows(env: dict[str, str], sql: str, *params: str) -> list[dict]:
    """``agentwatch sql <sql> --format json`` (``params``: ``name=value``), as a user runs it: the rows."""
    import json

    args = [arg for param in params for arg in ("--param", param)]
    return json.loads(run_agentwatch(env, "sql", sql, *args, "--format", "json").stdout)


def stop_gracefully(proc, timeout: float = 60) -> None:
    """SIGTERM, as a service manager stops agentwatch: the process must exit cleanly (status 0) within timeout."""
    import signal

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout) == 0


def start_agentwatch(command: str, env: dict[str, str], port: int, *args: str, log=None, cwd=None):
    """``agentwatch <command>`` (collector or serve) in a subprocess on ``port``, returned once /healthz answers."""
    import subprocess
    import urllib.request

    from ..conftest import PYTHON

    if command == "serve" and "--query-http" not in args:
        args = (*args, "--query-http", "")  # never the default 8123 a developer's serve may hold
    proc = subprocess.Popen(
        [PYTHON, "-m", "agentwatch", command, "--http", f"127.0.0.1:{port}", "--grpc", "", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log or subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"agentwatch {command} exited: {proc.stderr.read()}") from None
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"agentwatch {command} did not start")


def run_into_store(
    store: Store, spool_dir, run: Callable[[], object], *, service: str, until: str, at_least: int
) -> None:
    """``run`` instrumented by agentwatch, its spans exported over OTLP/HTTP to a real collector writing ``store``;
    returns once ``agent_spans WHERE {until}`` counts ``at_least`` rows."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    import agentwatch

    with RunningCollector(collector_config(store, spool_dir), store) as rc:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        agentwatch.instrument(endpoint=rc.http_url, tracer_provider=provider)
        try:
            run()
        finally:
            agentwatch.shutdown()
        wait_for(lambda: count(store, f"agent_spans WHERE {until}") >= at_least, what=f"spans where {until}")
