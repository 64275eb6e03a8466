SELECT $__timeInterval(FirstSeen) AS time, FailureMode, count() AS findings
FROM findings FINAL WHERE $__timeFilter(FirstSeen)
GROUP BY time, FailureMode ORDER BY time
