-- name: trace_tree
-- description: A trace's spans as a tree (depth from the root), in start order, from otel_traces.
-- params: trace (String)
-- usage: agentwatch sql --query trace_tree --param trace=<TraceId>
WITH spans AS (
    SELECT SpanId, ParentSpanId, SpanName, Timestamp, Duration, StatusCode
    FROM otel_traces
    WHERE TraceId = {trace:String}
)
SELECT
    repeat('  ', depth) || SpanName AS span,
    Timestamp AS time,
    round(Duration / 1e6, 1) AS ms,
    StatusCode AS status,
    SpanId AS span_id
FROM (
    SELECT s.*, length(arrayFilter(x -> x != '', path)) AS depth
    FROM spans AS s
    LEFT JOIN (
        SELECT c.SpanId AS SpanId,
               [c.ParentSpanId, p1.ParentSpanId, p2.ParentSpanId, p3.ParentSpanId, p4.ParentSpanId] AS path
        FROM spans AS c
        LEFT JOIN spans AS p1 ON p1.SpanId = c.ParentSpanId
        LEFT JOIN spans AS p2 ON p2.SpanId = p1.ParentSpanId
        LEFT JOIN spans AS p3 ON p3.SpanId = p2.ParentSpanId
        LEFT JOIN spans AS p4 ON p4.SpanId = p3.ParentSpanId
    ) AS a USING (SpanId)
)
ORDER BY Timestamp
