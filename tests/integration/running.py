"""Run a real collector in this process (its own event loop thread, free ports) for tests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from agentwatch.collector import Collector
from agentwatch.config import Config, configure
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


class RunningCollector:
    def __init__(self, config: Config, store: Store) -> None:
        self.collector = Collector(config, store)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> RunningCollector:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.collector.start(), self.loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, drain_timeout: float = 30.0) -> None:
        if not self.thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.collector.stop(drain_timeout), self.loop).result(drain_timeout + 30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.collector.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.collector.grpc_port}"


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def count(store: Store, table: str = "otel_traces") -> int:
    return int(store.query(f"SELECT count() FROM {table}").result_rows[0][0])


def start_agentwatch(command: str, env: dict[str, str], port: int, *args: str, log=None):
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
