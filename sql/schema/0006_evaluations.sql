-- name: evaluations
-- description: One row per answer × evaluator × metric. ReplacingMergeTree on that key keeps a rerun from
--    duplicating scores (read with FINAL, or argMax on EvaluatedAt, for exact counts before merges). Status is
--    scored, skipped (with the reason in Explanation) or error; only scored rows carry a Score.
-- ttl: toDateTime(Timestamp) + toIntervalDay({{retention evaluations}})
CREATE TABLE IF NOT EXISTS {{database}}.evaluations{{on_cluster}} (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    EvaluatedAt DateTime64(3) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    SessionId String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    AgentName LowCardinality(String) CODEC(ZSTD(1)),
    Evaluator LowCardinality(String) CODEC(ZSTD(1)),
    Metric LowCardinality(String) CODEC(ZSTD(1)),
    Status LowCardinality(String) CODEC(ZSTD(1)),
    Score Float64 CODEC(ZSTD(1)),
    Label LowCardinality(String) CODEC(ZSTD(1)),
    Explanation String CODEC(ZSTD(1)),
    ContentHash String CODEC(ZSTD(1)),
    Details String CODEC(ZSTD(1))
) ENGINE = {{engine ReplacingMergeTree(EvaluatedAt)}}
PARTITION BY toDate(Timestamp)
ORDER BY (toStartOfHour(toDateTime(Timestamp)), TraceId, SpanId, Metric, Evaluator)
{{ttl}}
SETTINGS index_granularity = 8192
