-- name: off_topic_answers
-- failure_mode: goal_drift
-- severity: warning
-- schedule: 1m
-- description: Answers whose relevance score (from the evaluators) is below the threshold: the agent answered
--    something other than what it was asked, or did something other than its task.
-- param.min_relevance: Float64 = 0.4 | lowest acceptable relevance score (the metric's threshold)
SELECT
    lower(hex(sipHash64('off_topic_answers', TraceId, SpanId, 'relevance'))) AS fingerprint, {severity:String} AS severity,
    ServiceName AS service_name, SessionId AS session_id, TraceId AS trace_id, AgentName AS agent_name,
    '' AS tool_name,
    format('off-topic answer: relevance {} is below {} ({}): {}', toString(round(Score, 2)),
           toString({min_relevance:Float64}), Evaluator, Explanation) AS summary,
    Score AS value, [SpanId] AS evidence,
    toJSONString(map('metric', 'relevance', 'label', Label, 'evaluator', Evaluator)) AS details
FROM answer_scores(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
WHERE Metric = 'relevance' AND Status = 'scored' AND Score < {min_relevance:Float64}
