-- name: agent_spans
-- description: What each span is, decided once: Kind is llm, tool, agent, step, embedding or retrieval, whatever
--    convention named it (GenAI chat, text_completion, generate_content; OpenInference LLM, CHAIN; framework
--    spans such as Strands' execute_event_loop_cycle). AgentNamed and SessionNamed say whether the span named its
--    agent and session itself (rather than agent_spans_mv taking a span name, or the trace id): a span that did
--    not takes them from its nearest agent run (agent_spans_in). The defaults fill rows written before.
ALTER TABLE {{database}}.agent_spans{{on_cluster}}
    ADD COLUMN IF NOT EXISTS Kind LowCardinality(String) DEFAULT multiIf(
        Operation IN ('chat', 'text_completion', 'generate_content'), 'llm',
        Operation = 'execute_tool', 'tool',
        Operation = 'invoke_agent', 'agent',
        Operation = 'embeddings', 'embedding',
        Operation = 'retrieval', 'retrieval',
        '') CODEC(ZSTD(1)) AFTER Operation,
    ADD COLUMN IF NOT EXISTS AgentNamed UInt8 DEFAULT AgentName != '' AFTER Kind,
    ADD COLUMN IF NOT EXISTS SessionNamed UInt8 DEFAULT SessionId != TraceId AFTER AgentNamed
