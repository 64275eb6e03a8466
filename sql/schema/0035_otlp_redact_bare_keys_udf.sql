-- name: agentwatch_otlp_redact
-- description: Text with every match of the secret pattern replaced by [REDACTED], and before that every bare
--    secret key ({bare}: agentwatch.redaction.BARE_SECRET_KEY, its delimiters kept) — tried only on text holding a
--    40-character base64 run, so blocks without one never compile its 40 alternatives. An empty pattern masks
--    nothing; the conditions on the patterns are constants, costing nothing per row.
CREATE OR REPLACE FUNCTION agentwatch_otlp_redact{{on_cluster}} AS (s, pattern, bare) ->
    if(pattern = '', s,
       replaceRegexpAll(
           if(bare != '' AND match(s, '[A-Za-z0-9/+]{40}'), replaceRegexpAll(s, bare, '\\1[REDACTED]\\2'), s),
           pattern, '[REDACTED]'))
