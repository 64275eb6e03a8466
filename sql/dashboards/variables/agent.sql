SELECT DISTINCT AgentName FROM agent_spans WHERE $__timeFilter(Timestamp) AND AgentName != '' ORDER BY AgentName
