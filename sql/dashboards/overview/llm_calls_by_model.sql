SELECT $__timeInterval(Timestamp) AS time, if(RequestModel != '', RequestModel, 'unknown') AS model, count() AS calls
FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent) AND Kind = 'llm'
GROUP BY time, model ORDER BY time
