-- name: agentwatch_otlp_json
-- description: An OTLP AnyValue scalar as a JSON value, for array and map attributes (which the exporter
--    writes as JSON). Values nested deeper than one level become null.
CREATE OR REPLACE FUNCTION agentwatch_otlp_json{{on_cluster}} AS (v) -> multiIf(
    v.value = 'string_value', toJSONString(v.string_value),
    v.value = 'bytes_value', toJSONString(base64Encode(v.bytes_value)),
    v.value IN ('bool_value', 'int_value', 'double_value'), agentwatch_otlp_scalar(v),
    'null')
