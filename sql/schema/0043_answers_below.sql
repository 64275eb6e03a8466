-- name: answers_below
-- description: The answers whose latest score on one metric (answer_scores) is below a threshold, as findings in
--    the detectors' columns: answers_below(detector = …, what = …, metric = …, below = …, severity = …,
--    start = …, end = …). Each answer-quality detector (ungrounded_answers, off_topic_answers,
--    overconfident_answers) is one call of it with its metric and its threshold, the metric unit's by default.
CREATE VIEW IF NOT EXISTS {{database}}.answers_below{{on_cluster}} AS
SELECT
    lower(hex(sipHash64({detector:String}, TraceId, SpanId, Metric))) AS fingerprint,
    {severity:String} AS severity,
    ServiceName AS service_name, SessionId AS session_id, TraceId AS trace_id, AgentName AS agent_name,
    '' AS tool_name,
    format('{}: {} {} is below {} ({}): {}', {what:String}, Metric, toString(round(Score, 2)),
           toString({below:Float64}), Evaluator, Explanation) AS summary,
    Score AS value, [SpanId] AS evidence,
    toJSONString(map('metric', Metric, 'label', Label, 'evaluator', Evaluator)) AS details
FROM {{database}}.answer_scores(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
WHERE Metric = {metric:String} AND Status = 'scored' AND Score < {below:Float64}
