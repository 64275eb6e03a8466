-- name: context_growth
-- failure_mode: context_degradation
-- severity: warning
-- schedule: 1m
-- description: A session whose LLM input tokens grew beyond a factor of its first call, or a call that used more
--    than a share of its model's context window (model_context_windows, longest prefix match).
-- param.growth_factor: Float64 = 4 | input tokens of the largest call over the first call's, at least
-- param.min_calls: UInt32 = 3 | LLM calls a session needs before growth counts
-- param.window_share: Float64 = 0.8 | share of the model's context window a single call may use
WITH
    calls AS (
        SELECT SessionId, ServiceName, AgentName, TraceId, SpanId, Timestamp, InputTokens, RequestModel
        FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
          WHERE Operation = 'chat' AND InputTokens > 0
    ),
    windows AS (
        SELECT Model, argMax(ContextTokens, UpdatedAt) AS ContextTokens FROM model_context_windows GROUP BY Model
    ),
    sized AS (
        SELECT c.*, w.ContextTokens
        FROM calls AS c
        LEFT JOIN (
            SELECT RequestModel, argMax(ContextTokens, length(Model)) AS ContextTokens
            FROM (SELECT DISTINCT RequestModel FROM calls) AS m CROSS JOIN windows
            WHERE startsWith(RequestModel, Model)
            GROUP BY RequestModel
        ) AS w USING (RequestModel)
    ),
    sessions AS (
        SELECT
            SessionId,
            any(ServiceName) AS service,
            any(AgentName) AS agent,
            argMin(TraceId, Timestamp) AS trace,
            count() AS n,
            argMin(InputTokens, Timestamp) AS first_tokens,
            max(InputTokens) AS max_tokens,
            argMax(SpanId, InputTokens) AS max_span,
            argMin(SpanId, Timestamp) AS first_span,
            max(if(ContextTokens > 0, InputTokens / ContextTokens, 0)) AS max_share,
            argMax(RequestModel, if(ContextTokens > 0, InputTokens / ContextTokens, 0)) AS share_model,
            argMax(ContextTokens, if(ContextTokens > 0, InputTokens / ContextTokens, 0)) AS share_window
        FROM sized
        GROUP BY SessionId
    )
SELECT
    lower(hex(sipHash64('context_growth', SessionId))) AS fingerprint,
    if(max_share >= {window_share:Float64}, 'critical', {severity:String}) AS severity,
    service AS service_name,
    SessionId AS session_id,
    trace AS trace_id,
    agent AS agent_name,
    '' AS tool_name,
    if(max_share >= {window_share:Float64},
       format('LLM call used {}% of the {}-token context window of {} ({} input tokens; first call {})',
              toString(round(max_share * 100)), toString(share_window), share_model, toString(max_tokens),
              toString(first_tokens)),
       format('context grew {}x within the session: {} → {} input tokens over {} LLM calls',
              toString(round(max_tokens / first_tokens, 1)), toString(first_tokens), toString(max_tokens),
              toString(n))) AS summary,
    greatest(max_tokens / first_tokens, max_share) AS value,
    [first_span, max_span] AS evidence,
    toJSONString(map('calls', toString(n), 'first_tokens', toString(first_tokens), 'max_tokens',
                     toString(max_tokens), 'max_window_share', toString(round(max_share, 3)))) AS details
FROM sessions
WHERE (n >= {min_calls:UInt32} AND max_tokens >= first_tokens * {growth_factor:Float64})
   OR max_share >= {window_share:Float64}
