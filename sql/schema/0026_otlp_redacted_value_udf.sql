-- name: agentwatch_otlp_redacted_value
-- description: Any OTLP AnyValue as the exporter stores it (agentwatch_otlp_value), secrets masked: bytes before
--    they are base64-encoded, everything else as the text that is stored (arrays and maps as their JSON: the
--    patterns read through JSON's \/ and \" escapes). One regex call site: ClickHouse compiles the pattern anew at
--    every call site for every block (measured 1.4-2.5 ms for the built-in pattern), which outweighs the matching.
--    The redacted text is written twice below but is one expression to ClickHouse, computed once.
CREATE OR REPLACE FUNCTION agentwatch_otlp_redacted_value{{on_cluster}} AS (v, pattern) ->
    if(v.value = 'bytes_value',
       base64Encode(agentwatch_otlp_redact(if(v.value = 'bytes_value', v.bytes_value, agentwatch_otlp_value(v)), pattern)),
       agentwatch_otlp_redact(if(v.value = 'bytes_value', v.bytes_value, agentwatch_otlp_value(v)), pattern))
