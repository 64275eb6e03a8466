-- name: answers
-- description: Answers to evaluate in [since, until): the final answer of each outermost agent run, or, in a trace
--    without one, of its last LLM call; with the tool results of that run (of the trace, without runs) and the
--    trace's recorded sources (the answer's evidence). What is a run, an LLM call or a tool, and whose, comes from
--    agent_spans_in, and where each convention puts a span's input, output and tool result from the schema's
--    functions (agentwatch_span_text, agentwatch_tool_result): decided once for every
--    convention and framework, read here. A run that records no
--    answer of its own (the OpenAI Agents SDK, Google ADK) answers with its last LLM call's output, and asks with
--    that call's input (which carries the tool results inline). A tool that returns the answer itself
--    (smolagents' final_answer) is not evidence for it.
--    Skips answers this evaluator already scored; samples deterministically by trace id (sample_per_10k of
--    10,000) and shards by trace id across workers (shard of shards). Answers the judge failed on come back
--    until max_attempts tries; answers put off for the judge's budget come back when it allows. Batches follow
--    each other by the cursor (after_ts, after_trace, after_span). An answer already scored inline by a guard
--    (agentwatch.evaluation.* attributes) comes with those scores, so it is not scored again;
--    agentwatch.content.capture and error.type come along so a skipped answer can say whether capture was off
--    or a guard stopped the run.
WITH
    -- the window's runs, LLM calls and tools, resolved once (a scalar subquery is computed once per query; the
    -- CTEs below read it many times, and agent_spans_in walks the traces' span trees each time it is read)
    (
        SELECT groupArray((TraceId, SpanId, Timestamp, ServiceName, Operation, AgentName, SessionId, Goal, ToolName,
                           Failed, RunSpanId, RunDepth, TopRunSpanId))
        FROM agent_spans_in(start = {since:DateTime64(9)} - INTERVAL 1 HOUR, end = {until:DateTime64(9)})
        WHERE Operation IN ('invoke_agent', 'chat', 'execute_tool')
          AND cityHash64(TraceId) % 10000 < {sample_per_10k:UInt32}
          AND cityHash64(TraceId) % {shards:UInt32} = {shard:UInt32}
    ) AS resolved,
    spans AS (
        SELECT s.1 AS TraceId, s.2 AS SpanId, s.3 AS Timestamp, s.4 AS ServiceName, s.5 AS op, s.6 AS AgentName,
               s.7 AS SessionId, s.8 AS Goal, s.9 AS ToolName, s.10 AS failed, s.11 AS RunSpanId, s.12 AS RunDepth,
               s.13 AS TopRunSpanId
        FROM (SELECT arrayJoin(resolved) AS s)
    ),
    traces_with_agents AS (SELECT DISTINCT TraceId FROM spans WHERE op = 'invoke_agent'),
    candidates AS (
        SELECT TraceId, SpanId, Timestamp, ServiceName, AgentName AS agent, SessionId AS session, Goal AS goal,
               SpanId AS run
        FROM spans
        WHERE op = 'invoke_agent' AND RunDepth = 1
        UNION ALL
        SELECT TraceId, argMax(SpanId, Timestamp), max(Timestamp), any(ServiceName), argMax(AgentName, Timestamp),
               argMax(SessionId, Timestamp), argMax(Goal, Timestamp), ''
        FROM spans
        WHERE op = 'chat' AND TraceId NOT IN (SELECT TraceId FROM traces_with_agents)
        GROUP BY TraceId
    ),
    todo AS (
        SELECT * FROM candidates
        WHERE Timestamp >= {since:DateTime64(9)}
          AND (Timestamp, TraceId, SpanId) > ({after_ts:DateTime64(9)}, {after_trace:String}, {after_span:String})
          AND (TraceId, SpanId) NOT IN (
              SELECT TraceId, SpanId FROM evaluations
              WHERE Timestamp >= {since:DateTime64(9)} - INTERVAL 1 HOUR AND Evaluator = {evaluator:String}
              GROUP BY TraceId, SpanId
              HAVING countIf(Status = 'scored' OR (Status = 'skipped' AND Label != 'budget_exhausted')) > 0
                  OR uniqExactIf(EvaluatedAt, Status = 'error') >= {max_attempts:UInt32})
        ORDER BY Timestamp, TraceId, SpanId
        LIMIT {limit:UInt32}
    ),
    texts AS (
        SELECT TraceId, SpanId, SpanAttributes AS a, Events.Name AS event_names, Events.Attributes AS event_attrs,
               Events.Timestamp AS event_ts
        FROM otel_traces
        WHERE Timestamp >= {since:DateTime64(9)} - INTERVAL 1 HOUR AND Timestamp < {until:DateTime64(9)}
          AND TraceId IN (SELECT TraceId FROM todo)
    ),
    said AS (
        -- what a span was asked and answered, wherever its convention put it: decided once (0044)
        SELECT TraceId, SpanId, agentwatch_span_text(a, event_names, event_attrs) AS text, text.1 AS input,
               text.2 AS output,
               mapFilter((k, v) -> startsWith(k, 'agentwatch.evaluation.') OR k IN ('agentwatch.content.capture',
                                                                                      'error.type'), a)
                   AS inline
        FROM texts
    ),
    last_calls AS (
        SELECT s.RunSpanId AS run, s.TraceId AS TraceId, argMax(x.input, s.Timestamp) AS input,
               argMax(x.output, s.Timestamp) AS output
        FROM spans AS s
        INNER JOIN said AS x ON x.TraceId = s.TraceId AND x.SpanId = s.SpanId
        WHERE s.op = 'chat' AND s.RunSpanId != '' AND s.TraceId IN (SELECT TraceId FROM todo)
        GROUP BY s.TraceId, s.RunSpanId
    ),
    answered AS (
        SELECT t.*, if(x.output != '', x.input, l.input) AS input, if(x.output != '', x.output, l.output) AS output,
               x.inline AS inline
        FROM todo AS t
        LEFT JOIN said AS x ON x.TraceId = t.TraceId AND x.SpanId = t.SpanId
        LEFT JOIN last_calls AS l ON l.TraceId = t.TraceId AND l.run = t.SpanId
    ),
    evidence AS (
        SELECT s.TraceId AS TraceId, s.TopRunSpanId AS run,
               groupArray((toString(s.Timestamp), 'tool', s.ToolName, x.output, s.failed)) AS tools
        FROM spans AS s
        INNER JOIN (
            -- where each convention puts a tool's result is decided once, by agentwatch_tool_result (0042)
            SELECT TraceId, SpanId, agentwatch_tool_result(a, event_names, event_attrs) AS output FROM texts
        ) AS x ON x.TraceId = s.TraceId AND x.SpanId = s.SpanId
        WHERE s.op = 'execute_tool' AND s.TraceId IN (SELECT TraceId FROM todo) AND s.ToolName != 'final_answer'
        GROUP BY s.TraceId, s.TopRunSpanId
    ),
    documents AS (
        SELECT TraceId, groupArray((toString(e.1), 'document', 'sources', e.2['agentwatch.sources.content'], false))
               AS docs
        FROM texts
        ARRAY JOIN arrayZip(event_ts, event_attrs, event_names) AS e
        WHERE e.3 = 'agentwatch.sources' AND e.2['agentwatch.sources.content'] != ''
        GROUP BY TraceId
    )
SELECT t.TraceId, t.SpanId, t.Timestamp, t.ServiceName, t.agent, t.session, t.input, t.output,
       arrayConcat(arrayFilter(x -> x.4 != t.output, e.tools), d.docs) AS sources,
       t.inline, t.goal
FROM answered AS t
LEFT JOIN evidence AS e ON e.TraceId = t.TraceId AND e.run = t.run
LEFT JOIN documents AS d ON d.TraceId = t.TraceId
ORDER BY t.Timestamp, t.TraceId, t.SpanId
