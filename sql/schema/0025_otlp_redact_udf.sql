-- name: agentwatch_otlp_redact
-- description: Text with every match of the secret pattern replaced by [REDACTED]. The regex runs only on text
--    holding one of the hints (case-insensitively; every built-in pattern's match contains one of them), found by
--    one multi-substring search: most values (ids, numbers, model names) need no regex at all. Empty hints: the
--    regex runs on everything (extra patterns have no hints); an empty pattern masks nothing. Applied to everything
--    a sender controls that is stored as text: attribute values and keys, span, event and scope names.
CREATE OR REPLACE FUNCTION agentwatch_otlp_redact{{on_cluster}} AS (s, pattern, hints) ->
    if(pattern = '' OR (notEmpty(hints) AND NOT multiSearchAnyCaseInsensitive(s, hints)), s,
       replaceRegexpAll(s, pattern, '[REDACTED]'))
