SELECT sum(CostUsd) AS cost FROM agent_spans WHERE SessionId = ${session:sqlstring}
