-- name: runaway_loop
-- failure_mode: runaway_loops_and_cost
-- severity: critical
-- schedule: 1m
-- description: The same tool called with the same arguments (agentwatch.tool.arguments.hash, or a hash of the
--    recorded arguments) again and again in one session: an agent stuck in a loop.
-- param.max_repeats: UInt32 = 5 | identical calls in a session that are still fine
SELECT
    lower(hex(sipHash64('runaway_loop', SessionId, ToolName, ToolArgsHash))) AS fingerprint,
    {severity:String} AS severity,
    any(ServiceName) AS service_name,
    SessionId AS session_id,
    any(TraceId) AS trace_id,
    any(AgentName) AS agent_name,
    ToolName AS tool_name,
    format('{} was called {} times with identical arguments in one session over {}s', ToolName,
           toString(count()), toString(round(dateDiff('millisecond', min(Timestamp), max(Timestamp)) / 1000, 1)))
        AS summary,
    toFloat64(count()) AS value,
    groupArray(20)(SpanId) AS evidence,
    toJSONString(map('arguments_hash', ToolArgsHash)) AS details
FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
  WHERE Operation = 'execute_tool' AND ToolArgsHash != ''
GROUP BY SessionId, ToolName, ToolArgsHash
HAVING count() > {max_repeats:UInt32}
