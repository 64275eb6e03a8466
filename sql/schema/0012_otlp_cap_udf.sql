-- name: agentwatch_otlp_cap
-- description: A value cut to cap characters, marked with …[truncated] so the row shows it was cut.
CREATE OR REPLACE FUNCTION agentwatch_otlp_cap{{on_cluster}} AS (v, cap) ->
    if(length(v) > cap AND lengthUTF8(v) > cap, concat(substringUTF8(v, 1, cap), '…[truncated]'), v)
