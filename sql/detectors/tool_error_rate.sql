-- name: tool_error_rate
-- failure_mode: tool_schema_drift
-- severity: warning
-- schedule: 5m
-- description: A tool whose error rate (raised errors and error payloads) in the window jumped against its
--    baseline rate (agent_hourly).
-- param.min_calls: UInt32 = 10 | calls in the window before the rate counts
-- param.min_rate: Float64 = 0.2 | error rate in the window that is worth a finding at all
-- param.factor: Float64 = 3 | window rate over baseline rate, at least
WITH
    baseline AS (
        SELECT ToolName, sum(Calls) AS calls, sum(Errors) + sum(ResultErrors) AS errors
        FROM agent_hourly
        WHERE Hour >= toStartOfHour({baseline_start:DateTime64(9)}) AND Hour < toStartOfHour({start:DateTime64(9)})
          AND Operation = 'execute_tool'
        GROUP BY ToolName
    ),
    current AS (
        SELECT ToolName, count() AS calls,
               countIf(Failed = 1) AS errors,
               groupArrayIf(20)(SpanId, Failed = 1)
                   AS spans,
               any(ServiceName) AS service, any(AgentName) AS agent
        FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
        WHERE Operation = 'execute_tool'
        GROUP BY ToolName
    )
SELECT
    lower(hex(sipHash64('tool_error_rate', c.ToolName))) AS fingerprint,
    {severity:String} AS severity,
    c.service AS service_name,
    '' AS session_id,
    '' AS trace_id,
    c.agent AS agent_name,
    c.ToolName AS tool_name,
    format('{} error rate {}% ({} of {} calls) against {}% in its baseline', c.ToolName,
           toString(round(c.errors / c.calls * 100, 1)), toString(c.errors), toString(c.calls),
           toString(round(if(b.calls > 0, b.errors / b.calls, 0) * 100, 1))) AS summary,
    c.errors / c.calls AS value,
    c.spans AS evidence,
    toJSONString(map('baseline_calls', toString(b.calls), 'baseline_errors', toString(b.errors))) AS details
FROM current AS c
LEFT JOIN baseline AS b USING (ToolName)
WHERE c.calls >= {min_calls:UInt32}
  AND c.errors / c.calls >= {min_rate:Float64}
  AND c.errors / c.calls > if(b.calls > 0, b.errors / b.calls, 0) * {factor:Float64}
