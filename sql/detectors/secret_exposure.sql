-- name: secret_exposure
-- failure_mode: permission_explosion
-- severity: critical
-- schedule: 1m
-- description: Secrets (API keys, tokens, private keys, passwords) that appeared in tool arguments or results and
--    were redacted on the way in (by the SDK or at the collector): the agent is handling credentials in content.
SELECT
    lower(hex(sipHash64('secret_exposure', SessionId, ToolName))) AS fingerprint,
    {severity:String} AS severity,
    any(ServiceName) AS service_name,
    SessionId AS session_id,
    any(TraceId) AS trace_id,
    any(AgentName) AS agent_name,
    ToolName AS tool_name,
    format('{} secret(s) appeared in {} arguments or results ({} calls) and were redacted', toString(sum(secrets)),
           ToolName, toString(count())) AS summary,
    toFloat64(sum(secrets)) AS value,
    groupArray(20)(SpanId) AS evidence,
    '{}' AS details
FROM (
    -- whose the span is (session, agent, tool) as agent_spans resolves it for every convention; the count of
    -- secrets redacted from it as the SDK or the collector recorded it on the stored span
    SELECT t.ServiceName AS ServiceName, t.SpanId AS SpanId, t.TraceId AS TraceId, s.SessionId AS SessionId,
           s.AgentName AS AgentName, s.ToolName AS ToolName, t.secrets AS secrets
    FROM (
        SELECT ServiceName, TraceId, SpanId,
               toUInt64OrZero(SpanAttributes['agentwatch.redacted'])
                   + toUInt64OrZero(SpanAttributes['agentwatch.content.redacted']) AS secrets
        FROM otel_traces
        WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
          AND (mapContains(SpanAttributes, 'agentwatch.redacted')
               OR mapContains(SpanAttributes, 'agentwatch.content.redacted'))
    ) AS t
    INNER JOIN (
        SELECT TraceId, SpanId, SessionId, AgentName, ToolName
        FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
        WHERE ToolName != ''
    ) AS s ON s.TraceId = t.TraceId AND s.SpanId = t.SpanId
)
WHERE secrets > 0
GROUP BY SessionId, ToolName
