"""The ClickHouse HTTP interface, on aiohttp: ``/``, ``/ping``, ``/replicas_status``.

What a ClickHouse client sends — the query in ``?query=`` and/or the body, ``database``, ``default_format``,
``param_*``, settings as any other URL parameter, credentials as basic auth, ``X-ClickHouse-User``/``-Key`` or
``user``/``password`` — and what it reads back: the ``X-ClickHouse-*`` headers, errors as ClickHouse's text with
its status codes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import uuid
import zlib
from typing import TYPE_CHECKING

from aiohttp import web

from agentwatch.auth import secret_matches
from agentwatch.inflate import BodyTooLarge, MalformedBody, inflate
from agentwatch.listen import allowed_hosts, host_guard
from agentwatch.query._engine import QueryRequest
from agentwatch.query._errors import ClickHouseError

if TYPE_CHECKING:
    from agentwatch.query._endpoint import QueryEndpoint

__all__ = ["build_app", "content_type"]

_RESERVED = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "quota_key",
        "stacktrace",
        "role",
        "client_protocol_version",
        "compress",
        "decompress",
    }
)
_OK = b"Ok.\n"
_QUERY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
log = logging.getLogger("agentwatch.query")

_READ_ONLY_WRITE = (
    "Cannot execute query in readonly mode: this is agentwatch serve's read-only query endpoint. The commands that "
    "write (detect, alerts run, alerts silence, evaluate) reach the store through serve when given the embedded "
    "store itself: --store chdb://PATH (or AGENTWATCH_STORE)"
)


def content_type(fmt: str) -> str:
    """The Content-Type ClickHouse answers a format with."""
    lower = fmt.lower()
    if lower.startswith("tabseparated") or lower.startswith("tsv"):
        return "text/tab-separated-values; charset=UTF-8"
    if lower.startswith("csv"):
        return "text/csv; charset=UTF-8; header=" + ("present" if "names" in lower else "absent")
    if lower in ("jsoneachrow", "jsonlines", "ndjson", "jsoncompacteachrow", "jsonstringseachrow"):
        return "application/x-ndjson; charset=UTF-8"
    if lower.startswith("json"):
        return "application/json; charset=UTF-8"
    if lower.startswith("pretty") or lower in ("vertical", "markdown", "values", "prometheus"):
        return "text/plain; charset=UTF-8"
    if lower == "xml":
        return "application/xml; charset=UTF-8"
    return "application/octet-stream"


def _credentials(request: web.Request) -> tuple[str, str]:
    headers, query = request.headers, request.query
    if "X-ClickHouse-User" in headers or "X-ClickHouse-Key" in headers:
        return headers.get("X-ClickHouse-User", "default"), headers.get("X-ClickHouse-Key", "")
    auth = headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ClickHouseError(516, "AUTHENTICATION_FAILED", "Malformed basic authorization header") from None
        return user or "default", password
    return query.get("user", "default"), query.get("password", "")


def _cross_site(request: web.Request, allowed: frozenset[str]) -> str | None:
    """Why a request looks like a browser page on another site made it, or None.

    A page a user visits can send GET and simple POST requests to 127.0.0.1 (CSRF): the browser marks them with
    ``Origin`` and ``Sec-Fetch-Site``. Grafana's datasource and other server-side clients send neither.
    """
    origin = request.headers.get("Origin")
    if origin is not None and origin not in allowed:
        return f"requests from the web origin {origin!r} are refused"
    site = request.headers.get("Sec-Fetch-Site", "").lower()
    if site in ("cross-site", "same-site") and origin is None:
        return f"requests a browser marks Sec-Fetch-Site: {site} are refused"
    return None


def _compress(body: bytes, accept: str, level: int) -> tuple[bytes, str]:
    encodings = {e.split(";")[0].strip().lower() for e in accept.split(",")}
    if "gzip" in encodings:
        packer = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        return packer.compress(body) + packer.flush(), "gzip"
    if "deflate" in encodings:
        return zlib.compress(body, level), "deflate"
    return body, ""


def build_app(endpoint: QueryEndpoint) -> web.Application:
    hosts = allowed_hosts([endpoint.config.query_http], endpoint.config.allowed_hosts)
    app = web.Application(client_max_size=endpoint.max_query_bytes, middlewares=[host_guard(hosts)])
    base_headers = {"X-ClickHouse-Server-Display-Name": "agentwatch", "X-ClickHouse-Timezone": endpoint.timezone}

    def error(exc: ClickHouseError, query_id: str) -> web.Response:
        headers = {**base_headers, "X-ClickHouse-Exception-Code": str(exc.code), "X-ClickHouse-Query-Id": query_id}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return web.Response(
            status=exc.status,
            body=exc.render(endpoint.version),
            content_type="text/plain",
            charset="UTF-8",
            headers=headers,
        )

    async def read_query(request: web.Request) -> str:
        text = request.query.get("query", "")
        encoding = request.headers.get("Content-Encoding", "").strip().lower()
        # an INSERT in the URL, or a block-compressed body (how clickhouse-connect streams its inserts): say why
        if text.lstrip().upper().startswith("INSERT") or encoding in ("lz4", "zstd", "snappy"):
            raise ClickHouseError(164, "READONLY", _READ_ONLY_WRITE)
        if request.method != "POST":
            return text
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise ClickHouseError(
                229, "QUERY_IS_TOO_LARGE", f"Query is too large: more than {endpoint.max_query_bytes} bytes"
            ) from None
        if body and encoding and encoding != "identity":
            if encoding not in ("gzip", "x-gzip", "deflate"):
                raise ClickHouseError(36, "BAD_ARGUMENTS", f"Unsupported Content-Encoding {encoding!r}")
            try:
                body = inflate(body, endpoint.max_query_bytes, encoding)
            except BodyTooLarge as exc:
                raise ClickHouseError(229, "QUERY_IS_TOO_LARGE", str(exc)) from None
            except MalformedBody as exc:
                raise ClickHouseError(27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED", str(exc)) from None
        try:
            body_text = body.decode()
        except UnicodeDecodeError:
            raise ClickHouseError(36, "BAD_ARGUMENTS", "The query is not valid UTF-8") from None
        return f"{text}\n{body_text}" if text and body_text else text or body_text

    async def root(request: web.Request) -> web.Response:
        query_id = request.query.get("query_id") or str(uuid.uuid4())
        if not _QUERY_ID.fullmatch(query_id):  # it is echoed in a header: no CR/LF, nothing odd
            endpoint.count("BAD_ARGUMENTS")
            return error(
                ClickHouseError(36, "BAD_ARGUMENTS", "query_id may hold letters, digits and ._:- (at most 128)"),
                str(uuid.uuid4()),
            )
        try:
            refused = _cross_site(request, endpoint.allowed_origins)
            if refused:
                endpoint.count("cross_site")
                raise ClickHouseError(
                    497,
                    "ACCESS_DENIED",
                    f"{refused} (cross-site requests from browsers; allow an origin with AGENTWATCH_QUERY_ORIGINS)",
                )
            user, password = _credentials(request)
            if not (secret_matches(user, endpoint.user) and secret_matches(password, endpoint.password)):
                endpoint.count("auth_failed")
                raise ClickHouseError(
                    516,
                    "AUTHENTICATION_FAILED",
                    f"{user}: Authentication failed: password is incorrect, or there is no user with such name",
                )
            if request.query.get("compress") == "1" or request.query.get("decompress") == "1":
                raise ClickHouseError(
                    48, "NOT_IMPLEMENTED", "ClickHouse's native block compression (compress=1) is not supported"
                )
            sql = await read_query(request)
            if not sql.strip() and request.method != "POST":
                return web.Response(body=_OK, content_type="text/html", charset="UTF-8", headers=base_headers)
            settings = {k: v for k, v in request.query.items() if k not in _RESERVED and not k.startswith("param_")}
            query = QueryRequest(
                sql=sql,
                database=request.query.get("database")
                or request.headers.get("X-ClickHouse-Database")
                or endpoint.database,
                default_format=request.query.get("default_format")
                or request.headers.get("X-ClickHouse-Format")
                or "TabSeparated",
                params={k[6:]: v for k, v in request.query.items() if k.startswith("param_")},
                settings=settings,
            )
            answer = await endpoint.execute(query)
        except ClickHouseError as exc:
            endpoint.count(exc.name)
            return error(exc, query_id)
        except Exception as exc:  # a fault of ours: still an answer in ClickHouse's form, and a log line
            log.exception("query %s failed", query_id)
            endpoint.count("STD_EXCEPTION")
            return error(ClickHouseError(1001, "STD_EXCEPTION", f"agentwatch query endpoint: {exc}"), query_id)
        body, encoding = answer.body, ""
        if settings.get("enable_http_compression") == "1" and len(body) > 1024:
            level = int(raw) if (raw := settings.get("http_zlib_compression_level", "3")).isdigit() else 3
            body, encoding = await asyncio.get_running_loop().run_in_executor(
                endpoint.executor, _compress, body, request.headers.get("Accept-Encoding", ""), max(1, min(level, 9))
            )
        headers = {
            **base_headers,
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Format": answer.format,
            "X-ClickHouse-Summary": json.dumps(answer.summary, separators=(",", ":")),
            "Content-Type": content_type(answer.format),
        }
        if encoding:
            headers["Content-Encoding"] = encoding
        endpoint.count("ok")
        return web.Response(body=body, headers=headers)

    async def ping(request: web.Request) -> web.Response:
        return web.Response(body=_OK, content_type="text/plain", charset="UTF-8")

    async def unknown(request: web.Request) -> web.Response:
        return web.Response(
            status=404,
            text=f"There is no handle {request.path}\n\nUse / or /ping for health checks.\n",
            content_type="text/plain",
        )

    app.router.add_route("GET", "/", root)
    app.router.add_route("POST", "/", root)
    app.router.add_route("GET", "/ping", ping)
    app.router.add_route("GET", "/replicas_status", ping)
    app.router.add_route("*", "/{tail:.*}", unknown)
    return app
