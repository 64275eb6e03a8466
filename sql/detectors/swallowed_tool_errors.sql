-- name: swallowed_tool_errors
-- failure_mode: silent_wrong_answers
-- severity: warning
-- schedule: 1m
-- description: A trace where a tool call failed or returned an error payload, and the agent still finished with
--    a normal answer (no error on its invoke_agent span): the failure never reached the user.
SELECT
    lower(hex(sipHash64('swallowed_tool_errors', TraceId))) AS fingerprint,
    {severity:String} AS severity,
    any(ServiceName) AS service_name,
    any(SessionId) AS session_id,
    TraceId AS trace_id,
    anyIf(AgentName, Operation = 'invoke_agent') AS agent_name,
    arrayStringConcat(arrayDistinct(groupArrayIf(ToolName, failed)), ',') AS tool_name,
    format('{} tool call(s) failed ({}) but the agent answered normally', toString(countIf(failed)),
           arrayStringConcat(arrayDistinct(groupArrayIf(concat(ToolName, ': ', if(ErrorType != '', ErrorType,
                                                                                  'error payload')), failed)), '; '))
        AS summary,
    toFloat64(countIf(failed)) AS value,
    arrayConcat(groupArrayIf(SpanId, failed), groupArrayIf(SpanId, Operation = 'invoke_agent')) AS evidence,
    '{}' AS details
FROM (
    SELECT *, Operation = 'execute_tool' AND Failed = 1
        AS failed
    FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
)
GROUP BY TraceId
HAVING countIf(failed) > 0 AND countIf(Operation = 'invoke_agent') > 0 AND countIf(Operation = 'invoke_agent'
    AND IsError = 1) = 0
