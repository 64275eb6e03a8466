-- name: already_evaluated
-- description: How many answers since {since} this evaluator has already scored or skipped for good: when a run
--    finds nothing to do (serve's evaluator got there first), the command says so instead of "0 answers".
SELECT uniqExact(TraceId, SpanId)
FROM evaluations
WHERE Timestamp >= {since:DateTime64(9)} AND Evaluator = {evaluator:String}
  AND (Status = 'scored' OR (Status = 'skipped' AND Label != 'budget_exhausted'))
