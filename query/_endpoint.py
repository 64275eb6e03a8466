"""The query endpoint's lifecycle: the HTTP site, the thread pool queries run in, counters for ``/metrics``."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from agentwatch.config import Config
from agentwatch.errors import ConfigError
from agentwatch.listen import split_address, start_site
from agentwatch.query._engine import Limits, QueryAnswer, QueryRequest, ReadOnlyEngine
from agentwatch.query._errors import ClickHouseError
from agentwatch.query._http import build_app

__all__ = ["QueryEndpoint"]

log = logging.getLogger("agentwatch.query")

_MAX_QUERY_BYTES = 1 << 20  # request body (the query text), also after decompression


def _busy(why: str) -> ClickHouseError:
    return ClickHouseError(
        202, "TOO_MANY_SIMULTANEOUS_QUERIES", f"Too many simultaneous queries: {why}; retry later", retry_after=1
    )


class QueryEndpoint:
    """ClickHouse's HTTP interface over the embedded store at ``store_path``, read-only. ``await start()``, then
    ``await stop()``; ``port`` is the bound port (useful with port 0)."""

    def __init__(self, config: Config, store_path: str) -> None:
        if not config.query_http:
            raise ConfigError("AGENTWATCH_QUERY_HTTP", "is empty: the query endpoint is switched off")
        self.config = config
        self.user = config.query_user
        self.password = config.query_password
        self.database = config.database
        self.allowed_origins = frozenset(o.strip().rstrip("/") for o in config.query_origins.split(",") if o.strip())
        self.max_query_bytes = _MAX_QUERY_BYTES
        self.engine = ReadOnlyEngine(
            store_path,
            Limits(
                max_result_rows=config.query_max_result_rows,
                max_result_bytes=config.query_max_result_bytes,
                max_execution_time=config.query_timeout,
                max_memory_usage=config.query_max_memory,
                max_threads=config.query_threads,
            ),
        )
        self.version = self.engine.version
        self.timezone = self.engine.timezone
        self.executor = ThreadPoolExecutor(max_workers=config.query_concurrency, thread_name_prefix="agentwatch-query")
        self._turns: asyncio.Semaphore | None = None  # made on the serving loop
        self._waiting = 0
        self.counts: Counter[str] = Counter()
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    def count(self, outcome: str) -> None:
        self.counts[outcome] += 1

    async def execute(self, request: QueryRequest) -> QueryAnswer:
        """Run a query when it has a turn: at most ``query_concurrency`` at once, each on at most ``query_threads``
        threads, so heavy queries cannot take the engine from ingestion. A query that finds the queue full, or waits
        longer than ``query_queue_timeout``, is answered 503 (TOO_MANY_SIMULTANEOUS_QUERIES) with Retry-After."""
        if self._turns is None:
            self._turns = asyncio.Semaphore(self.config.query_concurrency)
        if self._waiting >= self.config.query_queue and self._turns.locked():
            raise _busy(f"{self._waiting} queries are waiting already (AGENTWATCH_QUERY_QUEUE)")
        self._waiting += 1
        try:
            await asyncio.wait_for(self._turns.acquire(), self.config.query_queue_timeout)
        except asyncio.TimeoutError:
            raise _busy(
                f"no turn within {self.config.query_queue_timeout:g} s (AGENTWATCH_QUERY_QUEUE_TIMEOUT)"
            ) from None
        finally:
            self._waiting -= 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, self.engine.run, request)
        finally:
            self._turns.release()

    async def start(self) -> None:
        self._runner = web.AppRunner(build_app(self), access_log=None, auto_decompress=False)
        await self._runner.setup()
        try:
            self.port = await start_site(self._runner, self.config.query_http, "AGENTWATCH_QUERY_HTTP")
        except ConfigError:
            await self.stop()
            raise
        host = split_address(self.config.query_http)[0]
        log.info("ClickHouse HTTP query endpoint (read-only) on http://%s:%d", host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.executor.shutdown(wait=True, cancel_futures=True)
