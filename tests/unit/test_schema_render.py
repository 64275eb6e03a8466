import re

import pytest

from agentwatch.config import configure
from agentwatch.migrate import migrations, render
from agentwatch.sqlfiles import list_sql, load_sql


def test_migrations_are_numbered_and_ordered():
    found = migrations()
    assert [m.version for m in found] == sorted(m.version for m in found)
    assert found[0].name == "agentwatch_migrations"
    names = {m.name for m in found}
    for table in (
        "otel_traces",
        "otel_traces_trace_id_ts",
        "otel_traces_trace_id_ts_mv",
        "agent_spans",
        "agent_spans_mv",
        "evaluations",
        "findings",
        "alerts",
    ):
        assert table in names


@pytest.mark.parametrize("migration", migrations(), ids=lambda m: m.name)
def test_single_node_render(migration):
    sql = render(migration.sql, configure(database="aw"))
    assert "{{" not in sql and "ON CLUSTER" not in sql and "Replicated" not in sql
    if "FUNCTION" not in sql:  # SQL functions are global; tables and views live in the database
        assert "`aw`." in sql
    assert ";" not in sql.rstrip().rstrip(";"), "one statement per file"


@pytest.mark.parametrize("migration", migrations(), ids=lambda m: m.name)
def test_cluster_render_uses_on_cluster_and_replicated_engines(migration):
    sql = render(migration.sql, configure(database="aw", cluster="prod"))
    if sql.startswith("INSERT"):  # data is replicated by the table, not by the statement
        assert "ON CLUSTER" not in sql
        return
    if sql.startswith("ALTER TABLE"):
        assert re.search(r"^ALTER TABLE `aw`\.\w+ ON CLUSTER `prod`", sql), sql[:200]
        return
    if sql.startswith("DROP VIEW"):  # a view replaced by a later migration
        assert re.search(r"^DROP VIEW IF EXISTS `aw`\.\w+ ON CLUSTER `prod`$", sql.strip()), sql[:200]
        return
    pattern = r"^CREATE ((TABLE|MATERIALIZED VIEW|VIEW) IF NOT EXISTS `aw`\.|OR REPLACE FUNCTION )\w+ ON CLUSTER `prod`"
    assert re.search(pattern, sql), sql[:200]
    for engine in re.findall(r"ENGINE = (\w+)\((.*?)\)\n", sql):
        assert engine[0].startswith("Replicated"), engine
        assert engine[1].startswith("'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'")


def test_cluster_render_keeps_engine_arguments():
    evaluations = next(m for m in migrations() if m.name == "evaluations")
    sql = render(evaluations.sql, configure(cluster="c"))
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', EvaluatedAt)"
    ) in sql


def test_retention_is_rendered_from_configuration():
    traces = next(m for m in migrations() if m.name == "otel_traces")
    sql = render(traces.sql, configure(traces_retention_days=7))
    assert "TTL toDateTime(Timestamp) + toIntervalDay(7)" in sql


def test_otel_traces_matches_the_collector_exporter():
    """Column list, types and codecs of the OpenTelemetry Collector ClickHouse exporter's traces table."""
    sql = render(load_sql("schema/0001_otel_traces"), configure())
    expected = [
        "Timestamp DateTime64(9) CODEC(Delta, ZSTD(1))",
        "TraceId String CODEC(ZSTD(1))",
        "SpanId String CODEC(ZSTD(1))",
        "ParentSpanId String CODEC(ZSTD(1))",
        "TraceState String CODEC(ZSTD(1))",
        "SpanName LowCardinality(String) CODEC(ZSTD(1))",
        "SpanKind LowCardinality(String) CODEC(ZSTD(1))",
        "ServiceName LowCardinality(String) CODEC(ZSTD(1))",
        "ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1))",
        "ScopeName String CODEC(ZSTD(1))",
        "ScopeVersion String CODEC(ZSTD(1))",
        "SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1))",
        "Duration UInt64 CODEC(ZSTD(1))",
        "StatusCode LowCardinality(String) CODEC(ZSTD(1))",
        "StatusMessage String CODEC(ZSTD(1))",
        "PARTITION BY toDate(Timestamp)",
        "ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))",
        "INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1",
        "INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
        "INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    ]
    for fragment in expected:
        assert fragment in sql, fragment


def test_sql_headers_are_parsed():
    sql = load_sql("schema/0004_agent_spans")
    assert sql.header["name"] == "agent_spans"
    assert "SessionId falls back" in sql.header["description"]  # continuation lines join
    assert sql.header["ttl"].startswith("toDateTime(Timestamp)")
    assert sql.body.startswith("CREATE TABLE")


def test_list_sql():
    assert "schema/0001_otel_traces" in list_sql("schema")
    assert list_sql("no_such_folder") == []


class _ServerStandIn:
    """A ClickHouse server store (none can run here): records what the migrator sends it."""

    def __init__(self) -> None:
        from agentwatch.dsn import parse_store_dsn

        self.dsn = parse_store_dsn("http://clickhouse:8123")
        self.database = "aw"
        self.commands: list[str] = []
        self.recorded: list[int] = []

    def table_exists(self, table: str) -> bool:
        return False

    def command(self, sql: str, *args, **kwargs) -> None:
        self.commands.append(sql)

    def insert(self, table: str, rows, columns) -> None:
        self.recorded += [row[0] for row in rows]

    def query(self, *args, **kwargs):
        from types import SimpleNamespace

        return SimpleNamespace(result_rows=[])


def test_embedded_only_migrations_are_recorded_but_not_run_on_a_server():
    from agentwatch.migrate import Migrator

    server = _ServerStandIn()
    Migrator(server, configure(database="aw")).apply()
    embedded_only = [m for m in migrations() if m.sql.header.get("store") == "embedded"]
    assert {m.name for m in embedded_only} == {"otel_traces_merge_selection", "agent_spans_merge_selection"}
    assert server.recorded == [m.version for m in migrations()]  # every migration recorded
    assert len(server.commands) == len(migrations()) - len(embedded_only)
    assert not any("merge_selector_base" in sql for sql in server.commands)
