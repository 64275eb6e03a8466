SELECT Timestamp AS time, AgentName, Metric, round(Score, 2) AS score, Label, Explanation, SessionId, TraceId
FROM evaluations FINAL WHERE $__timeFilter(Timestamp) AND Status = 'scored' AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
ORDER BY Score ASC, Timestamp DESC LIMIT 50
