SELECT countIf(Failed = 1) / greatest(count(), 1) AS error_rate FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
