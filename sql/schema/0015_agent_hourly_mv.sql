-- name: agent_hourly_mv
-- description: Fills agent_hourly from every insert into agent_spans.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.agent_hourly_mv{{on_cluster}}
TO {{database}}.agent_hourly
AS SELECT
    toStartOfHour(toDateTime(Timestamp)) AS Hour,
    ServiceName,
    AgentName,
    Operation,
    ToolName,
    ResultShape,
    count() AS Calls,
    countIf(IsError = 1) AS Errors,
    countIf(ResultIsError = 1 OR has(ResultFlags, 'error_payload')) AS ResultErrors,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    sum(CostUsd) AS CostUsd,
    sum(Duration) AS DurationNs
FROM {{database}}.agent_spans
GROUP BY Hour, ServiceName, AgentName, Operation, ToolName, ResultShape
