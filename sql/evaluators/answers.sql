-- name: answers
-- description: Answers to evaluate in [since, until): the output of each outermost invoke_agent span, or, in a
--    trace without one, of its last LLM call; with the trace's tool results and recorded sources (the answer's
--    evidence). Which span is an agent, an LLM call or a tool, its agent, session, goal and whether a tool
--    failed come from agent_spans (normalised once, by agent_spans_mv, for every convention: GenAI, OpenInference,
--    Traceloop); only the text is read from otel_traces, the first non-empty of each convention's attribute.
--    Skips answers this evaluator already scored; samples deterministically by trace id (sample_per_10k of
--    10,000) and shards by trace id across workers (shard of shards). Answers the judge failed on come back
--    until max_attempts tries; answers put off for the judge's budget come back when it allows. Batches follow each other by the cursor
--    (after_ts, after_trace, after_span). An answer already scored inline by a guard (agentwatch.evaluation.*
--    attributes) comes with those scores, so it is not scored again; agentwatch.content.capture comes along so a
--    skipped answer can say whether capture was off.
WITH
    spans AS (
        SELECT TraceId, SpanId, ParentSpanId, Timestamp, ServiceName, Operation AS op, AgentName, SessionId, Goal,
               ToolName, IsError OR ResultIsError AS failed
        FROM agent_spans
        WHERE Timestamp >= {since:DateTime64(9)} - INTERVAL 1 HOUR AND Timestamp < {until:DateTime64(9)}
          AND Operation IN ('invoke_agent', 'chat', 'execute_tool')
          AND cityHash64(TraceId) % 10000 < {sample_per_10k:UInt32}
          AND cityHash64(TraceId) % {shards:UInt32} = {shard:UInt32}
    ),
    agent_ids AS (SELECT SpanId FROM spans WHERE op = 'invoke_agent'),
    traces_with_agents AS (SELECT DISTINCT TraceId FROM spans WHERE op = 'invoke_agent'),
    candidates AS (
        SELECT TraceId, SpanId, Timestamp, ServiceName, AgentName AS agent, SessionId AS session, Goal AS goal
        FROM spans
        WHERE op = 'invoke_agent' AND ParentSpanId NOT IN (SELECT SpanId FROM agent_ids)
        UNION ALL
        SELECT TraceId, argMax(SpanId, Timestamp), max(Timestamp), any(ServiceName), argMax(AgentName, Timestamp),
               argMax(SessionId, Timestamp), argMax(Goal, Timestamp)
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
        SELECT TraceId, SpanId, SpanAttributes AS a, Events.Timestamp AS event_ts, Events.Attributes AS event_attrs,
               Events.Name AS event_names
        FROM otel_traces
        WHERE Timestamp >= {since:DateTime64(9)} - INTERVAL 1 HOUR AND Timestamp < {until:DateTime64(9)}
          AND TraceId IN (SELECT TraceId FROM todo)
    ),
    evidence AS (
        SELECT s.TraceId AS TraceId,
               groupArray((toString(s.Timestamp), 'tool', s.ToolName,
                           arrayFirst(x -> x != '', [t.a['gen_ai.tool.call.result'], t.a['output.value'],
                                                     t.a['traceloop.entity.output']]),
                           s.failed)) AS tools
        FROM spans AS s
        INNER JOIN texts AS t ON t.TraceId = s.TraceId AND t.SpanId = s.SpanId
        WHERE s.op = 'execute_tool' AND s.TraceId IN (SELECT TraceId FROM todo)
        GROUP BY s.TraceId
    ),
    documents AS (
        SELECT TraceId, groupArray((toString(e.1), 'document', 'sources', e.2['agentwatch.sources.content'], false))
               AS docs
        FROM texts
        ARRAY JOIN arrayZip(event_ts, event_attrs, event_names) AS e
        WHERE e.3 = 'agentwatch.sources' AND e.2['agentwatch.sources.content'] != ''
        GROUP BY TraceId
    )
SELECT t.TraceId, t.SpanId, t.Timestamp, t.ServiceName, t.agent, t.session,
       arrayFirst(x -> x != '', [c.a['gen_ai.input.messages'], c.a['input.value'], c.a['traceloop.entity.input'],
                                 c.a['gen_ai.prompt.0.content'], c.a['llm.input_messages.0.message.content']]),
       arrayFirst(x -> x != '', [c.a['gen_ai.output.messages'], c.a['output.value'], c.a['traceloop.entity.output'],
                                 c.a['gen_ai.completion.0.content'], c.a['llm.output_messages.0.message.content']]),
       arrayConcat(e.tools, d.docs) AS sources,
       mapFilter((k, v) -> startsWith(k, 'agentwatch.evaluation.') OR k = 'agentwatch.content.capture', c.a) AS inline,
       t.goal
FROM todo AS t
LEFT JOIN texts AS c ON c.TraceId = t.TraceId AND c.SpanId = t.SpanId
LEFT JOIN evidence AS e ON e.TraceId = t.TraceId
LEFT JOIN documents AS d ON d.TraceId = t.TraceId
ORDER BY t.Timestamp, t.TraceId, t.SpanId
