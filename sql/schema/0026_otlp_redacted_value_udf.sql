-- name: agentwatch_otlp_redacted_value
-- description: Any OTLP AnyValue as the exporter stores it (agentwatch_otlp_value), secrets masked: bytes before
--    they are base64-encoded, everything else after it is written as text. Arrays and maps are redacted as the JSON
--    they are stored as: the patterns read through JSON escaping (\/ and \"), so one regex call covers the value.
--    Two call sites, not one per branch: ClickHouse compiles the pattern anew at every call site for every block
--    (measured: 1.4 ms for the built-in pattern), which dominated the insert when each branch had its own.
CREATE OR REPLACE FUNCTION agentwatch_otlp_redacted_value{{on_cluster}} AS (v, pattern) ->
    if(v.value = 'bytes_value', base64Encode(agentwatch_otlp_redact(v.bytes_value, pattern)),
       agentwatch_otlp_redact(agentwatch_otlp_value(v), pattern))
