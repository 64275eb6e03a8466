SELECT sum(InputTokens + OutputTokens) AS tokens FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
