"""agentwatch.collector: OTLP/HTTP and OTLP/gRPC receivers writing spans into ClickHouse.

Accepted requests go to a write-ahead spool on disk before they are acknowledged; a writer thread inserts each
spool segment with one ``INSERT … SELECT`` in which ClickHouse decodes the OTLP protobuf itself
(``sql/ingest/``). Overload and a full spool answer 503 / UNAVAILABLE, which OTLP exporters retry.
"""

from agentwatch.collector.server import Collector, run_collector

__all__ = ["Collector", "run_collector"]
