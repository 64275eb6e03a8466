-- name: empty_results_with_hits
-- failure_mode: tool_schema_drift
-- severity: warning
-- schedule: 1m
-- description: Tool results that claim hits (total_hits > 0 or the like) next to an empty result list: an API
--    that changed where it puts its results, answering 200 with nothing usable.
-- param.min_calls: UInt32 = 1 | such results per tool and session before reporting
SELECT
    lower(hex(sipHash64('empty_results_with_hits', ToolName, SessionId))) AS fingerprint,
    {severity:String} AS severity,
    any(ServiceName) AS service_name,
    SessionId AS session_id,
    any(TraceId) AS trace_id,
    any(AgentName) AS agent_name,
    ToolName AS tool_name,
    format('{} returned {} result(s) that claim hits but hold an empty list', ToolName, toString(count())) AS summary,
    toFloat64(count()) AS value,
    groupArray(20)(SpanId) AS evidence,
    '{}' AS details
FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
  WHERE Operation = 'execute_tool' AND has(ResultFlags, 'empty_with_hits')
GROUP BY ToolName, SessionId
HAVING count() >= {min_calls:UInt32}
