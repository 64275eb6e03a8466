-- name: agentwatch_output_text
-- description: What a span answered, wherever its convention put it: GenAI gen_ai.output.messages (an attribute,
--    or the last gen_ai.choice / gen_ai.assistant.message / operation-details event), pydantic-ai's final_result,
--    OpenInference output.value or llm.output_messages.0.message.content, Traceloop traceloop.entity.output or
--    gen_ai.completion.0.content. Decided once, for the evaluator's answers and the investigation queries.
CREATE OR REPLACE FUNCTION agentwatch_output_text{{on_cluster}} AS (attributes, event_names, event_attributes) ->
    arrayFirst(x -> x != '', [
        attributes['gen_ai.output.messages'],
        attributes['final_result'],
        attributes['output.value'],
        attributes['traceloop.entity.output'],
        attributes['gen_ai.completion.0.content'],
        attributes['llm.output_messages.0.message.content'],
        arrayLast(x -> x != '', arrayMap((n, m) -> if(n IN ('gen_ai.choice', 'gen_ai.assistant.message'),
                                                      m['message'] || m['content'], m['gen_ai.output.messages']),
                                         event_names, event_attributes))
    ])
