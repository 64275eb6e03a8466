"""Read-only execution of one HTTP query on the embedded engine.

Each request gets its own chDB connections (opening one costs about 0.07 ms). The client's settings are checked
against the allow-list first (``_policy.py``). The statement is checked on a read-only connection: one statement
(ClickHouse's own parser, given the text as a bound parameter) whose syntax tree (``EXPLAIN AST``) has an allowed
kind at its root, only allowed table functions, no ``file()`` and no output file; its output format must be an
allowed one. Then, on a fresh connection, the database, the client's settings, the query limits and ``readonly=1``
are applied — ClickHouse enforces it, and nothing can lift it again on that connection — and the answer is streamed
and stopped at the byte cap. Nothing a client sends is formatted into SQL as a value: query parameters are bound by
the engine; setting names and values, which ``SET`` cannot bind, are allow-listed and checked against a strict,
quote-free alphabet.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, fields
from typing import Any

from agentwatch.query._errors import ClickHouseError, from_engine
from agentwatch.query._policy import (
    SHOW_ROOTS,
    STATEMENT_ROOTS,
    SYSTEM_TABLES,
    TABLE_FUNCTIONS,
    TRANSPORT_SETTINGS,
    check_format,
    check_setting,
)

__all__ = ["Limits", "QueryAnswer", "QueryRequest", "ReadOnlyEngine"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SETTING_VALUE = re.compile(r"^[A-Za-z0-9_.,:+\- /]*$")
_MAX_BLOCK_ROWS = 8192
_FORMAT_CLAUSE = re.compile(r" FORMAT ([A-Za-z0-9_]+)$")


@dataclass(frozen=True)
class Limits:
    """What one query may cost; a client may ask for less, never for more."""

    max_result_rows: int
    max_result_bytes: int
    max_execution_time: float
    max_memory_usage: int
    max_threads: int = 1

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


@dataclass
class _Counts:
    """What an answer read and returned, for ``X-ClickHouse-Summary``."""

    read_rows: int = 0
    read_bytes: int = 0
    result_rows: int = 0

    def add(self, result: Any) -> None:
        self.read_rows += result.storage_rows_read()
        self.read_bytes += result.storage_bytes_read()
        self.result_rows += result.rows_read()

    @classmethod
    def of(cls, result: Any) -> _Counts:
        counts = cls()
        counts.add(result)
        return counts


def _check_table(database: str, table: str) -> None:
    """A system table must be one on the allow-list (SYSTEM_TABLES); the store's own tables are the client's."""
    if database.strip('`"').lower() == "system" and table.strip('`"') not in SYSTEM_TABLES:
        raise ClickHouseError(
            497,
            "ACCESS_DENIED",
            f"system.{table} is not readable through the agentwatch query endpoint (system tables for the schema, "
            "functions and formats are: tables, columns, databases, functions, formats …)",
        )


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
            names = probe.query("SELECT name FROM system.settings", "TabSeparatedRaw").bytes().decode().split()
        finally:
            probe.close()
        self.version = version
        self.timezone = timezone
        self.known_settings = frozenset(names)

    def run(self, request: QueryRequest) -> QueryAnswer:
        sql = request.sql.strip()
        if not sql:
            raise ClickHouseError(62, "SYNTAX_ERROR", "Empty query")
        statements = self._settings(request)  # refused settings before any work
        canonical, root = self._check(sql, request.params, request.database)
        match = _FORMAT_CLAUSE.search(canonical)
        fmt = check_format(match.group(1) if match else request.default_format)
        conn = self._connect(self.path)
        try:
            for statement in statements:
                try:
                    conn.query(statement, "TabSeparated")
                except Exception as exc:
                    raise from_engine(exc) from None
            started = time.perf_counter_ns()
            if root.startswith("Select"):
                body, counts = self._stream(conn, sql, fmt, request.params)
            else:  # SHOW, DESCRIBE, EXPLAIN, EXISTS: answers bounded by the schema; chDB streams only SELECT
                try:
                    result = conn.query(sql, fmt, params=request.params)
                except Exception as exc:
                    raise from_engine(exc) from None
                body = result.bytes() or b""
                counts = _Counts.of(result)
            summary = {
                "read_rows": str(counts.read_rows),
                "read_bytes": str(counts.read_bytes),
                "written_rows": "0",
                "written_bytes": "0",
                "total_rows_to_read": str(counts.read_rows),
                "result_rows": str(counts.result_rows),
                "result_bytes": str(len(body)),
                "elapsed_ns": str(time.perf_counter_ns() - started),
            }
            return QueryAnswer(body=body, format=fmt, summary=summary)
        finally:
            conn.close()

    def _stream(self, conn: Any, sql: str, fmt: str, params: dict[str, str]) -> tuple[bytes, _Counts]:
        """The answer, read block by block and stopped as soon as it passes the byte cap.

        ClickHouse's ``max_result_bytes`` does not stop the embedded engine from building the whole answer in memory
        (measured: 2.6 GB peak for a 1 GB answer under a 64 MiB cap), so the cap is enforced here, on the stream,
        while the query runs: at most the cap plus one block is ever held.
        """
        cap = self.limits.max_result_bytes
        parts: list[bytes] = []
        size = 0
        counts = _Counts()
        try:
            stream = conn.send_query(sql, fmt, params=params)
            try:
                for chunk in stream:
                    counts.add(chunk)  # each block reports its own counts, not running totals
                    data = chunk.bytes() or b""
                    size += len(data)
                    if size > cap:
                        stream.cancel()
                        raise ClickHouseError(
                            396,
                            "TOO_MANY_ROWS_OR_BYTES",
                            f"Limit for result exceeded, max bytes: {cap}, current bytes: {size} or more "
                            "(the endpoint's limit; ask for fewer rows or columns)",
                        )
                    parts.append(data)
            finally:
                stream.close()
        except ClickHouseError:
            raise
        except Exception as exc:
            raise from_engine(exc) from None
        return b"".join(parts), counts

    def _settings(self, request: QueryRequest) -> list[str]:
        """Database, the client's settings (allow-listed), the limits, then read-only — for this connection only."""
        if not _IDENTIFIER.match(request.database):
            raise ClickHouseError(81, "UNKNOWN_DATABASE", f"Database {request.database!r} does not exist")
        statements = [f"USE {_quoted_identifier(request.database)}"]
        for name, value in request.settings.items():
            check_setting(name, value, self.known_settings)
            if not _SETTING_VALUE.match(value):
                raise ClickHouseError(
                    36, "BAD_ARGUMENTS", f"Value of setting '{name}' has characters this endpoint does not accept"
                )
            if name in TRANSPORT_SETTINGS or name in _LIMIT_SETTINGS or name in ("readonly", "max_block_size"):
                continue  # transport shapes the answer; limits and block size are clamped below; read-only is set
            statements.append(f"SET {name} = '{value}'")  # the name is a known setting, the value quote-free
        limits = self.limits.clamp(request.settings)
        statements += [f"SET {name} = {value}" for name, value in limits.items()]
        # the answer is streamed and capped block by block: smaller blocks keep what is held past the cap small
        # (one block of 1 KB rows is 64 MB at ClickHouse's default of 65,536 rows)
        asked = request.settings.get("max_block_size", "")
        block = int(asked) if asked.isdigit() and 0 < int(asked) < _MAX_BLOCK_ROWS else _MAX_BLOCK_ROWS
        statements.append(f"SET max_block_size = {block}")
        if request.settings.get("result_overflow_mode") not in ("break",):
            statements.append("SET result_overflow_mode = 'throw'")
        statements.append("SET readonly = 1")
        return statements

    def _check(self, sql: str, params: dict[str, str], database: str = "") -> tuple[str, str]:
        """Refuse what is not one read-only statement; returns it in ClickHouse's canonical form, and its kind.

        On a read-only connection of its own, without the client's limits (the syntax tree is a result too): first
        the text as a bound parameter (one statement? ClickHouse's parser says), and only then ``EXPLAIN AST``,
        whose tree is checked against the allow-lists: the statement kind at the root, the table functions, and no
        output file anywhere (``INTO OUTFILE`` is a string literal hanging directly off a statement node, on every
        statement kind that has an output: SELECT, SHOW, DESCRIBE, EXPLAIN, EXISTS, SHOW CREATE).
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
        if not root.startswith(STATEMENT_ROOTS) or (root.startswith("Show") and root not in SHOW_ROOTS):
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
            parent = parents[-1][1].split(" ", 1)[0] if parents else ""
            if words[0] == "TableIdentifier" and len(words) > 1:
                _check_table(*(words[1].split(".", 1) if "." in words[1] else (database, words[1])))
            elif words[0] in ("ShowCreateTableQuery", "ExistsTableQuery", "DescribeQuery") and len(words) > 2:
                _check_table(words[1], words[2])
            if words[0] == "Function" and len(words) > 1:
                if parent == "TableExpression" and words[1] not in TABLE_FUNCTIONS:
                    raise ClickHouseError(
                        497, "ACCESS_DENIED", f"table function {words[1]}() is not allowed through the query endpoint"
                    )
                if words[1] == "file":  # the scalar file() reads the serving host's files
                    raise ClickHouseError(497, "ACCESS_DENIED", "file() is not allowed through the query endpoint")
            if words[0] == "Literal" and (depth == 1 or parent.startswith("SelectWithUnion")):
                raise ClickHouseError(497, "ACCESS_DENIED", "INTO OUTFILE is not allowed through the query endpoint")
            parents.append((depth, node))
        return canonical, root
