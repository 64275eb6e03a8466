SELECT $__timeInterval(Timestamp) AS time, AgentName, avg(Score) AS {metric:Identifier}
FROM evaluations FINAL WHERE $__timeFilter(Timestamp) AND Status = 'scored' AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent) AND Metric = {metric:String}
GROUP BY time, AgentName ORDER BY time
