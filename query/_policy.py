"""What a query client may send to the endpoint: enumerated, everything else refused.

Allow-lists, not deny-lists: a statement kind, an output format, a table function or a setting that is not named here
is refused with ClickHouse's own error form, whatever it does. Many ClickHouse settings and formats name a path, a
file or a URL (``format_template_resultset``, ``output_format_schema``, ``format_schema``, Avro's schema registry…),
and ``readonly=1`` does not stop them: so the client gets read-side settings only, and formats that write nothing but
the answer.
"""

from __future__ import annotations

import re

from agentwatch.query._errors import ClickHouseError
from agentwatch.sqlfiles import list_sql, load_sql

__all__ = [
    "CLIENT_SETTINGS",
    "CLIENT_SETTING_PREFIXES",
    "OUTPUT_FORMATS",
    "SHOW_ROOTS",
    "STATEMENT_ROOTS",
    "SYSTEM_TABLES",
    "TABLE_FUNCTIONS",
    "TRANSPORT_SETTINGS",
    "check_format",
    "check_setting",
    "setting_allowed",
]

# Syntax-tree roots (EXPLAIN AST) of the statements a client may run: SELECT, SHOW, DESCRIBE, EXPLAIN, EXISTS.
STATEMENT_ROOTS = (
    "SelectWithUnionQuery",
    "SelectIntersectExceptQuery",
    "SelectQuery",
    "Show",
    "Describe",
    "Explain",
    "Exists",
)

# SHOW statements a client may run: tables, databases, columns, settings and a table's definition (each reads an
# allowed system table); SHOW PROCESSLIST, GRANTS, USERS … are refused.
SHOW_ROOTS = ("ShowTables", "ShowColumns", "ShowCreateTableQuery", "ShowCreateViewQuery", "ShowCreateDatabaseQuery")

# System tables a dashboard or a person exploring needs: the schema, the functions, the formats. Everything else —
# processes and query_log (other clients' queries, the collector's INSERT with its redaction pattern), parts and
# disks (paths), users, grants, settings changes … — is refused like any other object outside the store's tables.
SYSTEM_TABLES = frozenset(
    {"one", "numbers", "numbers_mt", "zeros", "zeros_mt", "tables", "columns", "databases", "functions", "formats",
     "table_functions", "table_engines", "data_type_families", "aggregate_function_combinators", "collations",
     "time_zones", "keywords", "settings", "data_skipping_indices", "contributors", "build_options"}
)  # fmt: skip


def _parameterised_views() -> set[str]:
    """agentwatch's parameterised views (the schema's views that take {name:Type} parameters), which a query
    calls as table functions: answer_scores(start = …, end = …)."""
    views = set()
    for name in list_sql("schema"):
        file = load_sql(name)
        if "CREATE VIEW" in file.body and re.search(r"(?<!\$)\{\w+:\w+", file.body):
            views.add(file.header["name"])
    return views


# Table functions that generate rows or read the store's own tables — agentwatch's parameterised views among them
# —; every other one (file, url, s3, sqlite, remote, input, format, executable, mysql, merge (which reads any
# database's tables), …) is refused.
TABLE_FUNCTIONS = frozenset(
    {"numbers", "numbers_mt", "zeros", "zeros_mt", "values", "null", "generateRandom", "generate_series",
     "generateSeries", "view", *_parameterised_views()}
)  # fmt: skip

# Output formats that write the answer and nothing else, and read no schema or template file.
OUTPUT_FORMATS = frozenset(
    {
        *("TabSeparated", "TabSeparatedRaw", "TabSeparatedWithNames", "TabSeparatedWithNamesAndTypes"),
        *("TabSeparatedRawWithNames", "TabSeparatedRawWithNamesAndTypes"),
        *("TSV", "TSVRaw", "TSVWithNames", "TSVWithNamesAndTypes", "TSVRawWithNames", "TSVRawWithNamesAndTypes"),
        *("CSV", "CSVWithNames", "CSVWithNamesAndTypes"),
        *("JSON", "JSONStrings", "JSONCompact", "JSONCompactStrings", "JSONColumns", "JSONColumnsWithMetadata"),
        *("JSONCompactColumns", "JSONEachRow", "JSONEachRowWithProgress", "JSONStringsEachRow", "JSONLines", "NDJSON"),
        *("JSONL", "JSONStringsEachRowWithProgress", "JSONCompactEachRow", "JSONCompactEachRowWithNames"),
        *("JSONCompactEachRowWithNamesAndTypes", "JSONCompactEachRowWithProgress", "JSONCompactStringsEachRow"),
        *("JSONCompactStringsEachRowWithNames", "JSONCompactStringsEachRowWithNamesAndTypes"),
        *("JSONCompactStringsEachRowWithProgress", "JSONObjectEachRow", "PrettyJSONEachRow", "PrettyJSONLines"),
        *("PrettyNDJSON", "Pretty", "PrettyCompact", "PrettyCompactMonoBlock", "PrettyCompactNoEscapes"),
        *("PrettyCompactNoEscapesMonoBlock", "PrettyMonoBlock", "PrettyNoEscapes", "PrettyNoEscapesMonoBlock"),
        *("PrettySpace", "PrettySpaceMonoBlock", "PrettySpaceNoEscapes", "PrettySpaceNoEscapesMonoBlock"),
        *("Vertical", "Markdown", "MD", "XML", "Values", "Null", "TSKV", "Raw", "RawWithNames", "RawWithNamesAndTypes"),
        *("Native", "RowBinary", "RowBinaryWithNames", "RowBinaryWithNamesAndTypes", "Arrow", "ArrowStream"),
        *("Parquet", "ORC", "Prometheus", "LineAsString", "RawBLOB"),
    }
)
_FORMATS_FOLDED = {name.lower(): name for name in OUTPUT_FORMATS}

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

