-- name: ungrounded_answers
-- failure_mode: silent_wrong_answers
-- severity: critical
-- schedule: 1m
-- description: Answers whose grounding, relevance or calibration score (from the evaluators) is below its
--    threshold: the confident wrong answer behind an HTTP 200.
-- param.min_grounding: Float64 = 0.5 | lowest acceptable grounding score
-- param.min_relevance: Float64 = 0.4 | lowest acceptable relevance score
-- param.min_calibration: Float64 = 0.4 | lowest acceptable calibration score
SELECT
    lower(hex(sipHash64('ungrounded_answers', TraceId, SpanId, Metric))) AS fingerprint,
    {severity:String} AS severity,
    ServiceName AS service_name,
    SessionId AS session_id,
    TraceId AS trace_id,
    AgentName AS agent_name,
    '' AS tool_name,
    format('{} score {} is below {} ({}): {}', Metric, toString(round(Score, 2)), toString(threshold),
           Evaluator, Explanation) AS summary,
    Score AS value,
    [SpanId] AS evidence,
    toJSONString(map('metric', Metric, 'label', Label, 'evaluator', Evaluator)) AS details
FROM (
    SELECT
        TraceId, SpanId, Metric, Evaluator,
        argMax(Score, EvaluatedAt) AS Score,
        argMax(Label, EvaluatedAt) AS Label,
        argMax(Explanation, EvaluatedAt) AS Explanation,
        argMax(Status, EvaluatedAt) AS Status,
        any(ServiceName) AS ServiceName, any(SessionId) AS SessionId, any(AgentName) AS AgentName,
        multiIf(Metric = 'grounding', {min_grounding:Float64}, Metric = 'relevance', {min_relevance:Float64},
                {min_calibration:Float64}) AS threshold
    FROM evaluations
    WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
      AND Metric IN ('grounding', 'relevance', 'calibration')
    GROUP BY TraceId, SpanId, Metric, Evaluator
)
WHERE Status = 'scored' AND Score < threshold
