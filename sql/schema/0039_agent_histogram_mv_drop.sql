-- name: agent_histogram_mv
-- description: agent_histogram_mv is replaced by the next migration, which reads Kind (every LLM call, whatever its
--    operation name: Google ADK's generate_content too) rather than Operation = 'chat'.
DROP VIEW IF EXISTS {{database}}.agent_histogram_mv{{on_cluster}}
