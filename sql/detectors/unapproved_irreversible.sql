-- name: unapproved_irreversible
-- failure_mode: goal_drift
-- severity: critical
-- schedule: 1m
-- description: An irreversible action (a tool declared irreversible) executed without an approval. An action a
--    guard blocked did not run: it is reported by guard_blocked, not here.
WITH
    blocked AS (
        SELECT SpanId FROM otel_traces
        WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
          AND arrayExists(a -> a['agentwatch.guard.decision'] = 'blocked', Events.Attributes)
    )
SELECT
    lower(hex(sipHash64('unapproved_irreversible', SpanId))) AS fingerprint,
    {severity:String} AS severity,
    ServiceName AS service_name,
    SessionId AS session_id,
    TraceId AS trace_id,
    AgentName AS agent_name,
    ToolName AS tool_name,
    format('{} ran the irreversible action {}{} without approval{}', if(AgentName != '', AgentName, 'an agent'),
           ToolName, if(Resource != '', concat(' on ', Resource), ''),
           if(IsError = 1, ' (it failed)', '')) AS summary,
    1.0 AS value,
    [SpanId] AS evidence,
    toJSONString(map('credential', Credential, 'step', toString(StepIndex))) AS details
FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
  WHERE Operation = 'execute_tool' AND Irreversible = 1 AND Approved = 0
  AND SpanId NOT IN (SELECT SpanId FROM blocked)
