-- name: framework_stopped_run
-- failure_mode: runaway_loops_and_cost
-- severity: warning
-- schedule: 1m
-- description: An agent run its framework stopped for going round in circles or past its limits, by the
--    exception or error status on the run's span: CrewAI's repeated-call check ("not making progress"),
--    LangGraph's GraphRecursionError, the OpenAI Agents SDK's MaxTurnsExceeded, pydantic-ai's UsageLimitExceeded.
--    The framework's guard worked, but a run that needs it is a loop agentwatch's own detectors may not see
--    (CrewAI stops at 5 identical calls).
WITH
    -- what stopped a span: its exception events, else its error status message (OpenInference's Agents SDK
    -- instrumentation records MaxTurnsExceeded only as the run's status: "Max turns exceeded")
    stops AS (
        SELECT TraceId, SpanId, e['exception.type'] AS type, e['exception.message'] AS message
        FROM otel_traces
        ARRAY JOIN Events.Attributes AS e
        WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)} AND e['exception.type'] != ''
        UNION ALL
        SELECT TraceId, SpanId, 'error status', StatusMessage
        FROM otel_traces
        WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
          AND StatusCode IN ('Error', 'STATUS_CODE_ERROR') AND StatusMessage != ''
    ),
    limits AS (
        SELECT * FROM stops
        WHERE match(concat(type, ' ', message),
                    '(?i)not making progress|same arguments|GraphRecursionError|recursion limit|MaxTurnsExceeded|max turns|UsageLimitExceeded|max(imum)? (steps|iterations)|max_iter')
    )
SELECT
    lower(hex(sipHash64('framework_stopped_run', s.TraceId, s.SpanId))) AS fingerprint,
    {severity:String} AS severity,
    s.ServiceName AS service_name,
    s.SessionId AS session_id,
    s.TraceId AS trace_id,
    s.AgentName AS agent_name,
    '' AS tool_name,
    format('the framework stopped a run of {}: {}: {}', if(s.AgentName != '', s.AgentName, 'an agent'),
           any(st.type), substring(any(st.message), 1, 300)) AS summary,
    1.0 AS value,
    [s.SpanId] AS evidence,
    toJSONString(map('exception', any(st.type))) AS details
FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)}) AS s
INNER JOIN limits AS st ON st.TraceId = s.TraceId AND st.SpanId = s.SpanId
WHERE s.IsRun
GROUP BY s.TraceId, s.SpanId, s.ServiceName, s.SessionId, s.AgentName
