-- name: session_budget
-- failure_mode: runaway_loops_and_cost
-- severity: warning
-- schedule: 1m
-- description: A session over a step, token or cost cap: step explosions and sessions that quietly burn money.
-- param.max_steps: UInt32 = 60 | tool calls, LLM calls and steps in one session
-- param.max_tokens: UInt64 = 250000 | LLM input + output tokens in one session
-- param.max_cost: Float64 = 10 | estimated USD in one session (agentwatch.usage.cost_usd)
SELECT
    lower(hex(sipHash64('session_budget', SessionId))) AS fingerprint,
    {severity:String} AS severity,
    service AS service_name,
    SessionId AS session_id,
    trace AS trace_id,
    agent AS agent_name,
    '' AS tool_name,
    format('session over budget: {} steps (cap {}), {} tokens (cap {}), ${} (cap ${})', toString(steps),
           toString({max_steps:UInt32}), toString(tokens), toString({max_tokens:UInt64}), toString(round(cost, 2)),
           toString({max_cost:Float64})) AS summary,
    greatest(steps / {max_steps:UInt32}, tokens / {max_tokens:UInt64}, cost / {max_cost:Float64}) AS value,
    spans AS evidence,
    toJSONString(map('steps', toString(steps), 'tokens', toString(tokens), 'cost_usd', toString(cost))) AS details
FROM (
    SELECT
        SessionId,
        any(ServiceName) AS service,
        any(TraceId) AS trace,
        anyIf(AgentName, AgentName != '') AS agent,
        countIf(Operation IN ('execute_tool', 'chat') OR Intent != '') AS steps,
        sum(InputTokens + OutputTokens) AS tokens,
        sum(CostUsd) AS cost,
        groupArray(10)(SpanId) AS spans
    FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
    GROUP BY SessionId
)
WHERE steps > {max_steps:UInt32} OR tokens > {max_tokens:UInt64} OR cost > {max_cost:Float64}
