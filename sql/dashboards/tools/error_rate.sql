SELECT $__timeInterval(Timestamp) AS time, ToolName,
       countIf(Failed = 1) / count() AS error_rate
FROM agent_spans WHERE $__timeFilter(Timestamp) AND Operation = 'execute_tool' AND $__conditionalAll(ToolName IN (${tool:singlequote}), $tool)
GROUP BY time, ToolName ORDER BY time
