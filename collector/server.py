"""The collector: OTLP receivers → write-ahead spool → writer thread → ClickHouse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from agentwatch.collector._codec import DecodedRequest, IngestError, TimeWindow, decode_request, encode_response
from agentwatch.collector._grpc import start_grpc
from agentwatch.collector._http import build_app
from agentwatch.collector._insert import OtlpInserter
from agentwatch.collector._metrics import Metrics
from agentwatch.collector._spool import Spool, SpoolFull
from agentwatch.collector._writer import Writer
from agentwatch.config import Config
from agentwatch.errors import ConfigError
from agentwatch.listen import split_address, start_site
from agentwatch.store import Store

__all__ = ["Collector", "run_collector"]

log = logging.getLogger("agentwatch.collector")

_WRITERS = 2  # concurrent inserts; see Writer
_MAX_INFLIGHT_BYTES = 256 << 20  # request bodies held in memory at once; more waits as 503s


class Collector:
    """Receives OTLP over HTTP and gRPC and writes it to the store. ``await start()``, then ``await stop()``."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.metrics = Metrics()
        self.spool = Spool(
            config.spool_dir,
            batch_max_spans=config.batch_max_spans,
            batch_max_age=config.batch_max_age,
            rejected_max_bytes=config.rejected_max_bytes,
        )
        self._extra_stores = [store.clone() for _ in range(_WRITERS - 1)]
        inserters = [OtlpInserter(s, config) for s in (store, *self._extra_stores)]
        self.writer = Writer(self.spool, inserters, self.metrics)
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="agentwatch-decode")
        self.inflight_bytes = 0
        self.retry_after = 1
        self.http_port: int | None = None
        self.grpc_port: int | None = None
        self._runner: web.AppRunner | None = None
        self._grpc: Any = None
        self._accepting = False
        self.health_extra: Any = None  # the hosting server's report of its other parts (agentwatch serve)
        self.metrics.gauge("agentwatch_collector_queue_spans", lambda: self.spool.pending_spans)
        self.metrics.gauge("agentwatch_collector_spool_bytes", lambda: self.spool.pending_bytes)
        self.metrics.gauge("agentwatch_collector_store_up", lambda: 1.0 if self.writer.store_up else 0.0)
        self.metrics.gauge("agentwatch_collector_rejected_bytes", lambda: self.spool.rejected_bytes)

    # -- used by the receivers --------------------------------------------------------------------
    def overloaded(self, incoming: int) -> str:
        """Why a new request must wait (an empty string when it need not)."""
        if not self._accepting:
            return "the collector is shutting down"
        if self.spool.pending_bytes + incoming > self.config.spool_max_bytes:
            self.retry_after = 5
            return "the spool is full (the store is not keeping up or is unavailable); retry later"
        if self.writer.store_up and self.spool.pending_spans > self.config.queue_max_spans:
            self.retry_after = 1
            return "the write queue is full; retry later"
        if self.inflight_bytes + incoming > _MAX_INFLIGHT_BYTES:
            self.retry_after = 1
            return "too many requests in flight; retry later"
        reserve = self.config.spool_min_free_bytes
        if reserve:
            try:
                free = shutil.disk_usage(self.spool.directory).free
            except OSError:
                free = reserve + incoming  # cannot tell: the write itself will say
            if free < reserve + incoming:
                self.retry_after = 5
                return (
                    f"the spool's disk is nearly full ({free} bytes free, {reserve} kept in reserve by "
                    "AGENTWATCH_SPOOL_MIN_FREE_BYTES); retry later"
                )
        return ""

    async def ingest(
        self, body: bytes, content_type: str, content_encoding: str, protocol: str, *, counted: bool = False
    ) -> tuple[bytes, bool]:
        """The one path of an OTLP request, whatever carried it: limits, decoding, the spool, the accounting.
        Returns the response body and whether it is JSON; raises :class:`IngestError` with the HTTP status to
        answer, which each receiver translates (a full spool or disk is a 503 with Retry-After, never a 500).
        ``counted``: the body's bytes are already in ``inflight_bytes`` (the HTTP receiver counts them as they
        arrive)."""
        if not counted:
            self.inflight_bytes += len(body)
        try:
            busy = self.overloaded(0)
            if busy:
                raise IngestError(503, busy, "overloaded")
            loop = asyncio.get_running_loop()
            decoded = await loop.run_in_executor(
                self.executor,
                decode_request,
                body,
                content_type,
                content_encoding,
                self.config.max_request_bytes,
                self.time_window(),
            )
            try:
                await loop.run_in_executor(self.executor, self.accept, decoded, protocol)
            except SpoolFull as exc:
                self.retry_after = 5
                raise IngestError(503, str(exc), "disk_full") from None
        except IngestError as exc:
            self.count_request(protocol, exc.status, reason=exc.reason)
            raise
        finally:
            if not counted:
                self.inflight_bytes -= len(body)
        self.count_request(protocol, 200)
        return encode_response(decoded.json, decoded.rejected, decoded.message), decoded.json

    def time_window(self) -> TimeWindow:
        """Start times the store keeps now: from the retention (less an hour, so a row is not dropped by TTL
        while it waits in the spool) to a day ahead (clocks drift; beyond that a time is wrong)."""
        now = time.time_ns()
        day = 86_400 * 10**9
        return TimeWindow(
            oldest_ns=now - self.config.traces_retention_days * day + day // 24, newest_ns=now + day, now_ns=now
        )

    def accept(self, decoded: DecodedRequest, protocol: str) -> None:
        """Spool an accepted request (runs in the executor: a file append, off the event loop)."""
        self.metrics.inc("agentwatch_collector_spans_received_total", decoded.spans, protocol=protocol)
        if decoded.rejected:
            self.metrics.inc("agentwatch_collector_spans_rejected_total", decoded.rejected, reason="invalid_id")
        if decoded.clamped:
            self.metrics.inc("agentwatch_collector_spans_clamped_total", decoded.clamped)
            log.warning("%s (%s)", decoded.message, protocol)
        if decoded.accepted:
            self.spool.append(decoded.payload, decoded.accepted)

    def count_request(self, protocol: str, code: int, reason: str = "") -> None:
        self.metrics.inc("agentwatch_collector_requests_total", protocol=protocol, code=str(code))
        if reason and code != 200:
            self.metrics.inc("agentwatch_collector_requests_refused_total", protocol=protocol, reason=reason)

    def health(self) -> dict[str, Any]:
        full = self.spool.pending_bytes >= self.config.spool_max_bytes
        status = "unavailable" if full or not self._accepting else "ok" if self.writer.store_up else "degraded"
        deaths = {**self.writer.deaths, **self.writer.dead}
        if deaths:  # a thread that died is never "ok", even while it is being restarted
            status = "failing"
            writer = "; ".join(f"{name} died: {error}" for name, error in sorted(deaths.items()))
            writer += " (gave up)" if self.writer.dead else " (restarting)"
        else:
            writer = "running" if self.writer.is_alive() else "stopped"
        report = {
            "status": status,
            "store": "up" if self.writer.store_up else f"down: {self.writer.last_error}",
            "queue_spans": self.spool.pending_spans,
            "spool_bytes": self.spool.pending_bytes,
            "writer": writer,
        }
        if self.writer.restarts:
            report["writer_restarts"] = self.writer.restarts
        if self.health_extra is not None:
            parts = {k: v for k, v in self.health_extra().items() if k != "collector"}
            report["parts"] = parts
            if any(isinstance(p, dict) and p.get("status") == "degraded" for p in parts.values()) and status == "ok":
                report["status"] = "degraded"
        return report

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        self.writer.start()
        self._accepting = True
        try:
            if self.config.collector_http:
                self._runner = web.AppRunner(build_app(self), access_log=None, auto_decompress=False)  # we inflate
                await self._runner.setup()
                self.http_port = await start_site(self._runner, self.config.collector_http, "AGENTWATCH_COLLECTOR_HTTP")
                host = split_address(self.config.collector_http)[0]
                log.info("OTLP/HTTP on http://%s:%d/v1/traces", host, self.http_port)
            if self.config.collector_grpc:
                self._grpc, self.grpc_port = await start_grpc(self, self.config.collector_grpc)
                log.info("OTLP/gRPC on %s:%d", split_address(self.config.collector_grpc)[0], self.grpc_port)
        except ConfigError:  # an address that cannot be had: undo what started, say which setting
            await self.stop(drain_timeout=0)
            raise

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Stop accepting, write everything spooled (waiting up to ``drain_timeout`` for the store), then stop."""
        self._accepting = False
        if self._grpc is not None:
            await self._grpc.stop(grace=5)
        if self._runner is not None:
            await self._runner.cleanup()
        self.writer.stop(drain_timeout)
        # bounded: an insert under way finishes (chDB cannot be interrupted), then the threads end; what is left
        # stays in the spool for the next start
        await asyncio.get_running_loop().run_in_executor(None, self.writer.join, drain_timeout + 15)
        self.executor.shutdown(wait=True)
        for extra in self._extra_stores:
            extra.close()
        log.info("collector stopped; %d span(s) left in the spool", self.spool.pending_spans)


async def _serve(collector: Collector, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # before the start: a signal during it still stops
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await collector.start()
    await stop.wait()
    log.info("stopping: no new requests; flushing the spool")
    await collector.stop()


def run_collector(config: Config, store: Store) -> None:
    """Run until SIGTERM/SIGINT, then flush and return."""
    asyncio.run(_serve(Collector(config, store), asyncio.Event()))
