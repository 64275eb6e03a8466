-- name: agentwatch_otlp_redacted_value
-- description: Any OTLP AnyValue as the exporter stores it (agentwatch_otlp_value), secrets masked (the secret pattern
--    and bare secret keys, agentwatch_otlp_redact): bytes before they are base64-encoded, everything else as the text
--    that is stored (arrays and maps as their JSON). The redacted text is written twice below but is one expression
--    to ClickHouse, computed once.
CREATE OR REPLACE FUNCTION agentwatch_otlp_redacted_value{{on_cluster}} AS (v, pattern, bare) ->
    if(v.value = 'bytes_value',
       base64Encode(agentwatch_otlp_redact(if(v.value = 'bytes_value', v.bytes_value, agentwatch_otlp_value(v)), pattern, bare)),
       agentwatch_otlp_redact(if(v.value = 'bytes_value', v.bytes_value, agentwatch_otlp_value(v)), pattern, bare))
