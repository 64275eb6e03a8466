-- name: overconfident_answers
-- failure_mode: silent_wrong_answers
-- severity: warning
-- schedule: 1m
-- description: Answers whose calibration score (from the evaluators) is below the threshold: certainty the
--    sources do not support, such as a confident answer over failed or empty tool results.
-- param.min_calibration: Float64 = 0.4 | lowest acceptable calibration score (the metric's threshold)
SELECT
    lower(hex(sipHash64('overconfident_answers', TraceId, SpanId, 'calibration'))) AS fingerprint, {severity:String} AS severity,
    ServiceName AS service_name, SessionId AS session_id, TraceId AS trace_id, AgentName AS agent_name,
    '' AS tool_name,
    format('overconfident answer: calibration {} is below {} ({}): {}', toString(round(Score, 2)),
           toString({min_calibration:Float64}), Evaluator, Explanation) AS summary,
    Score AS value, [SpanId] AS evidence,
    toJSONString(map('metric', 'calibration', 'label', Label, 'evaluator', Evaluator)) AS details
FROM answer_scores(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
WHERE Metric = 'calibration' AND Status = 'scored' AND Score < {min_calibration:Float64}
