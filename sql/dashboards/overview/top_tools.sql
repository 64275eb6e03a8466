SELECT ToolName AS tool, count() AS calls,
       round(countIf(Failed = 1) / count(), 3) AS error_rate,
       round(quantile(0.95)(Duration) / 1e6, 1) AS p95_ms, uniqExact(ResultShape) AS shapes,
       uniqExact(AgentName) AS agents
FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent) AND Operation = 'execute_tool'
GROUP BY tool ORDER BY calls DESC LIMIT 20
