SELECT count() AS spans FROM agent_spans WHERE SessionId = ${session:sqlstring}
