-- name: ungrounded_answers
-- failure_mode: silent_wrong_answers
-- severity: critical
-- schedule: 1m
-- description: Answers whose grounding score (from the evaluators) is below the threshold: claims no source
--    supports, the confident wrong answer behind an HTTP 200.
-- param.min_grounding: Float64 = 0.5 | lowest acceptable grounding score (the metric's threshold)
SELECT
    lower(hex(sipHash64('ungrounded_answers', TraceId, SpanId, 'grounding'))) AS fingerprint, {severity:String} AS severity,
    ServiceName AS service_name, SessionId AS session_id, TraceId AS trace_id, AgentName AS agent_name,
    '' AS tool_name,
    format('ungrounded answer: grounding {} is below {} ({}): {}', toString(round(Score, 2)),
           toString({min_grounding:Float64}), Evaluator, Explanation) AS summary,
    Score AS value, [SpanId] AS evidence,
    toJSONString(map('metric', 'grounding', 'label', Label, 'evaluator', Evaluator)) AS details
FROM answer_scores(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
WHERE Metric = 'grounding' AND Status = 'scored' AND Score < {min_grounding:Float64}
