-- name: tools
-- question: What happens when a tool schema changes without warning?
-- failure_mode: tool_schema_drift
-- description: Per agent: the tools it called, which of them declare a result contract (@agentwatch.tool(
--    result_schema=...), checked on every call), how many result shapes each returned, and the schema findings
--    (tool_schema_drift, empty_results_with_hits). Not ready: a schema finding. At risk: a tool without a contract.
--    Ready too: an agent whose runs called no tool. Unknown: tool calls with no recorded result shape, or no run.
WITH
    calls AS (
        SELECT AgentName, ToolName, ResultShape, SpanId
        FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
        WHERE AgentName != '' AND ({agent:String} = '' OR AgentName = {agent:String})
          AND Operation = 'execute_tool' AND ToolName != ''
    ),
    contracts AS (
        SELECT DISTINCT SpanAttributes['gen_ai.tool.name'] AS ToolName FROM otel_traces
        WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
          AND SpanAttributes['agentwatch.tool.result.schema'] != ''
    ),
    tools AS (
        SELECT AgentName, ToolName, uniqExactIf(ResultShape, ResultShape != '') AS shapes, count() AS n
        FROM calls GROUP BY AgentName, ToolName
    ),
    runs AS (
        SELECT AgentName, count() AS runs
        FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
        WHERE AgentName != '' AND ({agent:String} = '' OR AgentName = {agent:String}) AND Operation = 'invoke_agent'
        GROUP BY AgentName
    ),
    per_agent AS (
        SELECT
            a.AgentName AS agent,
            any(r.runs) AS agent_runs,
            countIf(t.ToolName != '') AS tools_used,
            sum(t.n) AS tool_calls,
            arraySort(groupArrayIf(t.ToolName, t.ToolName != '' AND t.ToolName IN (SELECT ToolName FROM contracts)))
                AS with_contract,
            arraySort(groupArrayIf(t.ToolName, t.ToolName != '' AND t.ToolName NOT IN (SELECT ToolName FROM contracts)))
                AS without_contract,
            arraySort(groupArrayIf(concat(t.ToolName, ':', toString(t.shapes)), t.ToolName != '')) AS shapes_per_tool,
            sum(t.shapes) AS shapes_seen,
            any(f.findings) AS schema_findings
        FROM (SELECT AgentName FROM runs UNION DISTINCT SELECT DISTINCT AgentName FROM tools) AS a
        LEFT JOIN tools AS t ON t.AgentName = a.AgentName
        LEFT JOIN runs AS r ON r.AgentName = a.AgentName
        LEFT JOIN (
            SELECT Agent, sum(Findings) AS findings
            FROM agent_findings(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
            WHERE Detector IN ('tool_schema_drift', 'empty_results_with_hits') GROUP BY Agent
        ) AS f ON f.Agent = a.AgentName
        GROUP BY a.AgentName
    )
SELECT
    agent,
    multiIf(
        tool_calls = 0 AND schema_findings = 0 AND agent_runs > 0, 'ready',
        shapes_seen = 0 AND schema_findings = 0, 'unknown',
        schema_findings > 0, 'not_ready',
        notEmpty(without_contract), 'at_risk',
        'ready') AS verdict,
    multiIf(
        tool_calls = 0 AND schema_findings = 0 AND agent_runs > 0,
            format('its {} run(s) called no tool: no tool schema to change under it', toString(agent_runs)),
        shapes_seen = 0 AND schema_findings = 0, 'no tool result shapes were recorded for this agent',
        schema_findings > 0,
            format('{} schema finding(s): a tool''s results changed shape or claimed hits they did not return',
                   toString(schema_findings)),
        notEmpty(without_contract),
            format('{} of {} tools declare no result contract: {}', toString(length(without_contract)),
                   toString(tools_used), arrayStringConcat(without_contract, ', ')),
        format('every tool it calls declares a result contract ({}); {} result shape(s) seen',
               arrayStringConcat(with_contract, ', '), toString(shapes_seen))
    ) AS reason,
    multiIf(
        tool_calls = 0 AND schema_findings = 0 AND agent_runs > 0, '',
        shapes_seen = 0 AND schema_findings = 0, 'decorate its tools with @agentwatch.tool so their results are fingerprinted',
        schema_findings > 0,
            'declare the result contract of each drifting tool (@agentwatch.tool(result_schema=...)) so a change fails loudly',
        notEmpty(without_contract),
            concat('declare result contracts (result_schema=...) for ', arrayStringConcat(without_contract, ', ')),
        '') AS next_step,
    tools_used, tool_calls, with_contract, without_contract, shapes_per_tool, schema_findings
FROM per_agent
ORDER BY agent
