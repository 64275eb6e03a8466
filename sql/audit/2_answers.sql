-- name: answers
-- question: How do you detect a wrong answer that returns HTTP 200?
-- failure_mode: silent_wrong_answers
-- description: Per agent: how many of its answers were evaluated and by which judge, their grounding and relevance
--    (the latest score of each, answer_scores), the ungrounded_answers findings, and whether an answer gate
--    (min_grounding) stood in front of its users. Not ready: an ungrounded finding, or 10 % or more of its evaluated
--    answers below the grounding threshold. At risk: fewer than half of its answers evaluated, or ungrounded answers
--    with no gate. Unknown: no answer evaluated. The grounding threshold (min_grounding) and the gate it advises
--    (gate_grounding) are the grounding metric's, passed in by the audit and the readiness dashboard.
WITH
    runs AS (
        SELECT AgentName, count() AS answers FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
          WHERE AgentName != '' AND ({agent:String} = '' OR AgentName = {agent:String})
          AND Operation = 'invoke_agent' AND StepIndex = 0
        GROUP BY AgentName
    ),
    scores AS (
        SELECT * FROM answer_scores(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
        WHERE Status = 'scored' AND AgentName != '' AND ({agent:String} = '' OR AgentName = {agent:String})
    ),
    per_agent AS (
        SELECT
            a.AgentName AS agent,
            greatest(r.answers, e.evaluated) AS answers,
            e.evaluated AS evaluated,
            round(if(greatest(r.answers, e.evaluated) > 0, e.evaluated / greatest(r.answers, e.evaluated), 0), 3)
                AS evaluated_share,
            e.judges AS judges,
            round(e.grounding_mean, 3) AS grounding_mean,
            round(e.grounding_p10, 3) AS grounding_p10,
            e.ungrounded AS ungrounded_answers,
            round(if(e.evaluated > 0, e.ungrounded / e.evaluated, 0), 3) AS ungrounded_share,
            round(e.relevance_mean, 3) AS relevance_mean,
            f.findings AS ungrounded_findings,
            g.gated AS answer_gate,
            g.min_grounding AS gate_min_grounding
        FROM (SELECT AgentName FROM runs UNION DISTINCT SELECT DISTINCT AgentName FROM scores) AS a
        LEFT JOIN runs AS r ON r.AgentName = a.AgentName
        LEFT JOIN (
            SELECT AgentName,
                   uniqExactIf((TraceId, SpanId), Metric = 'grounding') AS evaluated,
                   arraySort(groupUniqArray(Evaluator)) AS judges,
                   avgIf(Score, Metric = 'grounding') AS grounding_mean,
                   quantileIf(0.1)(Score, Metric = 'grounding') AS grounding_p10,
                   countIf(Metric = 'grounding' AND Score < {min_grounding:Float64}) AS ungrounded,
                   avgIf(Score, Metric = 'relevance') AS relevance_mean
            FROM scores GROUP BY AgentName
        ) AS e ON e.AgentName = a.AgentName
        LEFT JOIN (
            SELECT Agent, sum(Findings) AS findings
            FROM agent_findings(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
            WHERE Detector = 'ungrounded_answers' GROUP BY Agent
        ) AS f ON f.Agent = a.AgentName
        LEFT JOIN (
            SELECT AgentName, RunsGated > 0 AS gated, MinGrounding AS min_grounding
            FROM agent_guards(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
        ) AS g ON g.AgentName = a.AgentName
    )
SELECT
    agent,
    multiIf(
        evaluated = 0, 'unknown',
        ungrounded_findings > 0 OR ungrounded_share >= 0.1, 'not_ready',
        evaluated_share < 0.5 OR (ungrounded_answers > 0 AND NOT answer_gate), 'at_risk',
        'ready') AS verdict,
    multiIf(
        evaluated = 0, format('none of its {} answers was evaluated', toString(answers)),
        ungrounded_findings > 0 OR ungrounded_share >= 0.1,
            format('{} of {} evaluated answers ungrounded ({} ungrounded_answers finding(s))',
                   toString(ungrounded_answers), toString(evaluated), toString(ungrounded_findings)),
        evaluated_share < 0.5,
            format('only {} of {} answers evaluated', toString(evaluated), toString(answers)),
        ungrounded_answers > 0 AND NOT answer_gate,
            format('{} ungrounded answer(s) reached users: no answer gate', toString(ungrounded_answers)),
        format('{} of {} answers evaluated by {}, grounding {} on average, none below the threshold{}',
               toString(evaluated), toString(answers), arrayStringConcat(judges, ', '), toString(grounding_mean),
               if(answer_gate, format('; gated at {}', toString(gate_min_grounding)), ''))
    ) AS reason,
    multiIf(
        evaluated = 0, 'run the evaluator (agentwatch serve, or agentwatch evaluate) over its answers',
        ungrounded_findings > 0 OR ungrounded_share >= 0.1,
            format('ground its answers in its tool results, and gate them (@agentwatch.agent(min_grounding={}, fallback=...))',
                   toString({gate_grounding:Float64})),
        evaluated_share < 0.5, 'evaluate all of its answers (AGENTWATCH_JUDGE, the worker\'s sampling)',
        ungrounded_answers > 0 AND NOT answer_gate,
            format('gate its answers (@agentwatch.agent(min_grounding={}))', toString({gate_grounding:Float64})),
        '') AS next_step,
    answers, evaluated, evaluated_share, judges, grounding_mean, grounding_p10, ungrounded_answers, ungrounded_share,
    relevance_mean, ungrounded_findings, answer_gate, gate_min_grounding
FROM per_agent
ORDER BY agent
