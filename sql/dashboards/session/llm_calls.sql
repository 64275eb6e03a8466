SELECT countIf(Kind = 'llm') AS llm_calls FROM agent_spans WHERE SessionId = ${session:sqlstring}
