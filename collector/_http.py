"""OTLP/HTTP receiver (``POST /v1/traces``) plus ``/healthz`` and ``/metrics``, on aiohttp."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from agentwatch.auth import bearer_matches
from agentwatch.collector._codec import JSON, PROTOBUF, IngestError, status_body
from agentwatch.listen import allowed_hosts, host_guard

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


_CLOSE = {"Connection": "close"}  # a body left half-read cannot be followed by another request on the connection


async def _read_body(request: web.Request, collector: Collector, held: list[int]) -> bytes:
    """The body, counted into the collector's in-flight bytes as it arrives (a declared Content-Length reserves
    nothing, so connections that declare much and send little cannot block other senders); refused once it passes the
    size limit or the in-flight budget."""
    limit = collector.config.max_request_bytes
    chunks = []
    async for chunk in request.content.iter_chunked(1 << 16):
        held[0] += len(chunk)
        collector.inflight_bytes += len(chunk)
        if held[0] > limit:
            raise IngestError(413, f"request body exceeds {limit} bytes", "too_large")
        busy = collector.overloaded(0)
        if busy:
            raise IngestError(503, busy, "overloaded")
        chunks.append(chunk)
    return b"".join(chunks)


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
        busy = collector.overloaded(0)  # what a sender declares is not counted: only bytes that arrive
        if busy:
            collector.count_request(protocol, 503, reason="overloaded")
            return _error(request, 503, busy, {"Retry-After": str(collector.retry_after)})
        held = [0]  # bytes of this body counted in collector.inflight_bytes so far
        try:
            try:
                body = await asyncio.wait_for(_read_body(request, collector, held), config.request_timeout)
            except asyncio.TimeoutError:
                collector.count_request(protocol, 408, reason="slow_body")
                return _error(
                    request, 408, f"the request body did not arrive within {config.request_timeout:g} s", _CLOSE
                )
            except IngestError as exc:
                collector.count_request(protocol, exc.status, reason=exc.reason)
                headers = {"Retry-After": str(collector.retry_after)} if exc.status == 503 else {}
                return _error(request, exc.status, str(exc), {**headers, **_CLOSE})
            try:
                answer, as_json = await collector.ingest(
                    body,
                    request.headers.get("Content-Type", ""),
                    request.headers.get("Content-Encoding", ""),
                    protocol,
                    counted=True,
                )
            except IngestError as exc:
                retry: dict[str, str] | None = (
                    {"Retry-After": str(collector.retry_after)} if exc.status == 503 else None
                )
                return _error(request, exc.status, str(exc), retry)
            return web.Response(body=answer, content_type=JSON if as_json else PROTOBUF)
        finally:
            collector.inflight_bytes -= held[0]

    async def not_supported(request: web.Request) -> web.Response:
        return _error(
            request,
            404,
            f"{request.path} is not supported by agentwatch yet: it receives traces only (POST /v1/traces)",
        )

    async def health(request: web.Request) -> web.Response:
        report = collector.health()
        return web.json_response(report, status=503 if report["status"] in ("unavailable", "failing") else 200)

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

    hosts = allowed_hosts([config.collector_http], config.allowed_hosts)
    app = web.Application(client_max_size=config.max_request_bytes + 1, middlewares=[host_guard(hosts)])
    app.router.add_post("/v1/traces", traces)
    app.router.add_post("/v1/logs", not_supported)
    app.router.add_post("/v1/metrics", not_supported)
    app.router.add_get("/healthz", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_route("*", "/{tail:.*}", unknown)
    return app
