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
    SELECT ServiceName, SpanId, TraceId,
           arrayFirst(x -> x != '', [SpanAttributes['gen_ai.conversation.id'], SpanAttributes['session.id'], TraceId])
               AS SessionId,
           SpanAttributes['gen_ai.agent.name'] AS AgentName,
           arrayFirst(x -> x != '', [SpanAttributes['gen_ai.tool.name'], SpanAttributes['tool.name']]) AS ToolName,
           toUInt64OrZero(SpanAttributes['agentwatch.redacted'])
               + toUInt64OrZero(SpanAttributes['agentwatch.content.redacted']) AS secrets
    FROM otel_traces
    WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
      AND (mapContains(SpanAttributes, 'agentwatch.redacted') OR mapContains(SpanAttributes,
                                                                             'agentwatch.content.redacted'))
)
WHERE ToolName != '' AND secrets > 0
GROUP BY SessionId, ToolName
