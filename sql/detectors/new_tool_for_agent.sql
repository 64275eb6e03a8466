-- name: new_tool_for_agent
-- failure_mode: goal_drift
-- severity: info
-- schedule: 5m
-- description: A tool an agent has never used in its baseline (agent_hourly), for agents with an established
--    baseline.
-- param.min_baseline_calls: UInt32 = 50 | tool calls an agent needs in its baseline before new tools count
WITH
    baseline AS (
        SELECT AgentName, groupUniqArray(ToolName) AS tools, sum(Calls) AS calls
        FROM agent_hourly
        WHERE Hour >= toStartOfHour({baseline_start:DateTime64(9)}) AND Hour < toStartOfHour({start:DateTime64(9)})
          AND Operation = 'execute_tool' AND AgentName != ''
        GROUP BY AgentName
        HAVING calls >= {min_baseline_calls:UInt32}
    )
SELECT
    lower(hex(sipHash64('new_tool_for_agent', s.AgentName, s.ToolName))) AS fingerprint,
    {severity:String} AS severity,
    any(s.ServiceName) AS service_name,
    any(s.SessionId) AS session_id,
    any(s.TraceId) AS trace_id,
    s.AgentName AS agent_name,
    s.ToolName AS tool_name,
    format('{} used {} for the first time ({} calls); its baseline has {} calls to [{}]', s.AgentName, s.ToolName,
           toString(count()), toString(any(b.calls)), arrayStringConcat(arraySort(any(b.tools)), ', ')) AS summary,
    toFloat64(count()) AS value,
    groupArray(20)(s.SpanId) AS evidence,
    '{}' AS details
FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)}) AS s
INNER JOIN baseline AS b ON s.AgentName = b.AgentName
WHERE s.Operation = 'execute_tool' AND NOT has(b.tools, s.ToolName)
GROUP BY s.AgentName, s.ToolName
