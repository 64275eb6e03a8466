-- name: shared_credential
-- failure_mode: permission_explosion
-- severity: warning
-- schedule: 5m
-- description: One credential identity used by several agents: a blast radius nobody declared.
-- param.max_agents: UInt32 = 1 | agents that may share one credential
SELECT
    lower(hex(sipHash64('shared_credential', Credential))) AS fingerprint,
    {severity:String} AS severity,
    any(ServiceName) AS service_name,
    '' AS session_id,
    '' AS trace_id,
    arrayStringConcat(arraySort(groupUniqArray(AgentName)), ',') AS agent_name,
    '' AS tool_name,
    format('credential {} is used by {} agents: {}', Credential, toString(uniqExact(AgentName)),
           arrayStringConcat(arraySort(groupUniqArray(AgentName)), ', ')) AS summary,
    toFloat64(uniqExact(AgentName)) AS value,
    groupArray(20)(SpanId) AS evidence,
    '{}' AS details
FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
  WHERE Credential != '' AND AgentName != ''
GROUP BY Credential
HAVING uniqExact(AgentName) > {max_agents:UInt32}
