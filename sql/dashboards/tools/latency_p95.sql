SELECT $__timeInterval(Timestamp) AS time, ToolName, quantile(0.95)(Duration) / 1e6 AS p95_ms
FROM agent_spans WHERE $__timeFilter(Timestamp) AND Operation = 'execute_tool' AND $__conditionalAll(ToolName IN (${tool:singlequote}), $tool)
GROUP BY time, ToolName ORDER BY time
