-- name: otel_traces_trace_id_ts
-- description: First and last timestamp of each trace, as the exporter keeps them; Grafana's trace lookups
--    narrow their time range with it.
-- ttl: toDateTime(Start) + toIntervalDay({{retention traces}})
CREATE TABLE IF NOT EXISTS {{database}}.otel_traces_trace_id_ts{{on_cluster}} (
    TraceId String CODEC(ZSTD(1)),
    Start DateTime CODEC(Delta, ZSTD(1)),
    End DateTime CODEC(Delta, ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = {{engine MergeTree()}}
PARTITION BY toDate(Start)
ORDER BY (TraceId, Start)
{{ttl}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
