SELECT $__timeInterval(Timestamp) AS time, ToolName,
       quantile(0.5)(ResultSize) AS p50_bytes, max(ResultSize) AS max_bytes
FROM agent_spans WHERE $__timeFilter(Timestamp) AND Operation = 'execute_tool' AND $__conditionalAll(ToolName IN (${tool:singlequote}), $tool)
GROUP BY time, ToolName ORDER BY time
