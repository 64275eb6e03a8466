SELECT f.FailureMode AS failure_mode, f.findings AS findings, ifNull(a.firing, 0) AS firing_alerts
FROM (
    SELECT FailureMode, count() AS findings FROM findings FINAL WHERE $__timeFilter(LastSeen) GROUP BY FailureMode
) AS f
LEFT JOIN (
    SELECT Labels['failure_mode'] AS FailureMode, countIf(State = 'firing') AS firing FROM alerts FINAL
    GROUP BY FailureMode
) AS a ON a.FailureMode = f.FailureMode
ORDER BY findings DESC
