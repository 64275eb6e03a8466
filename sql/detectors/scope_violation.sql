-- name: scope_violation
-- failure_mode: permission_explosion
-- severity: critical
-- schedule: 1m
-- description: A tool or resource used outside the agent's declared allowed tools / resources. The contract is
--    read from the tool span, or from the trace's invoke_agent span when the tool span does not carry it.
WITH
    contracts AS (
        SELECT TraceId, AgentName, anyLast(AllowedTools) AS agent_tools, anyLast(Resources) AS agent_resources
        FROM agent_spans
        WHERE Timestamp >= {start:DateTime64(9)} - INTERVAL 1 HOUR AND Timestamp < {end:DateTime64(9)}
          AND Operation = 'invoke_agent' AND (notEmpty(AllowedTools) OR notEmpty(Resources))
        GROUP BY TraceId, AgentName
    ),
    calls AS (
        SELECT t.*, if(notEmpty(t.AllowedTools), t.AllowedTools, c.agent_tools) AS allowed,
               if(notEmpty(t.Resources), t.Resources, c.agent_resources) AS allowed_resources
        FROM (
            SELECT * FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
              WHERE Operation = 'execute_tool'
        ) AS t
        LEFT JOIN contracts AS c ON t.TraceId = c.TraceId AND t.AgentName = c.AgentName
    )
SELECT
    lower(hex(sipHash64('scope_violation', SessionId, AgentName, ToolName, Resource))) AS fingerprint,
    {severity:String} AS severity,
    any(ServiceName) AS service_name,
    SessionId AS session_id,
    any(TraceId) AS trace_id,
    AgentName AS agent_name,
    ToolName AS tool_name,
    if(tool_out,
       format('{} called {} ({} times), which is not among its allowed tools [{}]', AgentName, ToolName,
              toString(count()), arrayStringConcat(any(allowed), ', ')),
       format('{} used resource {} through {}, outside its declared resources [{}]', AgentName, Resource, ToolName,
              arrayStringConcat(any(allowed_resources), ', '))) AS summary,
    toFloat64(count()) AS value,
    groupArray(20)(SpanId) AS evidence,
    toJSONString(map('credential', any(Credential))) AS details
FROM calls
GROUP BY SessionId, AgentName, ToolName, Resource,
    notEmpty(allowed) AND NOT has(allowed, ToolName) AS tool_out,
    Resource != '' AND notEmpty(allowed_resources) AND NOT has(allowed_resources, Resource) AS resource_out
HAVING tool_out OR resource_out
