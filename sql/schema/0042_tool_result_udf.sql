-- name: agentwatch_tool_result
-- description: A tool span's result text, wherever its convention put it: GenAI gen_ai.tool.call.result,
--    OpenInference output.value (of a TOOL span), Traceloop traceloop.entity.output (of a tool span), or a
--    gen_ai.choice event of an execute_tool span (Strands without the latest conventions). Decided once, for the
--    evaluators' evidence; agent_spans_mv (0037, shipped) reads the same sources in the same order for ResultSize
--    and ResultShape, and a test holds the two equal on every recorded framework's spans.
CREATE OR REPLACE FUNCTION agentwatch_tool_result{{on_cluster}} AS (attributes, event_names, event_attributes) ->
    arrayFirst(x -> x != '', [
        attributes['gen_ai.tool.call.result'],
        if(upper(attributes['openinference.span.kind']) = 'TOOL', attributes['output.value'], ''),
        if(lower(attributes['traceloop.span.kind']) = 'tool', attributes['traceloop.entity.output'], ''),
        if(attributes['gen_ai.operation.name'] = 'execute_tool',
           arrayFirst(x -> x != '', arrayMap((n, m) -> if(n = 'gen_ai.choice', m['message'], ''),
                                             event_names, event_attributes)), '')
    ])
