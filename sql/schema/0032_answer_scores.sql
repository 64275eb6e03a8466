-- name: answer_scores
-- description: The latest score of every answer × metric × judge evaluated in [start, end), as a parameterised
--    view: answer_scores(start = …, end = …). The answer-quality detectors (one per metric) read it, so the
--    "latest evaluation wins" rule is written once.
CREATE VIEW IF NOT EXISTS {{database}}.answer_scores{{on_cluster}} AS
SELECT
    TraceId, SpanId, Metric, Evaluator,
    argMax(Score, EvaluatedAt) AS Score,
    argMax(Label, EvaluatedAt) AS Label,
    argMax(Explanation, EvaluatedAt) AS Explanation,
    argMax(Status, EvaluatedAt) AS Status,
    any(ServiceName) AS ServiceName, any(SessionId) AS SessionId, any(AgentName) AS AgentName
FROM {{database}}.evaluations
WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
GROUP BY TraceId, SpanId, Metric, Evaluator
