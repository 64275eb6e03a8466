-- name: tool_schema_drift
-- failure_mode: tool_schema_drift
-- severity: warning
-- schedule: 5m
-- description: A tool result shape never seen in the tool's baseline (agent_hourly), compared with the shape
--    that dominated it: fields added, removed or retyped are named. A shape already seen in the baseline (an
--    optional field, say) is not drift. A tool without a baseline (a new deployment) is compared within the
--    window: a shape that takes over from an established one (every call of the old shape came before the
--    first of the new) is drift; shapes that alternate from call to call (optional fields) are not.
-- param.min_baseline_calls: UInt32 = 20 | calls a shape needs (in the baseline, or before it was replaced) to be trusted
-- param.min_new_calls: UInt32 = 3 | calls of the new shape, within the window, that make a replacement
WITH
    baseline AS (
        SELECT ToolName, ResultShape, sum(Calls) AS calls
        FROM agent_hourly
        WHERE Hour >= toStartOfHour({baseline_start:DateTime64(9)}) AND Hour < toStartOfHour({start:DateTime64(9)})
          AND Operation = 'execute_tool' AND ResultShape != ''
        GROUP BY ToolName, ResultShape
    ),
    dominant AS (
        SELECT ToolName, argMax(ResultShape, calls) AS shape, sum(calls) AS total, groupArray(ResultShape) AS known
        FROM baseline
        GROUP BY ToolName
        HAVING total >= {min_baseline_calls:UInt32}
    ),
    current AS (
        SELECT ToolName, ResultShape, count() AS n, groupArray(20)(SpanId) AS spans, any(ServiceName) AS service,
               any(AgentName) AS agent, any(SessionId) AS session, any(TraceId) AS trace,
               min(Timestamp) AS first_call, max(Timestamp) AS last_call
        FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
          WHERE Operation = 'execute_tool' AND ResultShape != ''
        GROUP BY ToolName, ResultShape
    ),
    references AS (
        SELECT c.ToolName AS ToolName, c.ResultShape AS ResultShape, d.shape AS base_shape, d.total AS base_calls,
               'baseline' AS basis
        FROM current AS c
        INNER JOIN dominant AS d USING (ToolName)
        WHERE NOT has(d.known, c.ResultShape)
        UNION ALL
        SELECT fresh.ToolName, fresh.ResultShape, established.ResultShape, established.n, 'window'
        FROM current AS fresh
        INNER JOIN current AS established USING (ToolName)
        WHERE fresh.ToolName NOT IN (SELECT ToolName FROM dominant)
          AND established.n >= {min_baseline_calls:UInt32} AND fresh.n >= {min_new_calls:UInt32}
          AND fresh.first_call > established.last_call
    ),
    compared AS (
        SELECT c.*, r.base_shape AS base_shape, r.base_calls AS base_calls, r.basis AS basis,
            arrayMap(e -> (arrayStringConcat(arrayPopBack(splitByChar(':', e)), ':'), splitByChar(':', e)[-1]),
                     splitByChar(',', c.ResultShape)) AS now_fields,
            arrayMap(e -> (arrayStringConcat(arrayPopBack(splitByChar(':', e)), ':'), splitByChar(':', e)[-1]),
                     splitByChar(',', r.base_shape)) AS base_fields,
            arrayMap(f -> f.1, now_fields) AS now_keys,
            arrayMap(f -> f.1, base_fields) AS base_keys,
            arrayFilter(k -> NOT has(base_keys, k), now_keys) AS added,
            arrayFilter(k -> NOT has(now_keys, k), base_keys) AS removed,
            arrayMap(f -> concat(f.1, ' ', arrayFirst(b -> b.1 = f.1, base_fields).2, '→', f.2),
                     arrayFilter(f -> has(base_keys, f.1) AND NOT has(base_fields, f), now_fields)) AS retyped
        FROM current AS c
        INNER JOIN references AS r ON r.ToolName = c.ToolName AND r.ResultShape = c.ResultShape
    )
SELECT
    lower(hex(sipHash64('tool_schema_drift', ToolName, ResultShape))) AS fingerprint,
    {severity:String} AS severity,
    service AS service_name,
    session AS session_id,
    trace AS trace_id,
    agent AS agent_name,
    ToolName AS tool_name,
    format('{} returned a new result shape in {} call(s): {}{}{}({} shape seen in {} calls)', ToolName,
           toString(n),
           if(empty(added), '', concat('added ', arrayStringConcat(added, ', '), '; ')),
           if(empty(removed), '', concat('removed ', arrayStringConcat(removed, ', '), '; ')),
           if(empty(retyped), '', concat('retyped ', arrayStringConcat(retyped, ', '), '; ')),
           if(basis = 'baseline', 'baseline', 'replacing the'), toString(base_calls)) AS summary,
    toFloat64(n) AS value,
    spans AS evidence,
    toJSONString(map('shape', ResultShape, 'baseline_shape', base_shape, 'compared_with', basis)) AS details
FROM compared
