-- name: session_timeline
-- description: One session's steps in order: agents, LLM calls, tools, with tokens, results, errors and scores (the
--    Session dashboard's "Steps in order" panel is this query).
-- params: session (String)
-- usage: agentwatch sql --query session_timeline --param session=<SessionId>
SELECT
    s.Timestamp AS time,
    s.StepIndex AS step,
    s.AgentName AS agent,
    s.Operation AS operation,
    if(s.ToolName != '', s.ToolName, s.RequestModel) AS what,
    s.InputTokens AS input_tokens,
    s.OutputTokens AS output_tokens,
    round(s.Duration / 1e6, 1) AS ms,
    s.ResultShape AS result_shape,
    if(s.Failed = 1, if(s.ErrorType != '', s.ErrorType, 'error payload'), '') AS error,
    ifNull(e.scores, '') AS scores,
    s.Intent AS intent,
    s.TraceId AS trace,
    s.SpanId AS span_id
FROM agent_spans AS s
LEFT JOIN (
    SELECT SpanId, arrayStringConcat(groupArray(concat(Metric, '=', toString(round(Score, 2)))), ' ') AS scores
    FROM evaluations FINAL
    WHERE SessionId = {session:String} AND Status = 'scored'
    GROUP BY SpanId
) AS e ON e.SpanId = s.SpanId
WHERE s.SessionId = {session:String}
ORDER BY s.Timestamp, s.StepIndex
