-- name: off_topic_answers
-- failure_mode: goal_drift
-- severity: warning
-- schedule: 1m
-- description: Answers whose relevance score (from the evaluators) is below the threshold: the agent answered
--    something other than what it was asked, or did something other than its task.
-- param.min_relevance: Float64 = 0.4 | lowest acceptable relevance score (the metric's threshold)
SELECT *
FROM answers_below(detector = 'off_topic_answers', what = 'off-topic answer', metric = 'relevance', below = {min_relevance:Float64},
                   severity = {severity:String}, start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
