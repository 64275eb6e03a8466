-- name: agent_spans_mv
-- description: Normalises every span written to otel_traces into agent_spans (replaces 0005). Maps the current
--    GenAI semantic conventions and their common alternatives (deprecated gen_ai.system / gen_ai.usage.prompt_tokens,
--    OpenInference llm.* / tool.* / openinference.span.kind, Traceloop traceloop.*) to one set of columns; for each
--    column the first non-empty source wins, in the order listed. Kind says what the span is (llm, tool, agent,
--    step, embedding, retrieval): an LLM call whatever its operation name, a framework's chain, graph node or
--    loop cycle a step (a trace's root chain is a run: LangGraph, CrewAI). An agent span that names no agent is
--    named by its span name (LangGraph's graph name, smolagents' "<name>.run"), with AgentNamed = 0. Tool
--    arguments and results also come from span events (Strands without the latest conventions).
CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.agent_spans_mv{{on_cluster}}
TO {{database}}.agent_spans
AS
WITH
    upper(SpanAttributes['openinference.span.kind']) AS oi_kind,
    lower(SpanAttributes['traceloop.span.kind']) AS tl_kind,
    arrayFirst(x -> x != '', [
        SpanAttributes['gen_ai.tool.call.arguments'],
        if(oi_kind = 'TOOL', SpanAttributes['input.value'], ''),
        if(tl_kind = 'tool', SpanAttributes['traceloop.entity.input'], ''),
        arrayFirst(x -> x != '', arrayMap((n, m) -> if(n = 'gen_ai.tool.message', m['content'], ''),
                                          Events.Name, Events.Attributes))
    ]) AS tool_args,
    arrayFirst(x -> x != '', [
        SpanAttributes['gen_ai.tool.call.result'],
        if(oi_kind = 'TOOL', SpanAttributes['output.value'], ''),
        if(tl_kind = 'tool', SpanAttributes['traceloop.entity.output'], ''),
        if(SpanAttributes['gen_ai.operation.name'] = 'execute_tool',
           arrayFirst(x -> x != '', arrayMap((n, m) -> if(n = 'gen_ai.choice', m['message'], ''),
                                             Events.Name, Events.Attributes)), '')
    ]) AS tool_result,
    isValidJSON(tool_result) AND JSONType(tool_result) = 'Object' AS result_is_object,
    arrayFirst(x -> x != '', [
        SpanAttributes['error.type'],
        arrayFirst(x -> x != '', arrayMap(m -> m['exception.type'], Events.Attributes)),
        if(StatusCode IN ('Error', 'STATUS_CODE_ERROR'), 'error', '')
    ]) AS error_type,
    SpanAttributes['gen_ai.operation.name'] AS genai_op,
    multiIf(
        genai_op IN ('chat', 'text_completion', 'generate_content') OR oi_kind = 'LLM'
            OR SpanAttributes['llm.request.type'] IN ('chat', 'completion'), 'llm',
        genai_op = 'execute_tool' OR oi_kind = 'TOOL' OR tl_kind = 'tool', 'tool',
        genai_op = 'invoke_agent' OR oi_kind = 'AGENT' OR tl_kind IN ('agent', 'workflow'), 'agent',
        oi_kind = 'CHAIN' AND ParentSpanId = '', 'agent',
        genai_op = 'embeddings' OR oi_kind = 'EMBEDDING', 'embedding',
        genai_op = 'retrieval' OR oi_kind = 'RETRIEVER', 'retrieval',
        genai_op != '' OR oi_kind != '' OR tl_kind != '' OR SpanAttributes['agentwatch.step.index'] != '', 'step',
        SpanAttributes['gen_ai.tool.name'] != '', 'tool',
        SpanAttributes['gen_ai.request.model'] != '', 'llm',
        ''
    ) AS kind,
    arrayFirst(x -> x != '', [
        SpanAttributes['gen_ai.agent.name'],
        SpanAttributes['agent.name'],
        if(oi_kind = 'AGENT', SpanAttributes['graph.node.id'], ''),
        if(tl_kind IN ('agent', 'workflow'), SpanAttributes['traceloop.entity.name'], ''),
        SpanAttributes['traceloop.workflow.name']
    ]) AS named_agent
SELECT
    Timestamp,
    TraceId,
    SpanId,
    ParentSpanId,
    SpanName,
    SpanKind,
    ServiceName,
    arrayFirst(x -> x != '', [
        SpanAttributes['gen_ai.conversation.id'],
        SpanAttributes['session.id'],
        SpanAttributes['agentwatch.session.id'],
        SpanAttributes['traceloop.association.properties.session_id'],
        TraceId
    ]) AS SessionId,
    if(named_agent = '' AND kind = 'agent',
       replaceRegexpOne(replaceRegexpOne(SpanName, '^invoke_agent ', ''), '\\.(run|arun|kickoff|invoke)$', ''),
       named_agent) AS AgentName,
    multiIf(
        SpanAttributes['gen_ai.operation.name'] != '', SpanAttributes['gen_ai.operation.name'],
        oi_kind = 'LLM', 'chat',
        oi_kind = 'TOOL', 'execute_tool',
        oi_kind = 'AGENT', 'invoke_agent',
        oi_kind = 'EMBEDDING', 'embeddings',
        oi_kind = 'RETRIEVER', 'retrieval',
        tl_kind = 'tool', 'execute_tool',
        tl_kind IN ('agent', 'workflow'), 'invoke_agent',
        SpanAttributes['llm.request.type'] != '', SpanAttributes['llm.request.type'],
        SpanAttributes['gen_ai.tool.name'] != '', 'execute_tool',
        SpanAttributes['gen_ai.request.model'] != '', 'chat',
        ''
    ) AS Operation,
    kind AS Kind,
    named_agent != '' AS AgentNamed,
    SessionId != TraceId AS SessionNamed,
    lower(arrayFirst(x -> x != '', [
        SpanAttributes['gen_ai.provider.name'],
        SpanAttributes['gen_ai.system'],
        SpanAttributes['llm.provider'],
        SpanAttributes['llm.system']
    ])) AS Provider,
    arrayFirst(x -> x != '', [
        SpanAttributes['gen_ai.request.model'],
        SpanAttributes['llm.model_name'],
        SpanAttributes['llm.request.model'],
        SpanAttributes['gen_ai.response.model']
    ]) AS RequestModel,
    arrayFirst(x -> x != '', [
        SpanAttributes['gen_ai.response.model'],
        SpanAttributes['llm.response.model'],
        SpanAttributes['llm.model_name']
    ]) AS ResponseModel,
    toUInt64OrZero(arrayFirst(x -> x != '', [
        SpanAttributes['gen_ai.usage.input_tokens'],
        SpanAttributes['gen_ai.usage.prompt_tokens'],
        SpanAttributes['llm.token_count.prompt'],
        SpanAttributes['llm.usage.prompt_tokens']
    ])) AS InputTokens,
    toUInt64OrZero(arrayFirst(x -> x != '', [
        SpanAttributes['gen_ai.usage.output_tokens'],
        SpanAttributes['gen_ai.usage.completion_tokens'],
        SpanAttributes['llm.token_count.completion'],
        SpanAttributes['llm.usage.completion_tokens']
    ])) AS OutputTokens,
    toFloat64OrZero(SpanAttributes['agentwatch.usage.cost_usd']) AS CostUsd,
    arrayFirst(x -> x != '', [
        SpanAttributes['gen_ai.tool.name'],
        SpanAttributes['tool.name'],
        if(tl_kind = 'tool', SpanAttributes['traceloop.entity.name'], '')
    ]) AS ToolName,
    arrayFirst(x -> x != '', [SpanAttributes['gen_ai.tool.call.id'], SpanAttributes['tool_call.id']]) AS ToolCallId,
    if(SpanAttributes['agentwatch.tool.arguments.hash'] != '', SpanAttributes['agentwatch.tool.arguments.hash'],
       if(tool_args != '', lower(hex(sipHash64(tool_args))), '')) AS ToolArgsHash,
    if(SpanAttributes['agentwatch.tool.result.shape'] != '', SpanAttributes['agentwatch.tool.result.shape'],
       if(result_is_object,
          arrayStringConcat(arraySort(arrayMap(k -> concat(k, ':', multiIf(
              JSONType(tool_result, k) IN ('Int64', 'UInt64', 'Double'), 'number',
              JSONType(tool_result, k) = 'Bool', 'boolean',
              lower(toString(JSONType(tool_result, k))))), JSONExtractKeys(tool_result))), ','),
          '')) AS ResultShape,
    if(SpanAttributes['agentwatch.tool.result.size'] != '', toUInt64OrZero(SpanAttributes['agentwatch.tool.result.size']),
       length(tool_result)) AS ResultSize,
    SpanAttributes['agentwatch.tool.result.error'] IN ('true', '1')
        OR (result_is_object AND JSONExtractRaw(tool_result, 'error') NOT IN ('', 'null', 'false', '""', '{}', '[]'))
        AS ResultIsError,
    JSONExtract(SpanAttributes['agentwatch.tool.result.flags'], 'Array(String)') AS ResultFlags,
    error_type AS ErrorType,
    error_type != '' AS IsError,
    StatusCode,
    SpanAttributes['agentwatch.agent.goal'] AS Goal,
    JSONExtract(SpanAttributes['agentwatch.agent.allowed_tools'], 'Array(String)') AS AllowedTools,
    JSONExtract(SpanAttributes['agentwatch.agent.resources'], 'Array(String)') AS Resources,
    SpanAttributes['agentwatch.tool.resource'] AS Resource,
    SpanAttributes['agentwatch.credential.id'] AS Credential,
    SpanAttributes['agentwatch.tool.irreversible'] IN ('true', '1') AS Irreversible,
    SpanAttributes['agentwatch.tool.approved'] IN ('true', '1') AS Approved,
    toUInt32OrZero(SpanAttributes['agentwatch.step.index']) AS StepIndex,
    SpanAttributes['agentwatch.step.intent'] AS Intent,
    Duration
FROM {{database}}.otel_traces
