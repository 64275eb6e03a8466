-- name: ungrounded_answers
-- failure_mode: silent_wrong_answers
-- severity: critical
-- schedule: 1m
-- description: Answers whose grounding score (from the evaluators) is below the threshold: claims no source
--    supports, the confident wrong answer behind an HTTP 200.
-- param.min_grounding: Float64 = 0.5 | lowest acceptable grounding score (the metric's threshold)
SELECT *
FROM answers_below(detector = 'ungrounded_answers', what = 'ungrounded answer', metric = 'grounding', below = {min_grounding:Float64},
                   severity = {severity:String}, start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
