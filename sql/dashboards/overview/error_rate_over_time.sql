SELECT $__timeInterval(Timestamp) AS time,
       countIf(IsError = 1) / count() AS span_errors,
       countIf(Operation = 'execute_tool' AND Failed = 1 AND IsError = 0)
           / greatest(countIf(Operation = 'execute_tool'), 1) AS tool_error_payloads
FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
GROUP BY time ORDER BY time
