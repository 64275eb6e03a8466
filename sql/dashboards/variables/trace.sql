SELECT TraceId FROM agent_spans WHERE SessionId = ${session:sqlstring}
GROUP BY TraceId ORDER BY min(Timestamp) LIMIT 100
