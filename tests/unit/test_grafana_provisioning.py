"""The datasource `grafana export` provisions is named for what the store is."""

import yaml

from agentwatch.config import configure
from agentwatch.dashboards.grafana import provisioning


def _datasources(store: str, **values) -> list[tuple[str, str, int]]:
    files = provisioning(configure(store=store, environ={}, **values))
    document = yaml.safe_load(files["provisioning/datasources/agentwatch.yaml"])
    return [(d["name"], d["jsonData"]["host"], d["jsonData"]["port"]) for d in document["datasources"]]


def test_serves_query_endpoint_is_the_embedded_store_seen_through_serve():
    """Observed: AGENTWATCH_STORE=http://127.0.0.1:8123 (serve's endpoint, as the README advises) was named
    "ClickHouse server"."""
    first = _datasources("http://127.0.0.1:8123")[0]
    assert first == ("agentwatch (embedded, via agentwatch serve)", "127.0.0.1", 8123)
    moved = _datasources("http://localhost:9900", query_http="127.0.0.1:9900")[0]
    assert moved == ("agentwatch (embedded, via agentwatch serve)", "localhost", 9900)


def test_a_clickhouse_server_is_named_so():
    assert _datasources("http://clickhouse.internal:8123")[0] == (
        "agentwatch (ClickHouse server)",
        "clickhouse.internal",
        8123,
    )
