-- name: alerts
-- description: Notification state, one row per rule × fingerprint (pending → firing → resolved). The highest
--    Version is the current state, so state survives restarts and a replayed run adds no duplicate.
-- ttl: toDateTime(UpdatedAt) + toIntervalDay({{retention findings}})
CREATE TABLE IF NOT EXISTS {{database}}.alerts{{on_cluster}} (
    Rule LowCardinality(String) CODEC(ZSTD(1)),
    Fingerprint String CODEC(ZSTD(1)),
    State LowCardinality(String) CODEC(ZSTD(1)),
    Severity LowCardinality(String) CODEC(ZSTD(1)),
    Labels Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Summary String CODEC(ZSTD(1)),
    ActiveSince DateTime64(3) CODEC(Delta, ZSTD(1)),
    FiredAt DateTime64(3) CODEC(Delta, ZSTD(1)),
    ResolvedAt DateTime64(3) CODEC(Delta, ZSTD(1)),
    LastNotifiedAt DateTime64(3) CODEC(Delta, ZSTD(1)),
    NotifyCount UInt32,
    LastError String CODEC(ZSTD(1)),
    UpdatedAt DateTime64(3) CODEC(Delta, ZSTD(1)),
    Version UInt64
) ENGINE = {{engine ReplacingMergeTree(Version)}}
ORDER BY (Rule, Fingerprint)
{{ttl}}
SETTINGS index_granularity = 8192
