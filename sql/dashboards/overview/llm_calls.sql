SELECT countIf(Kind = 'llm') AS llm_calls FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
