SELECT SessionId FROM agent_spans WHERE $__timeFilter(Timestamp) AND SessionId != ''
GROUP BY SessionId ORDER BY max(Timestamp) DESC LIMIT 500
