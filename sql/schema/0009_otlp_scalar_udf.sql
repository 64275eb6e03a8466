-- name: agentwatch_otlp_scalar
-- description: An OTLP AnyValue scalar as the OpenTelemetry Collector's ClickHouse exporter stringifies it
--    (pdata AsString): strings as they are, booleans true/false, integers and doubles in decimal, bytes base64.
--    SQL functions are global to the server, so the agentwatch_ prefix keeps them apart.
CREATE OR REPLACE FUNCTION agentwatch_otlp_scalar{{on_cluster}} AS (v) -> multiIf(
    v.value = 'string_value', v.string_value,
    v.value = 'bool_value', if(v.bool_value, 'true', 'false'),
    v.value = 'int_value', toString(v.int_value),
    v.value = 'double_value', toString(v.double_value),
    v.value = 'bytes_value', base64Encode(v.bytes_value),
    '')
