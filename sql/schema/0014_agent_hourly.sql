-- name: agent_hourly
-- description: Hourly rollup of agent_spans per agent, operation, tool and result shape (calls, errors, tokens,
--    cost, latency), kept by agent_hourly_mv. Detectors read long baselines (days) from here instead of
--    rescanning agent_spans, so a detector cycle costs in proportion to its window, not to the history.
-- ttl: Hour + toIntervalDay({{retention traces}})
CREATE TABLE IF NOT EXISTS {{database}}.agent_hourly{{on_cluster}} (
    Hour DateTime CODEC(Delta, ZSTD(1)),
    ServiceName LowCardinality(String),
    AgentName LowCardinality(String),
    Operation LowCardinality(String),
    ToolName LowCardinality(String),
    ResultShape String CODEC(ZSTD(1)),
    Calls UInt64,
    Errors UInt64,
    ResultErrors UInt64,
    InputTokens UInt64,
    OutputTokens UInt64,
    CostUsd Float64,
    DurationNs UInt64
) ENGINE = {{engine SummingMergeTree()}}
PARTITION BY toYYYYMM(Hour)
ORDER BY (Hour, ServiceName, AgentName, Operation, ToolName, ResultShape)
{{ttl}}
