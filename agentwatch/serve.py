"""``agentwatch serve`` / ``agentwatch worker``: the whole pipeline in one process.

serve = the collector (OTLP HTTP + gRPC) + the evaluator loop + the alert scheduler (which runs the detectors) +
the ClickHouse HTTP query endpoint (read-only, for Grafana and SQL), on the embedded store by default. worker = the
same without the collector and the endpoint, for deployments where the OpenTelemetry Collector writes into a
ClickHouse server; several workers share the evaluations by trace-id shard.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
import signal
import threading
from dataclasses import dataclass
from typing import Any

from agentwatch.alerts import AlertEngine, RuleSet, Scheduler, load_rules
from agentwatch.config import Config
from agentwatch.errors import ConfigError
from agentwatch.evaluators import evaluate, make_judge
from agentwatch.migrate import Migrator
from agentwatch.store import Store, open_store

__all__ = ["Parts", "Server", "run_server", "shard_rules"]

log = logging.getLogger("agentwatch.serve")


@dataclass(frozen=True)
class Parts:
    collector: bool = True
    evaluator: bool = True
    alerts: bool = True
    query: bool = True
    evaluate_every: float = 10.0
    evaluate_since: float = 3600.0
    shard: int = 0
    shards: int = 1


def shard_rules(ruleset: RuleSet, shard: int, shards: int) -> RuleSet:
    """This worker's share of the alert rules (a stable hash of each rule's name), so several workers on one store
    run every rule exactly once between them."""
    if shards <= 1:
        return ruleset
    mine = tuple(r for r in ruleset.rules if int(hashlib.sha256(r.name.encode()).hexdigest(), 16) % shards == shard)
    return dataclasses.replace(ruleset, rules=mine)


class Server:
    """Hosts the store and the parts; ``await start()``, then ``await stop()`` (flush, then stop)."""

    def __init__(
        self, config: Config, parts: Parts = Parts(), ruleset: RuleSet | None = None, store: Store | None = None
    ) -> None:
        self.config = config
        self.parts = parts
        self.ruleset = ruleset
        self.store = store
        self.collector: Any = None
        self.scheduler: Scheduler | None = None
        self.query: Any = None
        self.control: Any = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: list[Store] = []
        self.evaluator_state: dict[str, Any] = {"status": "off", "last_run": None, "last_error": "", "answers": 0}

    def health(self, *, collector: bool = True) -> dict[str, Any]:
        """Each part's health (the collector's /healthz shows the others under ``parts``)."""
        report: dict[str, Any] = {"store": self.store.dsn.redacted() if self.store else "closed"}
        if collector and self.collector is not None:
            report["collector"] = self.collector.health()
        report["evaluator"] = dict(self.evaluator_state)
        if self.scheduler is not None:
            errors = {name: o.error for name, o in self.scheduler.last.items() if o.error}
            report["alerts"] = {
                "status": "degraded" if errors else "ok",
                "rules": len(self.scheduler.rules),
                "errors": errors,
            }
        else:
            report["alerts"] = {"status": "off"}
        if self.query is not None:
            report["query"] = {"status": "ok", "port": self.query.port, "requests": dict(self.query.counts)}
        return report

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.store is None:
            self.store = await loop.run_in_executor(None, lambda: open_store(self.config, create=True))
        await loop.run_in_executor(None, Migrator(self.opened, self.config).apply)
        if self.parts.evaluator or self.parts.alerts or self.parts.collector:
            await loop.run_in_executor(None, self._check_writable)
        try:
            await self._start_listeners()
            # the commands that write reach the store through serve while it holds it (unless switched off)
            if self.opened.dsn.embedded and self.config.control_http:
                from agentwatch.control import ControlServer
                from agentwatch.listen import local_url

                self.control = ControlServer(self.opened)
                query_url = local_url(self.config.query_http, self.query.port) if self.query is not None else None
                await self.control.start(query_url, self.config.control_http)
        except BaseException:  # an address that cannot be had: stop what started, then say why
            await self.stop()
            raise
        if self.parts.evaluator:
            self.evaluator_state["status"] = "starting"
            self._spawn("agentwatch-evaluator", self._evaluate_loop)
        if self.parts.alerts:
            ruleset = shard_rules(self.ruleset or load_rules(), self.parts.shard, self.parts.shards)
            engines = [AlertEngine(self._client(), ruleset), AlertEngine(self._client(), ruleset)]
            self.scheduler = Scheduler(engines)
            self._spawn("agentwatch-scheduler", lambda: self.scheduler.run(self._stop, 0.5))
        running = [p for p in ("collector", "evaluator", "alerts") if getattr(self.parts, p)]
        log.info("agentwatch serving: %s", ", ".join(running + (["query"] if self.query else [])))

    @property
    def opened(self) -> Store:
        """The store, once ``start()`` has opened it."""
        if self.store is None:
            raise RuntimeError("agentwatch serve has not opened its store yet")
        return self.store

    async def _start_listeners(self) -> None:
        """The query endpoint first (a ClickHouse server on 8123 is the likeliest clash), then the collector."""
        if self.parts.query and self.config.query_http:
            if self.opened.dsn.embedded:
                from agentwatch.query import QueryEndpoint

                query = QueryEndpoint(self.config, self.opened.dsn.path)
                await query.start()
                self.query = query
            else:
                log.info("query endpoint off: the store is a ClickHouse server; point Grafana and SQL clients at it")
        if self.parts.collector:
            from agentwatch.collector import Collector

            collector = Collector(self.config, self.opened)
            collector.health_extra = lambda: self.health(collector=False)
            await collector.start()
            self.collector = collector

    def _check_writable(self) -> None:
        """A store this process may only read (serve's query endpoint, a read-only user) is refused at start:
        the evaluator and the alert rules would fail on every run while the process looked alive."""
        readonly = self.opened.query("SELECT getSetting('readonly')").result_rows[0][0]
        if str(readonly) not in ("0", ""):
            raise ConfigError(
                "AGENTWATCH_STORE",
                f"{self.opened.dsn.redacted()} is read-only (readonly={readonly}): the collector, evaluator and alert "
                "rules write. Is it agentwatch serve's query endpoint? While serve runs it already evaluates and "
                "alerts; point a worker at a ClickHouse server it can write to",
            )

    def _client(self) -> Store:
        client = self.opened.clone()
        self._clients.append(client)
        return client

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _evaluate_loop(self) -> None:
        store = self._client()
        judge = make_judge(self.config)
        while not self._stop.is_set():
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            try:
                stats = evaluate(
                    store,
                    judge,
                    since=now - dt.timedelta(seconds=self.parts.evaluate_since),
                    until=now,
                    shard=self.parts.shard,
                    shards=self.parts.shards,
                )
                self.evaluator_state.update(
                    status="ok",
                    last_run=now.isoformat(),
                    last_error="",
                    answers=self.evaluator_state["answers"] + stats.answers,
                )
            except Exception as exc:  # recorded and retried on the next turn
                self.evaluator_state.update(status="degraded", last_error=str(exc))
                log.error("evaluator run failed: %s", exc)
            self._stop.wait(self.parts.evaluate_every)

    async def stop(self) -> None:
        if self.control is not None:
            await self.control.stop()
        if self.query is not None:
            await self.query.stop()
        if self.collector is not None:
            await self.collector.stop()
        self._stop.set()
        loop = asyncio.get_running_loop()
        for thread in self._threads:
            await loop.run_in_executor(None, thread.join, 30)
        for client in self._clients:
            client.close()
        log.info("agentwatch stopped")


async def _serve(server: Server, ready: Any = None) -> None:
    """Start, serve until SIGTERM/SIGINT, stop. A signal while it is still starting (opening the store, replaying
    the spool) stops it too: the start is abandoned, what started is stopped."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    starting = asyncio.ensure_future(server.start())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        log.info("stopping before the start finished")
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await starting
    else:
        starting.result()  # a start that failed says why
        if ready is not None:
            ready(server)
        await stopping
    await server.stop()


def run_server(config: Config, parts: Parts, ruleset: RuleSet | None = None, ready: Any = None) -> None:
    """Run until SIGTERM/SIGINT, then stop accepting, flush and stop."""
    asyncio.run(_serve(Server(config, parts, ruleset), ready))
