-- name: alert_rule_runs
-- description: The last run of each alert rule (when, how long, findings, error), for `agentwatch alerts list`.
CREATE TABLE IF NOT EXISTS {{database}}.alert_rule_runs{{on_cluster}} (
    Rule LowCardinality(String),
    RanAt DateTime64(3),
    Seconds Float64,
    Findings UInt32,
    Error String
) ENGINE = {{engine ReplacingMergeTree(RanAt)}}
ORDER BY Rule
