SELECT Timestamp AS time, AgentName, InputTokens AS input_tokens
FROM agent_spans WHERE SessionId = ${session:sqlstring} AND Kind = 'llm'
ORDER BY time
