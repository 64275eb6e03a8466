-- name: tool_schema_drift
-- failure_mode: tool_schema_drift
-- severity: warning
-- schedule: 5m
-- description: A tool result shape never seen in the tool's baseline (agent_hourly), compared with the shape
--    that dominated it: fields added, removed or retyped are named. A shape already seen in the baseline (an
--    optional field, say) is not drift.
-- param.min_baseline_calls: UInt32 = 20 | calls a tool needs in its baseline before its shape is trusted
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
               any(AgentName) AS agent, any(SessionId) AS session, any(TraceId) AS trace
        FROM agent_spans
        WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
          AND Operation = 'execute_tool' AND ResultShape != ''
        GROUP BY ToolName, ResultShape
    ),
    compared AS (
        SELECT c.*, d.shape AS base_shape, d.total AS base_calls,
            arrayMap(e -> (arrayStringConcat(arrayPopBack(splitByChar(':', e)), ':'), splitByChar(':', e)[-1]),
                     splitByChar(',', c.ResultShape)) AS now_fields,
            arrayMap(e -> (arrayStringConcat(arrayPopBack(splitByChar(':', e)), ':'), splitByChar(':', e)[-1]),
                     splitByChar(',', d.shape)) AS base_fields,
            arrayMap(f -> f.1, now_fields) AS now_keys,
            arrayMap(f -> f.1, base_fields) AS base_keys,
            arrayFilter(k -> NOT has(base_keys, k), now_keys) AS added,
            arrayFilter(k -> NOT has(now_keys, k), base_keys) AS removed,
            arrayMap(f -> concat(f.1, ' ', arrayFirst(b -> b.1 = f.1, base_fields).2, '→', f.2),
                     arrayFilter(f -> has(base_keys, f.1) AND NOT has(base_fields, f), now_fields)) AS retyped
        FROM current AS c
        INNER JOIN dominant AS d USING (ToolName)
        WHERE NOT has(d.known, c.ResultShape)
    )
SELECT
    lower(hex(sipHash64('tool_schema_drift', ToolName, ResultShape))) AS fingerprint,
    {severity:String} AS severity,
    service AS service_name,
    session AS session_id,
    trace AS trace_id,
    agent AS agent_name,
    ToolName AS tool_name,
    format('{} returned a new result shape in {} call(s): {}{}{}(baseline shape seen in {} calls)', ToolName,
           toString(n),
           if(empty(added), '', concat('added ', arrayStringConcat(added, ', '), '; ')),
           if(empty(removed), '', concat('removed ', arrayStringConcat(removed, ', '), '; ')),
           if(empty(retyped), '', concat('retyped ', arrayStringConcat(retyped, ', '), '; ')),
           toString(base_calls)) AS summary,
    toFloat64(n) AS value,
    spans AS evidence,
    toJSONString(map('shape', ResultShape, 'baseline_shape', base_shape)) AS details
FROM compared
