SELECT ToolName AS tool, ResultShape AS shape, min(Timestamp) AS first_seen, max(Timestamp) AS last_seen,
       count() AS calls, uniqExact(AgentName) AS agents
FROM agent_spans WHERE $__timeFilter(Timestamp) AND Operation = 'execute_tool' AND $__conditionalAll(ToolName IN (${tool:singlequote}), $tool)
GROUP BY tool, shape ORDER BY first_seen DESC LIMIT 50
