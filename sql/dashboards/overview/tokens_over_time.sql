SELECT $__timeInterval(Timestamp) AS time, sum(InputTokens) AS input_tokens, sum(OutputTokens) AS output_tokens
FROM agent_spans WHERE $__timeFilter(Timestamp) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
GROUP BY time ORDER BY time
