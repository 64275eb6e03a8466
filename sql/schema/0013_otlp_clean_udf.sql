-- name: agentwatch_otlp_clean
-- description: Redaction and size cap at the door: secrets matching the pattern become [REDACTED] (an
--    empty pattern redacts nothing), then values longer than cap characters are cut and end in …[truncated].
CREATE OR REPLACE FUNCTION agentwatch_otlp_clean{{on_cluster}} AS (v, pattern, cap) ->
    agentwatch_otlp_cap(if(pattern != '' AND match(v, pattern), replaceRegexpAll(v, pattern, '[REDACTED]'), v), cap)
