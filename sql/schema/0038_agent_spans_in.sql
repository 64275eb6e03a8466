-- name: agent_spans_in
-- description: agent_spans in [start, end), each span placed in its agent run, as a parameterised view:
--    agent_spans_in(start = …, end = …). Detectors, the evaluators' answers and the audit read it, so what a span
--    is and whose it is are decided here once, for every convention and framework:
--    - Runs: an agent span that names its agent (GenAI invoke_agent, OpenInference agent.name / graph.node.id) is
--      a run; one that does not (LangGraph's graph, smolagents' "<name>.run", a root chain) is a run only in a
--      trace without named agents and outside any run. Other agent spans (a LangGraph node called "agent", the
--      OpenAI Agents SDK's "Agent workflow") are steps of the run around them. IsRun, RunSpanId, RunDepth
--      (1 for an outermost run) and TopRunSpanId (its outermost run) say where a span stands.
--    - Identity flows down: a span takes its run's agent name, and its parent's session unless it names one.
--    - Operation is the meaning: chat for every LLM call (generate_content, OpenInference LLM …), execute_tool,
--      invoke_agent for runs only, step for chains, graph nodes and loop cycles; OperationName keeps the original.
--      A span inside an LLM call's span (an SDK instrumentation's record of the call a framework already
--      recorded, and what it derived from it) is "nested" and counts for nothing: each call is counted once.
--    Ancestors are looked up to a day before start (a run started before the window still owns its spans).
CREATE VIEW IF NOT EXISTS {{database}}.agent_spans_in{{on_cluster}} AS
WITH RECURSIVE
    -- the window traces' spans, once: read into one array by a scalar subquery (computed once per query), because
    -- the walk below reads them at every level of the tree and a plain CTE would scan agent_spans each time
    (
        SELECT groupArray((TraceId, SpanId, ParentSpanId, Kind, AgentName, AgentNamed, SessionId, SessionNamed,
                           trace_named))
        FROM (
            SELECT *, max(Kind = 'agent' AND AgentNamed) OVER (PARTITION BY TraceId) AS trace_named
            FROM (
                SELECT DISTINCT TraceId, SpanId, ParentSpanId, Kind, AgentName, AgentNamed, SessionId, SessionNamed
                FROM {{database}}.agent_spans
                WHERE TraceId IN (
                        SELECT TraceId FROM {{database}}.agent_spans
                        WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)})
                  AND Timestamp >= {start:DateTime64(9)} - INTERVAL 1 DAY AND Timestamp < {end:DateTime64(9)}
            )
        )
    ) AS window_spans,
    tree AS (
        SELECT s.1 AS TraceId, s.2 AS SpanId, s.3 AS ParentSpanId, s.4 AS Kind, s.5 AS AgentName, s.6 AS AgentNamed,
               s.7 AS SessionId, s.8 AS SessionNamed, s.9 AS trace_named
        FROM (SELECT arrayJoin(window_spans) AS s)
    ),
    walk AS (
        SELECT TraceId, SpanId, Kind,
               Kind = 'agent' AND (AgentNamed OR NOT trace_named) AS is_run,
               if(is_run, SpanId, '') AS run_span,
               run_span AS top_run,
               AgentName AS run_agent,
               SessionId AS session,
               toUInt32(is_run) AS run_depth,
               false AS in_llm
        FROM tree
        WHERE ParentSpanId = '' OR ParentSpanId NOT IN (SELECT SpanId FROM tree)
        UNION ALL
        SELECT c.TraceId, c.SpanId, c.Kind,
               c.Kind = 'agent' AND NOT (p.in_llm OR p.Kind = 'llm')
                   AND (c.AgentNamed OR (NOT c.trace_named AND p.run_span = '')) AS is_run,
               if(is_run, c.SpanId, p.run_span),
               if(p.top_run != '', p.top_run, if(is_run, c.SpanId, '')),
               if(is_run OR p.run_span = '', c.AgentName, p.run_agent),
               if(c.SessionNamed OR p.session = '', c.SessionId, p.session),
               p.run_depth + toUInt32(is_run),
               p.in_llm OR p.Kind = 'llm'
        FROM tree AS c
        INNER JOIN walk AS p ON c.TraceId = p.TraceId AND c.ParentSpanId = p.SpanId
    )
SELECT
    s.* REPLACE (
        multiIf(w.in_llm, 'nested',
                s.Kind = 'llm', 'chat',
                s.Kind = 'tool', 'execute_tool',
                s.Kind = 'agent', if(w.is_run, 'invoke_agent', 'step'),
                s.Kind = 'step', 'step',
                s.Operation) AS Operation,
        -- outside any run, only a name the span gave itself (not a wrapper's span name: "Agent workflow")
        if(w.run_span != '', w.run_agent, if(s.AgentNamed OR s.Kind != 'agent', s.AgentName, '')) AS AgentName,
        if(w.session != '', w.session, s.SessionId) AS SessionId
    ),
    s.Operation AS OperationName,
    w.is_run AS IsRun,
    w.run_span AS RunSpanId,
    w.top_run AS TopRunSpanId,
    w.run_depth AS RunDepth
FROM {{database}}.agent_spans AS s
LEFT JOIN walk AS w ON w.TraceId = s.TraceId AND w.SpanId = s.SpanId
WHERE s.Timestamp >= {start:DateTime64(9)} AND s.Timestamp < {end:DateTime64(9)}
