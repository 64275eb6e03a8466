-- name: retry_storm
-- failure_mode: runaway_loops_and_cost
-- severity: warning
-- schedule: 1m
-- description: Many rate-limited LLM calls in one session: retries hammering a provider that asked to slow down.
-- param.min_rate_limited: UInt32 = 5 | rate-limit errors in a session before it is a storm
SELECT
    lower(hex(sipHash64('retry_storm', SessionId))) AS fingerprint,
    {severity:String} AS severity,
    any(ServiceName) AS service_name,
    SessionId AS session_id,
    any(TraceId) AS trace_id,
    any(AgentName) AS agent_name,
    '' AS tool_name,
    format('{} rate-limited LLM calls in {}s', toString(count()),
           toString(round(dateDiff('millisecond', min(Timestamp), max(Timestamp)) / 1000, 1))) AS summary,
    toFloat64(count()) AS value,
    groupArray(20)(SpanId) AS evidence,
    '{}' AS details
FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
  WHERE Operation = 'chat'
  AND (ErrorType ILIKE '%ratelimit%' OR ErrorType ILIKE '%rate_limit%' OR ErrorType = '429')
GROUP BY SessionId
HAVING count() >= {min_rate_limited:UInt32}
