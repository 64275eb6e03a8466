-- name: agent_guards
-- description: The guards each agent ran with in [start, end), as a parameterised view: agent_guards(start = …,
--    end = …). @agentwatch.agent records the effective configuration on every invoke_agent span
--    (agentwatch.guards.*); a cap counts as set when every recorded run had it (Runs*With = RunsRecorded), and its
--    value is the loosest one seen. RunsScoped counts runs that declared their allowed tools (an empty list
--    included: no tool allowed). The audit reads it (questions 1, 2, 4 and 6).
CREATE VIEW IF NOT EXISTS {{database}}.agent_guards{{on_cluster}} AS
SELECT
    SpanAttributes['gen_ai.agent.name'] AS AgentName,
    count() AS Runs,
    countIf(SpanAttributes['agentwatch.guards.enabled'] != '') AS RunsRecorded,
    countIf(SpanAttributes['agentwatch.guards.enabled'] = 'true') AS RunsGuarded,
    countIf(SpanAttributes['agentwatch.guards.max_steps'] != '') AS RunsWithMaxSteps,
    max(toFloat64OrZero(SpanAttributes['agentwatch.guards.max_steps'])) AS MaxSteps,
    countIf(SpanAttributes['agentwatch.guards.max_tokens'] != '') AS RunsWithMaxTokens,
    max(toFloat64OrZero(SpanAttributes['agentwatch.guards.max_tokens'])) AS MaxTokens,
    countIf(SpanAttributes['agentwatch.guards.max_cost_usd'] != '') AS RunsWithMaxCost,
    max(toFloat64OrZero(SpanAttributes['agentwatch.guards.max_cost_usd'])) AS MaxCostUsd,
    countIf(SpanAttributes['agentwatch.guards.max_repeats'] != '') AS RunsWithMaxRepeats,
    countIf(SpanAttributes['agentwatch.guards.min_grounding'] != '') AS RunsGated,
    min(toFloat64OrZero(SpanAttributes['agentwatch.guards.min_grounding'])) AS MinGrounding,
    countIf(SpanAttributes['agentwatch.agent.allowed_tools'] != '') AS RunsScoped,
    countIf(SpanAttributes['agentwatch.guards.enforce_scope'] = 'true') AS RunsScopeEnforced,
    countIf(SpanAttributes['agentwatch.guards.require_approval'] = 'true') AS RunsApprovalRequired
FROM {{database}}.otel_traces
WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
  AND SpanAttributes['gen_ai.operation.name'] = 'invoke_agent' AND SpanAttributes['gen_ai.agent.name'] != ''
GROUP BY AgentName
