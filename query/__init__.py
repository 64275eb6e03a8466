"""A ClickHouse-compatible HTTP query endpoint over the embedded store, hosted by ``agentwatch serve``.

Only one process can open an embedded store, so Grafana, ``clickhouse-client``-style tools and other agentwatch
commands reach it through this endpoint (default ``127.0.0.1:8123``), read-only.
"""

from agentwatch.query._endpoint import QueryEndpoint
from agentwatch.query._engine import Limits, QueryAnswer, QueryRequest, ReadOnlyEngine
from agentwatch.query._errors import ClickHouseError

__all__ = ["ClickHouseError", "Limits", "QueryAnswer", "QueryEndpoint", "QueryRequest", "ReadOnlyEngine"]
