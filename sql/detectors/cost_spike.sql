-- name: cost_spike
-- failure_mode: runaway_loops_and_cost
-- severity: warning
-- schedule: 5m
-- description: An agent's LLM tokens per hour in the window against its hourly average over the baseline
--    (agent_hourly): a spike in spend.
-- param.factor: Float64 = 3 | window hourly rate over baseline hourly rate, at least
-- param.min_tokens: UInt64 = 20000 | tokens in the window worth a finding at all
WITH
    baseline AS (
        SELECT AgentName, sum(InputTokens + OutputTokens) / greatest(1, dateDiff('hour',
               toStartOfHour({baseline_start:DateTime64(9)}), toStartOfHour({start:DateTime64(9)}))) AS per_hour,
               sum(CostUsd) AS cost
        FROM agent_hourly
        WHERE Hour >= toStartOfHour({baseline_start:DateTime64(9)}) AND Hour < toStartOfHour({start:DateTime64(9)})
          AND Operation = 'chat'
        GROUP BY AgentName
        HAVING per_hour > 0
    ),
    current AS (
        SELECT AgentName, sum(InputTokens + OutputTokens) AS tokens, any(ServiceName) AS service,
               sum(InputTokens + OutputTokens) / greatest(1 / 60, dateDiff('second', {start:DateTime64(9)},
                   {end:DateTime64(9)}) / 3600) AS per_hour,
               groupArray(10)(SpanId) AS spans
        FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
        WHERE Operation = 'chat'
        GROUP BY AgentName
    )
SELECT
    lower(hex(sipHash64('cost_spike', c.AgentName))) AS fingerprint,
    {severity:String} AS severity,
    c.service AS service_name,
    '' AS session_id,
    '' AS trace_id,
    c.AgentName AS agent_name,
    '' AS tool_name,
    format('{} is spending {} tokens/hour, {}x its baseline of {} tokens/hour', c.AgentName,
           toString(round(c.per_hour)), toString(round(c.per_hour / b.per_hour, 1)), toString(round(b.per_hour)))
        AS summary,
    c.per_hour / b.per_hour AS value,
    c.spans AS evidence,
    '{}' AS details
FROM current AS c
INNER JOIN baseline AS b USING (AgentName)
WHERE c.tokens >= {min_tokens:UInt64} AND c.per_hour >= b.per_hour * {factor:Float64}
