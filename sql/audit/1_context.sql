-- name: context
-- question: What happens when context degrades across 10+ steps?
-- failure_mode: context_degradation
-- description: Per agent: its longest sessions in steps, the share of its model's context window each step used
--    (model_context_windows, longest prefix match), how much the context grew within a session, and the
--    context_growth findings. Not ready: a call at 80 % of its window or more, or a growth finding with a call past
--    half of it. At risk: a growth finding within a small share of the window (a session that grew 30x to 0.4 % of
--    its window is no context risk yet), a call past half of its window, or sessions of 10+ steps with no step cap. Unknown: no LLM call with token counts, or
--    no known window for its models.
WITH
    spans AS (
        SELECT * FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
          WHERE AgentName != '' AND ({agent:String} = '' OR AgentName = {agent:String})
    ),
    windows AS (
        SELECT Model, argMax(ContextTokens, UpdatedAt) AS ContextTokens FROM model_context_windows GROUP BY Model
    ),
    calls AS (
        SELECT c.AgentName AS AgentName, c.SessionId AS SessionId, c.StepIndex AS StepIndex, c.Timestamp AS Timestamp,
               c.InputTokens AS InputTokens, c.RequestModel AS RequestModel, w.ContextTokens AS ContextTokens
        FROM (SELECT * FROM spans WHERE Operation = 'chat' AND InputTokens > 0) AS c
        LEFT JOIN (
            SELECT RequestModel, argMax(ContextTokens, length(Model)) AS ContextTokens
            FROM (SELECT DISTINCT RequestModel FROM spans WHERE Operation = 'chat') AS m CROSS JOIN windows
            WHERE startsWith(RequestModel, Model)
            GROUP BY RequestModel
        ) AS w USING (RequestModel)
    ),
    sessions AS (
        SELECT AgentName, SessionId, max(StepIndex) AS steps FROM spans GROUP BY AgentName, SessionId
    ),
    by_session AS (
        SELECT AgentName, SessionId, argMin(InputTokens, Timestamp) AS first, max(InputTokens) AS largest
        FROM calls GROUP BY AgentName, SessionId
    ),
    by_step AS (
        SELECT AgentName, StepIndex, max(InputTokens / ContextTokens) AS share
        FROM calls WHERE ContextTokens > 0 GROUP BY AgentName, StepIndex
    ),
    per_agent AS (
        SELECT
            a.AgentName AS agent,
            s.sessions AS sessions, s.longest AS longest_session_steps, s.long_sessions AS sessions_10_plus_steps,
            c.llm_calls AS llm_calls, c.sized_calls AS calls_with_known_window, c.models AS models,
            round(c.max_share, 3) AS max_window_share, round(c.p95_share, 3) AS p95_window_share,
            round(g.growth, 2) AS max_growth, st.shares AS window_share_by_step,
            f.findings AS context_growth_findings, q.capped AS step_cap
        FROM (SELECT DISTINCT AgentName FROM spans) AS a
        LEFT JOIN (
            SELECT AgentName, count() AS sessions, max(steps) AS longest, countIf(steps >= 10) AS long_sessions
            FROM sessions GROUP BY AgentName
        ) AS s ON s.AgentName = a.AgentName
        LEFT JOIN (
            SELECT AgentName, count() AS llm_calls, countIf(ContextTokens > 0) AS sized_calls,
                   arraySort(groupUniqArray(RequestModel)) AS models,
                   max(if(ContextTokens > 0, InputTokens / ContextTokens, 0)) AS max_share,
                   quantileIf(0.95)(InputTokens / ContextTokens, ContextTokens > 0) AS p95_share
            FROM calls GROUP BY AgentName
        ) AS c ON c.AgentName = a.AgentName
        LEFT JOIN (
            SELECT AgentName, max(largest / greatest(first, 1)) AS growth FROM by_session GROUP BY AgentName
        ) AS g ON g.AgentName = a.AgentName
        LEFT JOIN (
            SELECT AgentName, arrayMap(x -> round(x.2, 3), arraySort(x -> x.1, groupArray(20)((StepIndex, share))))
                   AS shares
            FROM by_step GROUP BY AgentName
        ) AS st ON st.AgentName = a.AgentName
        LEFT JOIN (
            SELECT Agent, sum(Findings) AS findings
            FROM agent_findings(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
            WHERE Detector = 'context_growth' GROUP BY Agent
        ) AS f ON f.Agent = a.AgentName
        LEFT JOIN (
            SELECT AgentName, RunsRecorded > 0 AND RunsWithMaxSteps = RunsRecorded AS capped
            FROM agent_guards(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
        ) AS q ON q.AgentName = a.AgentName
    )
SELECT
    agent,
    multiIf(
        llm_calls = 0, 'unknown',
        calls_with_known_window = 0 AND context_growth_findings = 0, 'unknown',
        max_window_share >= 0.8 OR (context_growth_findings > 0 AND max_window_share >= 0.5), 'not_ready',
        context_growth_findings > 0 OR max_window_share >= 0.5 OR (sessions_10_plus_steps > 0 AND NOT step_cap),
            'at_risk',
        'ready') AS verdict,
    multiIf(
        llm_calls = 0, 'no LLM call with token counts was recorded for this agent',
        calls_with_known_window = 0 AND context_growth_findings = 0,
            format('no context window is known for {}', arrayStringConcat(models, ', ')),
        context_growth_findings > 0,
            format('{} context_growth finding(s): context grew up to {}x within a session, {}% of the window at most{}',
                   toString(context_growth_findings), toString(max_growth), toString(round(max_window_share * 100, 1)),
                   if(max_window_share < 0.5, ': growing, not yet a risk to its answers', '')),
        max_window_share >= 0.8,
            format('a call used {}% of its model''s context window', toString(round(max_window_share * 100, 1))),
        max_window_share >= 0.5,
            format('a call used {}% of its model''s context window', toString(round(max_window_share * 100, 1))),
        sessions_10_plus_steps > 0 AND NOT step_cap,
            format('{} session(s) ran 10+ steps (longest {}) with no step cap', toString(sessions_10_plus_steps),
                   toString(longest_session_steps)),
        format('at most {}% of the context window used, sessions up to {} steps, growth at most {}x',
               toString(round(max_window_share * 100, 1)), toString(longest_session_steps), toString(max_growth))
    ) AS reason,
    multiIf(
        llm_calls = 0, 'instrument its LLM client (import agentwatch.auto) so each call records its input tokens',
        calls_with_known_window = 0 AND context_growth_findings = 0,
            'insert its models into model_context_windows so utilisation can be measured',
        context_growth_findings > 0 OR max_window_share >= 0.5,
            'summarise or trim the history between steps, and cap steps (Budget(max_steps=...))',
        sessions_10_plus_steps > 0 AND NOT step_cap, 'cap its steps per run (Budget(max_steps=...))',
        '') AS next_step,
    sessions, longest_session_steps, sessions_10_plus_steps, llm_calls, max_window_share, p95_window_share,
    max_growth, window_share_by_step, context_growth_findings, step_cap
FROM per_agent
ORDER BY agent
