-- name: answers
-- description: Answers to evaluate in [since, until): the output of each outermost invoke_agent span, or, in a
--    trace without one, of its last LLM call; with the trace's tool results and recorded sources (the answer's
--    evidence). Skips answers this evaluator already scored; samples deterministically by trace id
--    (sample_per_10k of 10,000) and shards by trace id across workers (shard of shards). Batches follow each
--    other by the cursor (after_ts, after_trace, after_span). An answer already scored inline by a guard
--    (agentwatch.evaluation.* attributes) comes with those scores, so it is not scored again.
WITH
    spans AS (
        SELECT TraceId, SpanId, ParentSpanId, Timestamp, ServiceName, StatusCode, SpanAttributes AS a,
               a['gen_ai.operation.name'] AS op
        FROM otel_traces
        WHERE Timestamp >= {since:DateTime64(9)} - INTERVAL 1 HOUR AND Timestamp < {until:DateTime64(9)}
          AND cityHash64(TraceId) % 10000 < {sample_per_10k:UInt32}
          AND cityHash64(TraceId) % {shards:UInt32} = {shard:UInt32}
    ),
    agent_ids AS (SELECT SpanId FROM spans WHERE op = 'invoke_agent'),
    traces_with_agents AS (SELECT DISTINCT TraceId FROM spans WHERE op = 'invoke_agent'),
    candidates AS (
        SELECT TraceId, SpanId, Timestamp, ServiceName, a['gen_ai.agent.name'] AS agent,
               arrayFirst(x -> x != '', [a['gen_ai.conversation.id'], a['session.id'], TraceId]) AS session,
               a['gen_ai.input.messages'] AS input, a['gen_ai.output.messages'] AS output,
               mapFilter((k, v) -> startsWith(k, 'agentwatch.evaluation.'), a) AS inline
        FROM spans
        WHERE op = 'invoke_agent' AND ParentSpanId NOT IN (SELECT SpanId FROM agent_ids)
        UNION ALL
        SELECT TraceId, argMax(SpanId, Timestamp), max(Timestamp), any(ServiceName), argMax(a['gen_ai.agent.name'],
               Timestamp), argMax(arrayFirst(x -> x != '', [a['gen_ai.conversation.id'], a['session.id'], TraceId]),
               Timestamp), argMax(a['gen_ai.input.messages'], Timestamp), argMax(a['gen_ai.output.messages'], Timestamp),
               CAST(map(), 'Map(LowCardinality(String), String)')
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
              WHERE Timestamp >= {since:DateTime64(9)} - INTERVAL 1 HOUR AND Evaluator = {evaluator:String})
        ORDER BY Timestamp, TraceId, SpanId
        LIMIT {limit:UInt32}
    ),
    evidence AS (
        SELECT TraceId,
               groupArray((toString(Timestamp), 'tool', a['gen_ai.tool.name'], a['gen_ai.tool.call.result'],
                           StatusCode = 'Error' OR a['error.type'] != '')) AS tools
        FROM spans
        WHERE op = 'execute_tool' AND TraceId IN (SELECT TraceId FROM todo)
        GROUP BY TraceId
    ),
    documents AS (
        SELECT TraceId, groupArray((toString(ts), 'document', 'sources', doc, false)) AS docs
        FROM (
            SELECT TraceId, e.1 AS ts, e.2 AS attrs, attrs['agentwatch.sources.content'] AS doc
            FROM otel_traces
            ARRAY JOIN arrayZip(Events.Timestamp, Events.Attributes) AS e
            WHERE Timestamp >= {since:DateTime64(9)} - INTERVAL 1 HOUR AND Timestamp < {until:DateTime64(9)}
              AND TraceId IN (SELECT TraceId FROM todo) AND has(Events.Name, 'agentwatch.sources')
              AND doc != ''
        )
        GROUP BY TraceId
    )
SELECT t.TraceId, t.SpanId, t.Timestamp, t.ServiceName, t.agent, t.session, t.input, t.output,
       arrayConcat(e.tools, d.docs) AS sources, t.inline
FROM todo AS t
LEFT JOIN evidence AS e ON e.TraceId = t.TraceId
LEFT JOIN documents AS d ON d.TraceId = t.TraceId
ORDER BY t.Timestamp, t.TraceId, t.SpanId
