-- name: agent_spans
-- description: Whether a span failed, decided once: an error status or exception (IsError), a tool result that
--    says it failed (ResultIsError), or one the SDK flagged as an error payload. Detectors, the evaluator's answer
--    query, the investigation queries and the dashboards read Failed instead of combining the three each their own
--    way. The default fills rows written before, and rows agent_spans_mv writes now.
ALTER TABLE {{database}}.agent_spans{{on_cluster}}
    ADD COLUMN IF NOT EXISTS Failed UInt8 DEFAULT IsError = 1 OR ResultIsError = 1 OR has(ResultFlags, 'error_payload')
        AFTER IsError
