"""Read-only execution of one HTTP query on the embedded engine.

Each request gets its own chDB connections (opening one costs about 0.07 ms). The statement is checked first, on a
read-only connection: one statement (ClickHouse's own parser, given the text as a bound parameter), of a read-only
kind, without the two things ``readonly=1`` still allows but which touch the serving host's files — ``INTO
OUTFILE`` and the ``file()`` function — found in its syntax tree (``EXPLAIN AST``). Then, on a fresh connection, the
database and the client's settings are applied, then the query limits, then ``readonly=1``, which ClickHouse itself
enforces and which cannot be lifted again on that connection (not by ``SET``, not by a ``SETTINGS`` clause).
Nothing a client sends is formatted into SQL as a value: query parameters are bound by the engine; setting names
and values, which ``SET`` cannot bind, are checked against a strict, quote-free alphabet first.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, fields
from typing import Any

from agentwatch.query._errors import ClickHouseError, from_engine

__all__ = ["Limits", "QueryAnswer", "QueryRequest", "ReadOnlyEngine"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SETTING_VALUE = re.compile(r"^[A-Za-z0-9_.,:+\- /]*$")
_FORMAT_CLAUSE = re.compile(r" FORMAT ([A-Za-z0-9_]+)$")
_ALLOWED_ROOTS = (  # syntax-tree roots of SELECT, SHOW, DESCRIBE, EXPLAIN and EXISTS statements
    "SelectWithUnionQuery",
    "SelectIntersectExceptQuery",
    "SelectQuery",
    "Show",
    "Describe",
    "Explain",
    "Exists",
)
_HOST_FUNCTIONS = frozenset({"file"})  # scalar or table: reads the serving host's files even in readonly mode
# HTTP-transport settings a ClickHouse client may send; they shape the response, not the query.
TRANSPORT_SETTINGS = frozenset(
    {
        "enable_http_compression",
        "http_zlib_compression_level",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "wait_end_of_query",
        "buffer_size",
        "http_response_buffer_size",
        "cancel_http_readonly_queries_on_client_close",
        "http_native_compression_disable_checksumming_on_decompress",
        "add_http_cors_header",
        "http_write_exception_in_output_format",
    }
)
_PROTECTED_SETTINGS = frozenset({"readonly", "allow_ddl", "max_memory_usage_for_user"})


@dataclass(frozen=True)
class Limits:
    """What one query may cost; a client may ask for less, never for more."""

    max_result_rows: int
    max_result_bytes: int
    max_execution_time: float
    max_memory_usage: int

    def clamp(self, settings: dict[str, str]) -> dict[str, str]:
        """The limit settings for one query: what the client asked for where that is lower, else the cap."""
        capped = {}
        for name in _LIMIT_SETTINGS:  # each field is named after the ClickHouse setting it caps
            cap = getattr(self, name)
            asked = settings.get(name, "")
            try:
                value = float(asked)
            except ValueError:
                value = 0.0
            chosen = value if 0 < value <= cap else cap
            capped[name] = str(int(chosen)) if name != "max_execution_time" else f"{chosen:g}"
        return capped


_LIMIT_SETTINGS = tuple(f.name for f in fields(Limits))


@dataclass(frozen=True)
class QueryRequest:
    sql: str
    database: str
    default_format: str = "TabSeparated"
    params: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryAnswer:
    body: bytes
    format: str
    summary: dict[str, str]


def _escaped(value: str) -> str:
    """A value in the escaped text form the engine expects of a query parameter."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _quoted_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


