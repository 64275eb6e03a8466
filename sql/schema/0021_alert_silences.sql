-- name: alert_silences
-- description: Silences: alerts whose labels match every matcher are not notified until EndsAt.
CREATE TABLE IF NOT EXISTS {{database}}.alert_silences{{on_cluster}} (
    Id String,
    Matchers Map(LowCardinality(String), String),
    StartsAt DateTime64(3),
    EndsAt DateTime64(3),
    Comment String,
    CreatedBy String,
    UpdatedAt DateTime64(3)
) ENGINE = {{engine ReplacingMergeTree(UpdatedAt)}}
ORDER BY Id
