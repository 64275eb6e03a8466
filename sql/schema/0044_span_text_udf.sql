-- name: agentwatch_span_text
-- description: What a span was asked and what it answered, (input, output), wherever its convention put them.
--    Input: GenAI gen_ai.input.messages (an attribute, or a gen_ai.user.message / operation-details event),
--    OpenInference input.value or llm.input_messages.0.message.content, Traceloop traceloop.entity.input or
--    gen_ai.prompt.0.content. Output: GenAI gen_ai.output.messages (an attribute, or the last gen_ai.choice /
--    gen_ai.assistant.message / operation-details event), pydantic-ai's final_result, OpenInference output.value
--    or llm.output_messages.0.message.content, Traceloop traceloop.entity.output or gen_ai.completion.0.content.
--    Decided once, for the evaluator's answers and the investigation queries.
CREATE OR REPLACE FUNCTION agentwatch_span_text{{on_cluster}} AS (a, event_names, event_attributes) -> (
    arrayFirst(x -> x != '', [
        a['gen_ai.input.messages'], a['input.value'], a['traceloop.entity.input'], a['gen_ai.prompt.0.content'],
        a['llm.input_messages.0.message.content'],
        arrayFirst(x -> x != '', arrayMap((n, m) -> if(n = 'gen_ai.user.message', m['content'], m['gen_ai.input.messages']),
                                          event_names, event_attributes))]),
    arrayFirst(x -> x != '', [
        a['gen_ai.output.messages'], a['final_result'], a['output.value'], a['traceloop.entity.output'],
        a['gen_ai.completion.0.content'], a['llm.output_messages.0.message.content'],
        arrayLast(x -> x != '', arrayMap((n, m) -> if(n IN ('gen_ai.choice', 'gen_ai.assistant.message'),
                                                      m['message'] || m['content'], m['gen_ai.output.messages']),
                                         event_names, event_attributes))])
)
