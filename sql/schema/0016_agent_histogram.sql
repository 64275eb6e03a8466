-- name: agent_histogram
-- description: Hourly histograms per agent of LLM input tokens and tool latency (log2 buckets), kept by
--    agent_histogram_mv, for the quality-drift detector's population stability index over long baselines.
-- ttl: Hour + toIntervalDay({{retention traces}})
CREATE TABLE IF NOT EXISTS {{database}}.agent_histogram{{on_cluster}} (
    Hour DateTime CODEC(Delta, ZSTD(1)),
    AgentName LowCardinality(String),
    Signal LowCardinality(String),
    Bucket UInt8,
    Count UInt64
) ENGINE = {{engine SummingMergeTree()}}
PARTITION BY toYYYYMM(Hour)
ORDER BY (Hour, AgentName, Signal, Bucket)
{{ttl}}
