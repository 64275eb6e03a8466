-- name: agentwatch_otlp_value
-- description: Any OTLP AnyValue as the exporter stores it: scalars stringified, arrays as a JSON array,
--    key-value lists as a JSON object with sorted keys (as Go's encoding/json writes a map).
CREATE OR REPLACE FUNCTION agentwatch_otlp_value{{on_cluster}} AS (v) -> multiIf(
    v.value = 'array_value',
        concat('[', arrayStringConcat(arrayMap(x -> agentwatch_otlp_json(x), v.array_value.values), ','), ']'),
    v.value = 'kvlist_value',
        concat('{', arrayStringConcat(arrayMap(kv -> concat(toJSONString(kv.key), ':', agentwatch_otlp_json(kv.value)),
                                               arraySort(kv -> kv.key, v.kvlist_value.values)), ','), '}'),
    agentwatch_otlp_scalar(v))
