"""OTLP/HTTP receiver (``POST /v1/traces``) plus ``/healthz`` and ``/metrics``, on aiohttp."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from agentwatch.auth import bearer_matches
from agentwatch.collector._codec import JSON, PROTOBUF, IngestError, decode_request, encode_response, status_body

if TYPE_CHECKING:
    from agentwatch.collector.server import Collector

__all__ = ["build_app"]


def _wants_json(request: web.Request) -> bool:
    return request.content_type == JSON


def _error(request: web.Request, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    as_json = _wants_json(request)
    return web.Response(
        status=status,
        body=status_body(as_json, status, message),
        headers=headers,
        content_type=JSON if as_json else PROTOBUF,
    )


def build_app(collector: Collector) -> web.Application:
    config = collector.config
    token = config.ingest_token

    async def traces(request: web.Request) -> web.Response:
        protocol = "http"
        if token and not bearer_matches(request.headers.get("Authorization", ""), token):
            collector.count_request(protocol, 401)
            return _error(request, 401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        length = request.content_length
        if length is not None and length > config.max_request_bytes:
            collector.count_request(protocol, 413, reason="too_large")
            return _error(request, 413, f"request body exceeds {config.max_request_bytes} bytes")
        busy = collector.overloaded(length or 0)
        if busy:
            collector.count_request(protocol, 503, reason="overloaded")
            return _error(request, 503, busy, {"Retry-After": str(collector.retry_after)})
        collector.inflight_bytes += length or 0
        try:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                collector.count_request(protocol, 413, reason="too_large")
                return _error(request, 413, f"request body exceeds {config.max_request_bytes} bytes")
            loop = asyncio.get_running_loop()
            try:
                decoded = await loop.run_in_executor(
                    collector.executor,
                    decode_request,
                    body,
                    request.headers.get("Content-Type", ""),
                    request.headers.get("Content-Encoding", ""),
                    config.max_request_bytes,
                )
            except IngestError as exc:
                collector.count_request(protocol, exc.status, reason=exc.reason)
                return _error(request, exc.status, str(exc))
            await loop.run_in_executor(collector.executor, collector.accept, decoded, protocol)
            message = "spans with an invalid trace or span id were rejected" if decoded.rejected else ""
            collector.count_request(protocol, 200)
            return web.Response(
                body=encode_response(decoded.json, decoded.rejected, message),
                content_type=JSON if decoded.json else PROTOBUF,
            )
        finally:
            collector.inflight_bytes -= length or 0

    async def not_supported(request: web.Request) -> web.Response:
        return _error(
            request,
            404,
            f"{request.path} is not supported by agentwatch yet: it receives traces only (POST /v1/traces)",
        )

    async def health(request: web.Request) -> web.Response:
        report = collector.health()
        return web.json_response(report, status=200 if report["status"] != "unavailable" else 503)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            text=collector.metrics.render(),
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    async def unknown(request: web.Request) -> web.Response:
        return _error(
            request, 404, f"no such endpoint: {request.method} {request.path}; OTLP traces go to POST /v1/traces"
        )

    app = web.Application(client_max_size=config.max_request_bytes + 1)
    app.router.add_post("/v1/traces", traces)
    app.router.add_post("/v1/logs", not_supported)
    app.router.add_post("/v1/metrics", not_supported)
    app.router.add_get("/healthz", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_route("*", "/{tail:.*}", unknown)
    return app
