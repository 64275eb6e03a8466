-- name: agentwatch_otlp_redacted_json
-- description: agentwatch_otlp_json with secrets masked before the value is written as JSON, so JSON escaping
--    (toJSONString writes / as \/) cannot hide a secret from the pattern; bytes are masked before base64.
CREATE OR REPLACE FUNCTION agentwatch_otlp_redacted_json{{on_cluster}} AS (v, pattern, hints) -> multiIf(
    v.value = 'string_value', toJSONString(agentwatch_otlp_redact(v.string_value, pattern, hints)),
    v.value = 'bytes_value', toJSONString(base64Encode(agentwatch_otlp_redact(v.bytes_value, pattern, hints))),
    v.value IN ('bool_value', 'int_value', 'double_value'), agentwatch_otlp_scalar(v),
    'null')
