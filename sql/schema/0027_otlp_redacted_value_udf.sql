-- name: agentwatch_otlp_redacted_value
-- description: Any OTLP AnyValue as the exporter stores it (agentwatch_otlp_value), secrets masked inside it: in
--    strings; in bytes before they are base64-encoded; in each element of an array and each key and value of a
--    key-value list before they are written as JSON.
CREATE OR REPLACE FUNCTION agentwatch_otlp_redacted_value{{on_cluster}} AS (v, pattern, hints) -> multiIf(
    v.value = 'string_value', agentwatch_otlp_redact(v.string_value, pattern, hints),
    v.value = 'bytes_value', base64Encode(agentwatch_otlp_redact(v.bytes_value, pattern, hints)),
    v.value = 'array_value',
        concat('[', arrayStringConcat(arrayMap(x -> agentwatch_otlp_redacted_json(x, pattern, hints), v.array_value.values),
                                      ','), ']'),
    v.value = 'kvlist_value',
        concat('{', arrayStringConcat(arrayMap(kv -> concat(toJSONString(agentwatch_otlp_redact(kv.key, pattern, hints)), ':',
                                                            agentwatch_otlp_redacted_json(kv.value, pattern, hints)),
                                               arraySort(kv -> kv.key, v.kvlist_value.values)), ','), '}'),
    agentwatch_otlp_scalar(v))
