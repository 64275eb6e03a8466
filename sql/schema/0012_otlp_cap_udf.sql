-- name: agentwatch_otlp_cap
-- description: A value longer than cap bytes, cut to cap bytes (never mid-character) and marked with
--    …[truncated], so the row shows it was cut.
CREATE OR REPLACE FUNCTION agentwatch_otlp_cap{{on_cluster}} AS (v, cap) ->
    if(length(v) > cap, concat(toValidUTF8(substring(v, 1, cap)), '…[truncated]'), v)
