-- name: agent_histogram_mv
-- description: Fills agent_histogram: input tokens of LLM calls and latency (ms) of tool calls, in log2 buckets
--    (replaces 0017: an LLM call is any span of Kind llm).
CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.agent_histogram_mv{{on_cluster}}
TO {{database}}.agent_histogram
AS SELECT
    toStartOfHour(toDateTime(Timestamp)) AS Hour,
    AgentName,
    if(Kind = 'tool', 'tool_latency_ms', 'input_tokens') AS Signal,
    toUInt8(least(40, floor(log2(1 + if(Kind = 'tool', Duration / 1000000, InputTokens))))) AS Bucket,
    count() AS Count
FROM {{database}}.agent_spans
WHERE Kind = 'tool' OR (Kind = 'llm' AND InputTokens > 0)
GROUP BY Hour, AgentName, Signal, Bucket
