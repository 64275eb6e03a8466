SELECT if(AgentName != '', AgentName, '(no agent)') AS agent,
       uniqExact(SessionId) AS sessions, count() AS spans, countIf(Kind = 'llm') AS llm_calls,
       sum(InputTokens + OutputTokens) AS tokens, round(sum(CostUsd), 4) AS cost_usd,
       countIf(IsError = 1) AS errors
FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
GROUP BY agent ORDER BY tokens DESC, spans DESC LIMIT 20
