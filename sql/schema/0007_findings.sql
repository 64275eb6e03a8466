-- name: findings
-- description: Detector output. One finding per detector × fingerprint (the same problem found twice is one
--    finding): FirstSeen stays, LastSeen and the evidence move forward as reruns find it again.
-- ttl: toDateTime(LastSeen) + toIntervalDay({{retention findings}})
CREATE TABLE IF NOT EXISTS {{database}}.findings{{on_cluster}} (
    Detector LowCardinality(String) CODEC(ZSTD(1)),
    Fingerprint String CODEC(ZSTD(1)),
    FailureMode LowCardinality(String) CODEC(ZSTD(1)),
    Severity LowCardinality(String) CODEC(ZSTD(1)),
    FirstSeen DateTime64(3) CODEC(Delta, ZSTD(1)),
    LastSeen DateTime64(3) CODEC(Delta, ZSTD(1)),
    WindowStart DateTime64(3) CODEC(Delta, ZSTD(1)),
    WindowEnd DateTime64(3) CODEC(Delta, ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    SessionId String CODEC(ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    AgentName LowCardinality(String) CODEC(ZSTD(1)),
    ToolName LowCardinality(String) CODEC(ZSTD(1)),
    Summary String CODEC(ZSTD(1)),
    Value Float64 CODEC(ZSTD(1)),
    Evidence Array(String) CODEC(ZSTD(1)),
    Details String CODEC(ZSTD(1))
) ENGINE = {{engine ReplacingMergeTree(LastSeen)}}
ORDER BY (Detector, Fingerprint)
{{ttl}}
SETTINGS index_granularity = 8192
