-- name: agent_spans
-- description: One typed row per span, normalised from otel_traces by agent_spans_mv. Detectors and dashboards
--    read this table, so they work for spans from any instrumentation and any collector. SessionId falls back
--    to TraceId when a span names no session; ResultShape is a sorted "field:type" list of the tool result's
--    JSON shape; ToolArgsHash identifies identical tool arguments without storing them.
-- ttl: toDateTime(Timestamp) + toIntervalDay({{retention traces}})
CREATE TABLE IF NOT EXISTS {{database}}.agent_spans{{on_cluster}} (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    SessionId String CODEC(ZSTD(1)),
    AgentName LowCardinality(String) CODEC(ZSTD(1)),
    Operation LowCardinality(String) CODEC(ZSTD(1)),
    Provider LowCardinality(String) CODEC(ZSTD(1)),
    RequestModel LowCardinality(String) CODEC(ZSTD(1)),
    ResponseModel LowCardinality(String) CODEC(ZSTD(1)),
    InputTokens UInt64 CODEC(T64, ZSTD(1)),
    OutputTokens UInt64 CODEC(T64, ZSTD(1)),
    CostUsd Float64 CODEC(ZSTD(1)),
    ToolName LowCardinality(String) CODEC(ZSTD(1)),
    ToolCallId String CODEC(ZSTD(1)),
    ToolArgsHash String CODEC(ZSTD(1)),
    ResultShape String CODEC(ZSTD(1)),
    ResultSize UInt64 CODEC(T64, ZSTD(1)),
    ResultIsError UInt8,
    ResultFlags Array(LowCardinality(String)) CODEC(ZSTD(1)),
    ErrorType LowCardinality(String) CODEC(ZSTD(1)),
    IsError UInt8,
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    Goal String CODEC(ZSTD(1)),
    AllowedTools Array(LowCardinality(String)) CODEC(ZSTD(1)),
    Resources Array(String) CODEC(ZSTD(1)),
    Resource String CODEC(ZSTD(1)),
    Credential LowCardinality(String) CODEC(ZSTD(1)),
    Irreversible UInt8,
    Approved UInt8,
    StepIndex UInt32 CODEC(T64, ZSTD(1)),
    Intent String CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_session_id SessionId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = {{engine MergeTree()}}
PARTITION BY toDate(Timestamp)
ORDER BY (toStartOfHour(toDateTime(Timestamp)), Operation, AgentName, SessionId)
{{ttl}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
