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
from agentwatch.query._http import build_app

__all__ = ["QueryEndpoint"]

log = logging.getLogger("agentwatch.query")

_CONCURRENCY = 4  # queries running at once; more wait for a thread
_MAX_QUERY_BYTES = 1 << 20  # request body (the query text), also after decompression


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
            ),
        )
        self.version = self.engine.version
        self.timezone = self.engine.timezone
        self.executor = ThreadPoolExecutor(max_workers=_CONCURRENCY, thread_name_prefix="agentwatch-query")
        self.counts: Counter[str] = Counter()
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    def count(self, outcome: str) -> None:
        self.counts[outcome] += 1

    async def execute(self, request: QueryRequest) -> QueryAnswer:
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.engine.run, request)

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
