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


def test_export_provisions_a_server_datasource_only_when_its_address_is_given():
    """Issue 34 item 6: `grafana export` wrote a second datasource pointing at clickhouse:8123 without
    --server-url."""
    assert [name for name, *_ in _datasources("chdb:///tmp/s")] == ["agentwatch (embedded, via agentwatch serve)"]
    both = provisioning(configure(store="chdb:///tmp/s", environ={}), server_url="http://ch.internal:8123")
    document = yaml.safe_load(both["provisioning/datasources/agentwatch.yaml"])
    assert [d["jsonData"]["host"] for d in document["datasources"]] == ["127.0.0.1", "ch.internal"]
    assert [name for name, *_ in _datasources("http://clickhouse.internal:8123")] == ["agentwatch (ClickHouse server)"]
