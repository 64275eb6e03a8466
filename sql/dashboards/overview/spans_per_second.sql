SELECT $__timeInterval(Timestamp) AS time, Operation, count() / $__interval_s AS spans_per_s
FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
GROUP BY time, Operation ORDER BY time
