SELECT Timestamp AS time, AgentName, Metric, round(Score, 2) AS score, Label, Explanation
FROM evaluations FINAL WHERE SessionId = ${session:sqlstring} AND Status = 'scored' ORDER BY Timestamp, Metric
