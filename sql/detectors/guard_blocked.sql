-- name: guard_blocked
-- failure_mode: permission_explosion
-- severity: info
-- schedule: 5m
-- description: Actions a guard stopped before they ran (scope, approval, budget, loop, schema), and answers the
--    answer gate kept from the user (with the fallback they saw instead): the failure prevented, shown so a team
--    sees its guards at work and which agents keep trying. The span of a
--    blocked action carries the guard's event (agentwatch.guard.<name>, decision "blocked").
WITH
    stops AS (
        SELECT SpanId, e['agentwatch.guard.name'] AS guard, e['agentwatch.guard.limit'] AS guard_limit,
               e['agentwatch.guard.observed'] AS observed, e['agentwatch.guard.fallback'] AS fallback, StatusMessage
        FROM otel_traces
        ARRAY JOIN Events.Attributes AS e
        WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
          AND e['agentwatch.guard.decision'] = 'blocked'
    )
SELECT
    lower(hex(sipHash64('guard_blocked', s.SessionId, s.AgentName, s.ToolName, st.guard))) AS fingerprint,
    {severity:String} AS severity,
    any(s.ServiceName) AS service_name,
    s.SessionId AS session_id,
    any(s.TraceId) AS trace_id,
    s.AgentName AS agent_name,
    s.ToolName AS tool_name,
    if(st.guard = 'answer_quality',
       format('the answer gate kept {} answer(s) of {} from the user: grounding {} below {}; {}', toString(count()),
              if(s.AgentName != '', s.AgentName, 'an agent'), any(st.observed), any(st.guard_limit),
              if(any(st.fallback) != '', concat('the user saw the fallback "', any(st.fallback), '"'),
                 'the run raised AgentQualityError')),
       format('the {} guard stopped {}{} of {} before it ran ({} time(s)): {}', st.guard,
              if(s.ToolName != '', s.ToolName, any(s.Operation)), if(max(s.Irreversible) = 1, ' (irreversible)', ''),
              if(s.AgentName != '', s.AgentName, 'an agent'), toString(count()), any(st.StatusMessage))) AS summary,
    toFloat64(count()) AS value,
    groupArray(20)(s.SpanId) AS evidence,
    toJSONString(map('guard', st.guard, 'limit', any(st.guard_limit), 'observed', any(st.observed),
                     'fallback', any(st.fallback))) AS details
FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)}) AS s
INNER JOIN stops AS st ON st.SpanId = s.SpanId
GROUP BY s.SessionId, s.AgentName, s.ToolName, st.guard
