SELECT DISTINCT ToolName FROM agent_spans WHERE $__timeFilter(Timestamp) AND Operation = 'execute_tool' AND ToolName != '' ORDER BY ToolName