class ReadOnlyEngine:
    """Runs queries on the embedded store at ``path`` (the process's open chDB engine) under ``limits``."""

    def __init__(self, path: str, limits: Limits) -> None:
        import chdb

        self._connect = chdb.connect
        self.path = path
        self.limits = limits
        probe = self._connect(path)
        try:
            version, timezone = probe.query("SELECT version(), timezone()", "TabSeparated").bytes().decode().split()
        finally:
            probe.close()
        self.version = version
        self.timezone = timezone

    def run(self, request: QueryRequest) -> QueryAnswer:
        sql = request.sql.strip()
        if not sql:
            raise ClickHouseError(62, "SYNTAX_ERROR", "Empty query")
        canonical = self._check(sql, request.params)
        conn = self._connect(self.path)
        try:
            self._prepare(conn, request)
            match = _FORMAT_CLAUSE.search(canonical)
            fmt = match.group(1) if match else request.default_format
            started = time.perf_counter_ns()
            try:
                result = conn.query(sql, fmt, params=request.params)
            except Exception as exc:
                raise from_engine(exc) from None
            body = result.bytes() or b""
            if len(body) > self.limits.max_result_bytes:
                raise ClickHouseError(
                    396,
                    "TOO_MANY_ROWS_OR_BYTES",
                    f"Limit for result exceeded, max bytes: {self.limits.max_result_bytes}, "
                    f"current bytes: {len(body)} (the endpoint's limit; ask for fewer rows or columns)",
                )
            summary = {
                "read_rows": str(result.storage_rows_read()),
                "read_bytes": str(result.storage_bytes_read()),
                "written_rows": "0",
                "written_bytes": "0",
                "total_rows_to_read": str(result.storage_rows_read()),
                "result_rows": str(result.rows_read()),
                "result_bytes": str(len(body)),
                "elapsed_ns": str(time.perf_counter_ns() - started),
            }
            return QueryAnswer(body=body, format=fmt, summary=summary)
        finally:
            conn.close()

    def _prepare(self, conn: Any, request: QueryRequest) -> None:
        """Database, the client's settings, the limits, then read-only — in that order, on this connection only."""
        if not _IDENTIFIER.match(request.database):
            raise ClickHouseError(81, "UNKNOWN_DATABASE", f"Database {request.database!r} does not exist")
        statements = [f"USE {_quoted_identifier(request.database)}"]
        for name, value in request.settings.items():
            if name in TRANSPORT_SETTINGS or name in _LIMIT_SETTINGS:  # the limits are clamped below
                continue
            if name in _PROTECTED_SETTINGS:
                raise ClickHouseError(164, "READONLY", f"Cannot modify '{name}' setting in readonly mode")
            if not _IDENTIFIER.match(name):
                raise ClickHouseError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
            if not _SETTING_VALUE.match(value):
                raise ClickHouseError(
                    36, "BAD_ARGUMENTS", f"Value of setting '{name}' has characters this endpoint does not accept"
                )
            statements.append(f"SET {name} = '{value}'")  # both checked above against a quote-free alphabet
        limits = self.limits.clamp(request.settings)
        statements += [f"SET {name} = {value}" for name, value in limits.items()]
        if request.settings.get("result_overflow_mode") not in ("break",):
            statements.append("SET result_overflow_mode = 'throw'")
        statements.append("SET readonly = 1")
        for statement in statements:
            try:
                conn.query(statement, "TabSeparated")
            except Exception as exc:
                raise from_engine(exc) from None

    def _check(self, sql: str, params: dict[str, str]) -> str:
        """Refuse what is not one read-only statement; returns the statement in ClickHouse's canonical form.

        On a read-only connection of its own, without the client's limits (the syntax tree is a result too): first
        the text as a bound parameter (one statement? ClickHouse's parser says), and only then ``EXPLAIN AST``.
        """
        conn = self._connect(self.path)
        try:
            conn.query("SET readonly = 1", "TabSeparated")
            canonical = (
                conn.query("SELECT formatQuerySingleLine({q:String})", "TabSeparatedRaw", params={"q": _escaped(sql)})
                .bytes()
                .decode()
                .rstrip("\n")
            )
            tree = conn.query(f"EXPLAIN AST {sql}", "TabSeparatedRaw", params=params).bytes().decode()
        except Exception as exc:
            raise from_engine(exc) from None
        finally:
            conn.close()
        lines = tree.splitlines()
        root = lines[0].split(" ", 1)[0] if lines else ""
        if not root.startswith(_ALLOWED_ROOTS):
            raise ClickHouseError(
                164,
                "READONLY",
                "Cannot execute query in readonly mode: the agentwatch query endpoint runs only SELECT, SHOW, "
                "DESCRIBE, EXPLAIN and EXISTS",
            )
        parents: list[tuple[int, str]] = []
        for line in lines:
            depth = len(line) - len(line.lstrip(" "))
            node = line.strip()
            while parents and parents[-1][0] >= depth:
                parents.pop()
            words = node.split(" ")
            if words[0] == "Function" and len(words) > 1 and words[1] in _HOST_FUNCTIONS:
                raise ClickHouseError(497, "ACCESS_DENIED", f"{words[1]}() is not allowed through the query endpoint")
            into_outfile = parents and parents[-1][0] == depth - 1 and parents[-1][1].startswith("SelectWithUnion")
            if words[0] == "Literal" and into_outfile:
                raise ClickHouseError(497, "ACCESS_DENIED", "INTO OUTFILE is not allowed through the query endpoint")
            parents.append((depth, node))
        return canonical
