-- name: agentwatch_otlp_clean
-- description: Redaction and size cap at the door: secrets matching the pattern become [REDACTED] (an empty
--    pattern redacts nothing; the condition is a constant, so it costs nothing per row), then values longer
--    than cap bytes are cut and end in …[truncated].
CREATE OR REPLACE FUNCTION agentwatch_otlp_clean{{on_cluster}} AS (v, pattern, cap) ->
    agentwatch_otlp_cap(if(pattern = '', v, replaceRegexpAll(v, pattern, '[REDACTED]')), cap)
