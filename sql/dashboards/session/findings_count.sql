SELECT count() AS findings FROM findings FINAL WHERE SessionId = ${session:sqlstring}
