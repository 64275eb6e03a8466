SELECT $__timeInterval(Timestamp) AS time,
       concat(ToolName, ' · ', if(ResultShape = '', '(no shape)', substring(ResultShape, 1, 60))) AS shape,
       count() AS calls
FROM agent_spans WHERE $__timeFilter(Timestamp) AND Operation = 'execute_tool' AND $__conditionalAll(ToolName IN (${tool:singlequote}), $tool)
GROUP BY time, shape ORDER BY time
