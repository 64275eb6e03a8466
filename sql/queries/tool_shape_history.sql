-- name: tool_shape_history
-- description: A tool's result shapes over time (hourly, from the agent_hourly rollup): when a new shape appeared.
-- params: tool (String), days (UInt32, how far back)
-- usage: agentwatch sql --query tool_shape_history --param tool=search_orders --param days=7
SELECT
    ResultShape AS shape,
    min(Hour) AS first_seen,
    max(Hour) AS last_seen,
    sum(Calls) AS calls,
    sum(Errors) + sum(ResultErrors) AS errors
FROM agent_hourly
WHERE ToolName = {tool:String} AND Operation = 'execute_tool' AND Hour >= now() - toIntervalDay({days:UInt32})
GROUP BY ResultShape
ORDER BY first_seen
