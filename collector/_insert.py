"""One spool segment → one ``INSERT … SELECT`` into otel_traces, with ClickHouse doing the OTLP decoding."""

from __future__ import annotations

import os
from hashlib import blake2b
from importlib import resources
from pathlib import Path
from typing import Any

from agentwatch.config import Config
from agentwatch.errors import ConfigError, QueryError
from agentwatch.redaction import combined_pattern
from agentwatch.sqlfiles import load_sql
from agentwatch.store import Store

__all__ = ["TRANSIENT_ERRORS", "OtlpInserter", "otlp_structure"]

# ClickHouse errors that say "not now" rather than "never": the segment waits and is retried.
TRANSIENT_ERRORS = frozenset(
    {
        "UNKNOWN_TABLE",
        "UNKNOWN_DATABASE",
        "TABLE_IS_DROPPED",
        "TABLE_IS_READ_ONLY",
        "READONLY",
        "TOO_MANY_PARTS",
        "MEMORY_LIMIT_EXCEEDED",
        "TIMEOUT_EXCEEDED",
        "NETWORK_ERROR",
        "SOCKET_TIMEOUT",
        "ALL_CONNECTION_TRIES_FAILED",
        "NOT_ENOUGH_SPACE",
        "TOO_MANY_SIMULTANEOUS_QUERIES",
        "ABORTED",
        "QUERY_WAS_CANCELLED",
        "UNKNOWN_FUNCTION",
        # the store's disk is full or failing: the segment waits until it has room (nothing is set aside for it)
        "CANNOT_WRITE_TO_FILE_DESCRIPTOR",
        "CANNOT_WRITE_TO_OSTREAM",
        "CANNOT_FSYNC",
        "CANNOT_CREATE_DIRECTORY",
        "CANNOT_RENAME",
        "CANNOT_TRUNCATE_FILE",
        "CANNOT_ALLOCATE_MEMORY",
    }
)
_DISK_FULL = ("no space left on device", "disk quota exceeded", "errno: 28", "errno: 122", "input/output error")

NAME_CAP = 1024  # bytes of a span, event or scope name or an attribute key; longer ones are cut and marked
_SCALAR = "string_value String, bool_value Bool, int_value Int64, double_value Float64, bytes_value String"
_ONEOF = (
    "value Enum8('none' = 0, 'string_value' = 1, 'bool_value' = 2, 'int_value' = 3, 'double_value' = 4, "
    "'array_value' = 5, 'kvlist_value' = 6, 'bytes_value' = 7)"
)


def otlp_structure() -> str:
    """The ClickHouse structure the request is read into (one level of array/map values, as in practice)."""
    any_value = (
        f"Tuple({_SCALAR}, array_value Tuple(values Array(Tuple({_SCALAR}, {_ONEOF}))), "
        f"kvlist_value Tuple(values Array(Tuple(key String, value Tuple({_SCALAR}, {_ONEOF})))), {_ONEOF})"
    )
    attributes = f"Array(Tuple(key String, value {any_value}))"
    span = (
        f"Tuple(trace_id String, span_id String, trace_state String, parent_span_id String, name String, "
        f"kind Int32, start_time_unix_nano UInt64, end_time_unix_nano UInt64, attributes {attributes}, "
        f"events Array(Tuple(time_unix_nano UInt64, name String, attributes {attributes})), "
        f"links Array(Tuple(trace_id String, span_id String, trace_state String, attributes {attributes})), "
        f"status Tuple(message String, code Int32))"
    )
    return (
        f"resource_spans Array(Tuple(resource Tuple(attributes {attributes}), "
        f"scope_spans Array(Tuple(scope Tuple(name String, version String), spans Array({span})))))"
    )


def _schema_settings(store: Store, proto: str) -> dict[str, Any]:
    """How ClickHouse finds the OTLP schema. A server is sent it as a string (it keeps its copy in its own
    format_schema_path). The embedded engine would keep that copy in ``__cache__`` under the process's working
    folder, wherever the collector was started from: it reads it from a file in the store instead."""
    if not store.dsn.embedded:
        return {"format_schema_source": "string", "format_schema": proto}
    folder = Path(store.dsn.path) / "format_schemas"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)  # private whatever the umask (the embedded engine sets the process's to 0)
    path = folder / f"otlp_traces_{blake2b(proto.encode(), digest_size=6).hexdigest()}.proto"
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        # created 0600: a umask only takes bits away, so the file is private whatever the engine set it to
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            out.write(proto)
        partial.replace(path)  # whole or not at all: another process may read it meanwhile
    return {"format_schema": str(path)}


