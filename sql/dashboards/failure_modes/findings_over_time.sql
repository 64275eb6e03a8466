SELECT $__timeInterval(FirstSeen) AS time, Detector, count() AS findings
FROM findings FINAL
WHERE FailureMode = {failure_mode:String} AND $__timeFilter(FirstSeen) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
GROUP BY time, Detector ORDER BY time
