-- name: off_topic_answers
-- failure_mode: goal_drift
-- severity: warning
-- schedule: 1m
-- description: Answers whose relevance score (from the evaluators) is below the threshold: the agent answered
--    something other than what it was asked, or did something other than its task.
-- param.min_relevance: Float64 = 0.4 | lowest acceptable relevance score (the metric's threshold)
SELECT
    lower(hex(sipHash64('off_topic_answers', TraceId, SpanId, 'relevance'))) AS fingerprint,
    {severity:String} AS severity,
    ServiceName AS service_name,
    SessionId AS session_id,
    TraceId AS trace_id,
    AgentName AS agent_name,
    '' AS tool_name,
    format('off-topic answer: relevance {} is below {} ({}): {}', toString(round(Score, 2)),
           toString({min_relevance:Float64}), Evaluator, Explanation) AS summary,
    Score AS value,
    [SpanId] AS evidence,
    toJSONString(map('metric', 'relevance', 'label', Label, 'evaluator', Evaluator)) AS details
FROM (
    SELECT
        TraceId, SpanId, Evaluator,
        argMax(Score, EvaluatedAt) AS Score,
        argMax(Label, EvaluatedAt) AS Label,
        argMax(Explanation, EvaluatedAt) AS Explanation,
        argMax(Status, EvaluatedAt) AS Status,
        any(ServiceName) AS ServiceName, any(SessionId) AS SessionId, any(AgentName) AS AgentName
    FROM evaluations
    WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)} AND Metric = 'relevance'
    GROUP BY TraceId, SpanId, Evaluator
)
WHERE Status = 'scored' AND Score < {min_relevance:Float64}
