SELECT count() AS spans FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