# Read-side settings: limits (the endpoint's own caps are clamped over them), how results are written, how a
# SELECT is evaluated. None names a path, a file or a URL (tests check every one against system.settings).
CLIENT_SETTINGS = frozenset(
    {
        *("max_result_rows", "max_result_bytes", "result_overflow_mode", "max_execution_time", "max_memory_usage"),
        *("timeout_overflow_mode", "max_rows_to_read", "max_bytes_to_read", "read_overflow_mode", "max_threads"),
        *("max_block_size", "max_rows_to_group_by", "group_by_overflow_mode", "max_rows_to_sort", "max_bytes_to_sort"),
        *("sort_overflow_mode", "max_rows_in_distinct", "distinct_overflow_mode", "max_columns_to_read"),
        *("session_timezone", "use_client_time_zone", "date_time_output_format", "interval_output_format"),
        *("output_format_decimal_trailing_zeros", "output_format_float_precision", "output_format_write_statistics"),
        *("output_format_markdown_escape_special_characters", "output_format_trim_fixed_string"),
        *("join_use_nulls", "extremes", "totals_mode", "union_default_mode", "aggregate_functions_null_for_empty"),
        *("transform_null_in", "joined_subquery_requires_alias", "enable_positional_arguments", "enable_analyzer"),
        *("allow_experimental_analyzer", "prefer_column_name_to_alias", "count_distinct_implementation"),
        *("log_comment", "limit", "offset", "final", "readonly"),
    }
)
CLIENT_SETTING_PREFIXES = (
    "output_format_json_",
    "output_format_pretty_",
    "output_format_csv_",
    "output_format_tsv_",
    "output_format_arrow_",
    "output_format_parquet_",
    "output_format_orc_",
    "output_format_native_",
    "format_csv_",
    "format_tsv_",
    "date_time_",
)


def setting_allowed(name: str) -> bool:
    return name in CLIENT_SETTINGS or name in TRANSPORT_SETTINGS or name.startswith(CLIENT_SETTING_PREFIXES)


def check_setting(name: str, value: str, known: frozenset[str]) -> None:
    """Refuse a setting the client may not send: unknown to ClickHouse (as ClickHouse says it), or not read-side."""
    if name == "readonly":  # the endpoint is always readonly=1; asking for read-only is fine, lifting it is not
        if value not in ("1", "2"):
            raise ClickHouseError(164, "READONLY", "Cannot modify 'readonly' setting in readonly mode")
        return
    if name not in known and name not in TRANSPORT_SETTINGS:
        raise ClickHouseError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
    if not setting_allowed(name):
        raise ClickHouseError(
            452,
            "SETTING_CONSTRAINT_VIOLATION",
            f"Setting {name} should not be changed: the agentwatch query endpoint accepts read-side settings only "
            "(limits, max_threads, date/time and output_format_json_*/pretty_*/csv_* output settings)",
        )


def check_format(name: str) -> str:
    """The format, if a client may use it (compared case-insensitively); else ClickHouse's UNKNOWN_FORMAT form."""
    canonical = _FORMATS_FOLDED.get(name.lower())
    if canonical is None:
        raise ClickHouseError(
            73,
            "UNKNOWN_FORMAT",
            f"Format {name} is not allowed through the agentwatch query endpoint (it reads or writes files, or "
            "is not an output format); use e.g. JSON, JSONEachRow, TabSeparated, CSV, Native or Parquet",
        )
    return name
