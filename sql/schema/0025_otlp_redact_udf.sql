-- name: agentwatch_otlp_redact
-- description: Text with every match of the secret pattern replaced by [REDACTED] (an empty pattern masks nothing;
--    the condition is a constant, so it costs nothing per row). RE2 runs its DFA over text without a match at
--    memory speed: a substring pre-check (multiSearchAnyCaseInsensitive over the patterns' hints) measured slower
--    than the regex itself.
CREATE OR REPLACE FUNCTION agentwatch_otlp_redact{{on_cluster}} AS (s, pattern) ->
    if(pattern = '', s, replaceRegexpAll(s, pattern, '[REDACTED]'))
