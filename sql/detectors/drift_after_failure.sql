-- name: drift_after_failure
-- failure_mode: goal_drift
-- severity: critical
-- schedule: 1m
-- description: After a failed step, the agent went on to an irreversible action or a tool outside its declared
--    scope: improvising past a failure instead of stopping.
SELECT
    lower(hex(sipHash64('drift_after_failure', SessionId))) AS fingerprint,
    {severity:String} AS severity,
    any(ServiceName) AS service_name,
    SessionId AS session_id,
    any(TraceId) AS trace_id,
    anyIf(AgentName, AgentName != '') AS agent_name,
    arrayStringConcat(arrayDistinct(groupArrayIf(ToolName, drifted)), ',') AS tool_name,
    format('after {} failed, the agent went on to {}', argMinIf(if(ToolName != '', ToolName, SpanName), Timestamp,
           failed), arrayStringConcat(arrayDistinct(groupArrayIf(concat(ToolName, if(Irreversible = 1,
           ' (irreversible)', ' (outside its allowed tools)')), drifted)), ', ')) AS summary,
    toFloat64(countIf(drifted)) AS value,
    arrayConcat([argMinIf(SpanId, Timestamp, failed)], groupArrayIf(20)(SpanId, drifted)) AS evidence,
    '{}' AS details
FROM (
    SELECT *,
        Operation IN ('execute_tool', 'chat') AND Failed = 1 AS failed,
        min(if(Operation IN ('execute_tool', 'chat') AND Failed = 1, Timestamp,
               toDateTime64('2262-01-01', 9))) OVER (PARTITION BY SessionId) AS first_failure,
        Operation = 'execute_tool' AND Timestamp > first_failure
            AND ((Irreversible = 1 AND Approved = 0) OR (notEmpty(AllowedTools) AND NOT has(AllowedTools, ToolName)))
            AS drifted
    FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
)
GROUP BY SessionId
HAVING countIf(drifted) > 0
