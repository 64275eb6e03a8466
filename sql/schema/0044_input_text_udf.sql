-- name: agentwatch_input_text
-- description: What a span was asked, wherever its convention put it: GenAI gen_ai.input.messages (an attribute,
--    or a gen_ai.user.message / operation-details event), OpenInference input.value or
--    llm.input_messages.0.message.content, Traceloop traceloop.entity.input or gen_ai.prompt.0.content. Decided
--    once, for the evaluator's answers and the investigation queries.
CREATE OR REPLACE FUNCTION agentwatch_input_text{{on_cluster}} AS (attributes, event_names, event_attributes) ->
    arrayFirst(x -> x != '', [
        attributes['gen_ai.input.messages'],
        attributes['input.value'],
        attributes['traceloop.entity.input'],
        attributes['gen_ai.prompt.0.content'],
        attributes['llm.input_messages.0.message.content'],
        arrayFirst(x -> x != '', arrayMap((n, m) -> if(n = 'gen_ai.user.message', m['content'], m['gen_ai.input.messages']),
                                          event_names, event_attributes))
    ])
