-- name: overconfident_answers
-- failure_mode: silent_wrong_answers
-- severity: warning
-- schedule: 1m
-- description: Answers whose calibration score (from the evaluators) is below the threshold: certainty the
--    sources do not support, such as a confident answer over failed or empty tool results.
-- param.min_calibration: Float64 = 0.4 | lowest acceptable calibration score (the metric's threshold)
SELECT *
FROM answers_below(detector = 'overconfident_answers', what = 'overconfident answer', metric = 'calibration', below = {min_calibration:Float64},
                   severity = {severity:String}, start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
