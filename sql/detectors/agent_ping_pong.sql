-- name: agent_ping_pong
-- failure_mode: runaway_loops_and_cost
-- severity: critical
-- schedule: 1m
-- description: Agents handing a session back and forth (A→B→A→B…): each return to the agent two hand-offs
--    back counts once.
-- param.min_alternations: UInt32 = 3 | A→B→A returns in a session before it is a loop
SELECT
    lower(hex(sipHash64('agent_ping_pong', SessionId))) AS fingerprint,
    {severity:String} AS severity,
    service AS service_name,
    SessionId AS session_id,
    trace AS trace_id,
    arrayStringConcat(arrayDistinct(agents), ',') AS agent_name,
    '' AS tool_name,
    format('agents handed the session back and forth {} times: {}', toString(alternations),
           arrayStringConcat(arraySlice(agents, 1, 12), ' → ')) AS summary,
    toFloat64(alternations) AS value,
    arraySlice(spans, 1, 20) AS evidence,
    '{}' AS details
FROM (
    SELECT
        SessionId,
        any(ServiceName) AS service,
        any(TraceId) AS trace,
        arrayMap(x -> x.2, arraySort(groupArray((Timestamp, AgentName)))) AS agents,
        arrayMap(x -> x.2, arraySort(groupArray((Timestamp, SpanId)))) AS spans,
        arrayCount(i -> agents[i] = agents[i + 2] AND agents[i] != agents[i + 1],
                   arrayEnumerate(arraySlice(agents, 1, greatest(length(agents) - 2, 0)))) AS alternations
    FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
    WHERE Operation = 'invoke_agent'
    GROUP BY SessionId
)
WHERE alternations >= {min_alternations:UInt32}
