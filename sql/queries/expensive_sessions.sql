-- name: expensive_sessions
-- description: An agent's most expensive sessions (tokens and estimated cost) in the last days.
-- params: agent (String), days (UInt32), limit (UInt32)
-- usage: agentwatch sql --query expensive_sessions --param agent=support --param days=1 --param limit=20
SELECT
    SessionId AS session,
    count() AS spans,
    countIf(Operation = 'chat') AS llm_calls,
    countIf(Operation = 'execute_tool') AS tool_calls,
    sum(InputTokens + OutputTokens) AS tokens,
    round(sum(CostUsd), 4) AS cost_usd,
    min(Timestamp) AS started,
    dateDiff('second', min(Timestamp), max(Timestamp)) AS seconds
FROM agent_spans
WHERE Timestamp >= now() - toIntervalDay({days:UInt32})
  AND SessionId IN (SELECT DISTINCT SessionId FROM agent_spans
                    WHERE AgentName = {agent:String} AND Timestamp >= now() - toIntervalDay({days:UInt32}))
GROUP BY SessionId
ORDER BY tokens DESC, cost_usd DESC
LIMIT {limit:UInt32}
