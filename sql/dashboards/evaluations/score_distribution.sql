SELECT $__timeInterval(Timestamp) AS time,
       countIf(Score >= 0.0 AND Score < 0.2) AS "0.0-0.2", countIf(Score >= 0.2 AND Score < 0.4) AS "0.2-0.4",
       countIf(Score >= 0.4 AND Score < 0.6) AS "0.4-0.6", countIf(Score >= 0.6 AND Score < 0.8) AS "0.6-0.8",
       countIf(Score >= 0.8 AND Score <= 1.0) AS "0.8-1.0"
FROM evaluations FINAL
WHERE $__timeFilter(Timestamp) AND Status = 'scored' AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
  AND Metric = {metric:String}
GROUP BY time ORDER BY time
