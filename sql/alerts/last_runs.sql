-- name: last_runs
-- description: Each alert rule's latest run and the error it ended with ('' when it ran cleanly).
SELECT Rule AS rule, max(RanAt) AS last_run, argMax(Error, RanAt) AS error
FROM alert_rule_runs
GROUP BY Rule
