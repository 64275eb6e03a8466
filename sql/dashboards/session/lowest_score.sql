SELECT minOrNull(Score) AS lowest_score FROM evaluations FINAL WHERE SessionId = ${session:sqlstring} AND Status = 'scored'
