SELECT ToolName AS tool, count() AS calls, round(quantile(0.5)(Duration) / 1e6, 1) AS p50_ms,
       round(quantile(0.95)(Duration) / 1e6, 1) AS p95_ms,
       round(countIf(Failed = 1) / count(), 3) AS error_rate,
       round(avg(ResultSize)) AS avg_bytes, uniqExact(ResultShape) AS shapes, countIf(ResultSize = 0) AS empty_results
FROM agent_spans WHERE $__timeFilter(Timestamp) AND Operation = 'execute_tool' AND $__conditionalAll(ToolName IN (${tool:singlequote}), $tool)
GROUP BY tool ORDER BY calls DESC
