SELECT sum(InputTokens + OutputTokens) AS tokens FROM agent_spans WHERE SessionId = ${session:sqlstring}
