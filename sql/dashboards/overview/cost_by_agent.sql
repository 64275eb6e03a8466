SELECT $__timeInterval(Timestamp) AS time, if(AgentName != '', AgentName, ServiceName) AS agent, sum(CostUsd) AS cost
FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent) AND CostUsd > 0
GROUP BY time, agent ORDER BY time