class OtlpInserter:
    """Inserts length-delimited ExportTraceServiceRequests into otel_traces."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.sql = load_sql("ingest/otel_traces_from_otlp")
        self.sql_name = f"sql/{self.sql.name}.sql"
        proto = resources.files("agentwatch.sql").joinpath("ingest/otlp_traces.proto").read_text("utf-8")
        self.settings = {**_schema_settings(store, proto), "format_schema_message_name": "TracesData"}
        self.settings |= {
            "input_format_protobuf_oneof_presence": 1,
            # bounded memory per insert: requests are read in blocks of at most 4 MiB and one thread each (the
            # collector runs two writers, so two inserts already share the cores); the spans are mapped in blocks of
            # up to 4,096 — ClickHouse compiles the redaction pattern once per block and call site (1.4-2.5 ms),
            # which at one request per block (max_block_size 4: ARRAY JOIN split each request off) cost 30% of the
            # throughput; the rows of one segment squashed into one part — a part per 8k rows cost 15% more per span
            # (measured), and a segment is at most batch_max_spans rows
            "max_block_size": 4096,
            "input_format_max_block_size_bytes": 4 << 20,
            "min_insert_block_size_rows": 1_000_000,
            "min_insert_block_size_bytes": 64 << 20,
            "max_threads": 1,
            "max_insert_threads": 1,
            # start times are kept within the retention window at the door (TimeWindow), so a segment spans about
            # as many daily partitions as the retention has days; an old sender replaying a backlog must not make a
            # segment that can never be inserted (TOO_MANY_PARTS, "Too many partitions for single INSERT block")
            "throw_on_max_partitions_per_insert_block": 0,
            # with a token per segment, otel_traces and every view's target each keep a segment's rows once, so a
            # segment whose insert a crash cut short can be replayed whole (see the *_deduplication migrations)
            "deduplicate_blocks_in_dependent_materialized_views": 1,
        }
        if config.redact_patterns.strip():  # the settings table checked Python's view of them; RE2 has the last word
            try:
                store.query(
                    "SELECT replaceRegexpAll('', {p:String}, '')", {"p": combined_pattern(config.redact_patterns)}
                )
            except QueryError as exc:
                raise ConfigError(
                    "AGENTWATCH_REDACT_PATTERNS", f"has a pattern ClickHouse's RE2 does not accept: {exc}"
                ) from None
        self.parameters = {
            "structure": otlp_structure(),
            "redact": combined_pattern(config.redact_patterns),
            "cap": config.max_attribute_length,
            "name_cap": min(NAME_CAP, config.max_attribute_length),
        }
        if store.dsn.embedded:
            self.statement = self.sql.body.replace("{{source}}", "file({path:String}, 'Protobuf', {structure:String})")
        else:
            self.statement = self.sql.body.replace("{{source}}", "input({structure:String})") + "\nFORMAT Protobuf"

    def insert(self, path: Path) -> None:
        """Insert one segment file; raises StoreUnreachableError or QueryError. Inserting the same bytes again adds
        nothing to any table (the token is their hash), which is what makes replay after a crash exact."""
        if self.store.dsn.embedded:  # ClickHouse reads the file itself: hash it in pieces, never hold it whole
            settings = {**self.settings, "insert_deduplication_token": segment_token(path)}
            self.store.command(
                self.statement, {**self.parameters, "path": str(path)}, sql_name=self.sql_name, settings=settings
            )
        else:
            data = path.read_bytes()
            settings = {**self.settings, "insert_deduplication_token": segment_token(data)}
            self.store.command(self.statement, self.parameters, sql_name=self.sql_name, settings=settings, data=data)

    def release_memory(self) -> None:
        """Hand the memory an insert freed back to the system. The embedded engine's allocator keeps freed pages
        for reuse, so without this the collector's RSS tracks its largest inserts, not its working set."""
        if self.store.dsn.embedded:
            self.store.command("SYSTEM JEMALLOC PURGE", sql_name="release memory")

    def contains(self, trace_id: str, span_id: str) -> bool:
        rows = self.store.query(
            "SELECT count() FROM otel_traces WHERE TraceId = {t:String} AND SpanId = {s:String}",
            {"t": trace_id, "s": span_id},
        ).result_rows
        return bool(rows[0][0])


def segment_token(segment: bytes | Path) -> str:
    """The deduplication token of a segment: the hash of its bytes (about 1 % of an insert's time)."""
    digest = blake2b(digest_size=16)
    if isinstance(segment, bytes):
        digest.update(segment)
    else:
        with open(segment, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def is_transient(exc: Exception) -> bool:
    """A failure that says "not now". TOO_MANY_PARTS is both "merges are behind" (wait) and "this one insert touches
    too many partitions" (it never will succeed: the segment is written request by request instead)."""
    if not isinstance(exc, QueryError):
        return True
    if any(words in str(exc).lower() for words in _DISK_FULL):
        return True
    if exc.name == "TOO_MANY_PARTS" and "partitions for single insert" in str(exc).lower():
        return False
    return (exc.name or "") in TRANSIENT_ERRORS
