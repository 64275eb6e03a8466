-- name: answers_with_scores
-- description: Answers with their query, the sources they were grounded in and their scores, lowest grounding
--    first (the place to read what an agent actually said), the texts read where each convention puts them.
-- params: hours (UInt32), limit (UInt32)
-- usage: agentwatch sql --query answers_with_scores --param hours=24 --param limit=20 --format json
SELECT
    e.TraceId AS trace,
    e.AgentName AS agent,
    e.grounding,
    e.relevance,
    e.calibration,
    e.explanation,
    tupleElement(agentwatch_span_text(t.SpanAttributes, t.Events.Name, t.Events.Attributes), 1) AS query,
    tupleElement(agentwatch_span_text(t.SpanAttributes, t.Events.Name, t.Events.Attributes), 2) AS answer,
    src.results AS sources
FROM (
    SELECT TraceId, SpanId, any(AgentName) AS AgentName,
           maxIf(Score, Metric = 'grounding') AS grounding, maxIf(Score, Metric = 'relevance') AS relevance,
           maxIf(Score, Metric = 'calibration') AS calibration, anyIf(Explanation, Metric = 'grounding') AS explanation
    FROM evaluations FINAL
    WHERE Status = 'scored' AND Timestamp >= now() - toIntervalHour({hours:UInt32})
    GROUP BY TraceId, SpanId
) AS e
LEFT JOIN otel_traces AS t ON t.TraceId = e.TraceId AND t.SpanId = e.SpanId
LEFT JOIN (
    SELECT TraceId, groupArray(result) AS results
    FROM (
        SELECT TraceId, agentwatch_tool_result(SpanAttributes, Events.Name, Events.Attributes) AS result
        FROM otel_traces WHERE Timestamp >= now() - toIntervalHour({hours:UInt32} + 1)
    )
    WHERE result != ''
    GROUP BY TraceId
) AS src ON src.TraceId = e.TraceId
ORDER BY e.grounding ASC
LIMIT {limit:UInt32}
