-- name: agent_spans_mv
-- description: agent_spans_mv is replaced by the next migration (it fills Kind, AgentNamed and SessionNamed, and
--    reads tool arguments and results from span events too). Run while the collector is stopped: spans inserted
--    between this and the next migration reach otel_traces only.
DROP VIEW IF EXISTS {{database}}.agent_spans_mv{{on_cluster}}
