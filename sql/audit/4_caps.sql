-- name: caps
-- question: Is there a hard cap on tokens, steps, and spend per agent session?
-- failure_mode: runaway_loops_and_cost
-- description: Per agent: the caps it ran with (agent_guards: max_steps, max_tokens, max_cost_usd on every run),
--    its sessions' steps, tokens and cost at p50 / p95 / max, and the loop and cost findings (runaway_loop,
--    agent_ping_pong, retry_storm, session_budget, cost_spike). Not ready: no cap at all, or a loop or cost
--    finding. At risk: only some of the three caps, or a session at 80 % of a cap. Unknown: no guard configuration
--    recorded (agents not run through @agentwatch.agent).
WITH
    spans AS (
        SELECT AgentName, SessionId, StepIndex, InputTokens + OutputTokens AS tokens, CostUsd FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
          WHERE AgentName != '' AND ({agent:String} = '' OR AgentName = {agent:String})
    ),
    sessions AS (
        SELECT AgentName, SessionId, max(StepIndex) AS steps, sum(tokens) AS tokens, sum(CostUsd) AS cost
        FROM spans GROUP BY AgentName, SessionId
    ),
    per_agent AS (
        SELECT
            s.AgentName AS agent,
            count() AS sessions,
            toUInt64(quantile(0.5)(s.steps)) AS steps_p50, toUInt64(quantile(0.95)(s.steps)) AS steps_p95,
            max(s.steps) AS steps_max,
            toUInt64(quantile(0.5)(s.tokens)) AS tokens_p50, toUInt64(quantile(0.95)(s.tokens)) AS tokens_p95,
            max(s.tokens) AS tokens_max,
            round(quantile(0.5)(s.cost), 4) AS cost_p50, round(quantile(0.95)(s.cost), 4) AS cost_p95,
            round(max(s.cost), 4) AS cost_max,
            any(g.RunsRecorded) AS runs_recorded,
            any(g.RunsRecorded) > 0 AND any(g.RunsWithMaxSteps) = any(g.RunsRecorded) AS steps_capped,
            any(g.RunsRecorded) > 0 AND any(g.RunsWithMaxTokens) = any(g.RunsRecorded) AS tokens_capped,
            any(g.RunsRecorded) > 0 AND any(g.RunsWithMaxCost) = any(g.RunsRecorded) AS cost_capped,
            any(g.MaxSteps) AS max_steps, any(g.MaxTokens) AS max_tokens, any(g.MaxCostUsd) AS max_cost_usd,
            any(f.findings) AS loop_findings, any(f.detectors) AS loop_detectors
        FROM sessions AS s
        LEFT JOIN (SELECT * FROM agent_guards(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})) AS g
            ON g.AgentName = s.AgentName
        LEFT JOIN (
            SELECT Agent, sum(Findings) AS findings, arraySort(groupUniqArray(Detector)) AS detectors
            FROM agent_findings(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
            WHERE Detector IN ('runaway_loop', 'agent_ping_pong', 'retry_storm', 'session_budget', 'cost_spike')
            GROUP BY Agent
        ) AS f ON f.Agent = s.AgentName
        GROUP BY s.AgentName
    )
SELECT
    agent,
    multiIf(
        runs_recorded = 0 AND loop_findings = 0, 'unknown',
        loop_findings > 0 OR NOT (steps_capped OR tokens_capped OR cost_capped), 'not_ready',
        NOT (steps_capped AND tokens_capped AND cost_capped)
            OR (steps_capped AND steps_max >= 0.8 * max_steps) OR (tokens_capped AND tokens_max >= 0.8 * max_tokens)
            OR (cost_capped AND cost_max >= 0.8 * max_cost_usd), 'at_risk',
        'ready') AS verdict,
    multiIf(
        runs_recorded = 0 AND loop_findings = 0,
            'no guard configuration was recorded for this agent (its runs are not @agentwatch.agent spans)',
        loop_findings > 0,
            format('{} loop or cost finding(s): {}', toString(loop_findings), arrayStringConcat(loop_detectors, ', ')),
        NOT (steps_capped OR tokens_capped OR cost_capped),
            format('no cap on steps, tokens or spend; sessions reached {} steps, {} tokens, ${}', toString(steps_max),
                   toString(tokens_max), toString(cost_max)),
        NOT (steps_capped AND tokens_capped AND cost_capped),
            format('capped on {} only', arrayStringConcat(arrayFilter(x -> x != '',
                [if(steps_capped, 'steps', ''), if(tokens_capped, 'tokens', ''), if(cost_capped, 'spend', '')]), ', ')),
        format('the longest session came to {} of {} steps, {} of {} tokens, ${} of ${}', toString(steps_max),
               toString(max_steps), toString(tokens_max), toString(max_tokens), toString(cost_max),
               toString(max_cost_usd))
    ) AS reason,
    multiIf(
        runs_recorded = 0 AND loop_findings = 0, 'run it through @agentwatch.agent, which records its guards',
        loop_findings > 0, 'cap repeats and steps (Guards(max_repeats=...), Budget(max_steps=...)) and find the loop',
        NOT (steps_capped AND tokens_capped AND cost_capped),
            'cap steps, tokens and spend per run: Budget(max_steps=..., max_tokens=..., max_cost_usd=...)',
        verdict = 'at_risk', 'raise the cap it runs close to, or find why its sessions run that long',
        '') AS next_step,
    sessions, steps_p50, steps_p95, steps_max, tokens_p50, tokens_p95, tokens_max, cost_p50, cost_p95, cost_max,
    steps_capped, max_steps, tokens_capped, max_tokens, cost_capped, max_cost_usd, loop_findings
FROM per_agent
ORDER BY agent
