-- name: otel_traces_from_otlp
-- description: Maps OTLP ExportTraceServiceRequests (length-delimited, read by ClickHouse with the schema in
--    otlp_traces.proto) to otel_traces rows exactly as the OpenTelemetry Collector's ClickHouse exporter
--    writes them: hex ids, Timestamp = start, Duration = end - start in ns (0 when end < start), the
--    exporter's SpanKind/StatusCode strings, attribute values stringified by agentwatch_otlp_value,
--    service.name from the resource. Everything a sender controls that is stored as text is redacted
--    ({redact}) and capped: the span, event and scope names, the scope version, the status message, the span's
--    and its links' trace states, and the keys and values of the span's, its events', its links' and its
--    resource's attributes (bytes before base64, arrays and maps as their JSON).
--    ClickHouse compiles the pattern anew at every call site for every block, which costs more than matching,
--    so there are three: the short texts (names, status, every key) in one array, the span's values, and the
--    values of its events, links and resource in one array. Values are capped at {cap} bytes, names and keys at
--    {name_cap}; a span whose values were redacted or cut says how many in agentwatch.redacted /
--    agentwatch.truncated. Spans whose ids have the wrong length are skipped (the receiver reports them as
--    rejected). {{source}} is file(…) on the embedded store, input(…) on a server.
INSERT INTO otel_traces
WITH
    -- the attributes of the span's events, its links and its resource, in that order
    arrayConcat(arrayFlatten(arrayMap(e -> e.attributes, sp.events)),
                arrayFlatten(arrayMap(l -> l.attributes, sp.links)), rs.resource.attributes) AS other_attributes,
    length(sp.attributes) AS span_count,
    arraySum(arrayMap(e -> length(e.attributes), sp.events)) AS event_count,
    arraySum(arrayMap(l -> length(l.attributes), sp.links)) AS link_count,
    5 + length(sp.events) + length(sp.links) AS names_count,
    -- the short texts, redacted at one call site: [span name, scope name, status, trace state, scope version,
    -- event names…, link trace states…, keys…]
    arrayMap(t -> agentwatch_otlp_redact(t, {redact:String}),
             arrayConcat([sp.name, ss.scope.name, sp.status.message, sp.trace_state, ss.scope.version],
                         arrayMap(e -> e.name, sp.events), arrayMap(l -> l.trace_state, sp.links),
                         arrayMap(a -> a.key, sp.attributes), arrayMap(a -> a.key, other_attributes))) AS texts,
    arrayMap(k -> agentwatch_otlp_cap(k, {name_cap:UInt32}), arraySlice(texts, names_count + 1)) AS keys,
    arrayMap(a -> agentwatch_otlp_cap(agentwatch_otlp_redacted_value(a.value, {redact:String}), {cap:UInt32}),
             sp.attributes) AS span_values,
    arrayMap(a -> agentwatch_otlp_cap(agentwatch_otlp_redacted_value(a.value, {redact:String}), {cap:UInt32}),
             other_attributes) AS other_values,
    arraySlice(other_values, 1, event_count) AS event_values,
    arrayMap(e -> length(e.attributes), sp.events) AS event_lengths,
    arrayMap((c, n) -> c - n, arrayCumSum(event_lengths), event_lengths) AS event_starts,
    arrayMap(l -> length(l.attributes), sp.links) AS link_lengths,
    arrayMap((c, n) -> c - n, arrayCumSum(link_lengths), link_lengths) AS link_starts,
    agentwatch_otlp_cap(texts[1], {name_cap:UInt32}) AS span_name,
    arraySum(arrayMap(v -> countSubstrings(v, '[REDACTED]'), span_values))
        + arraySum(arrayMap(v -> countSubstrings(v, '[REDACTED]'), event_values))
        + countSubstrings(span_name, '[REDACTED]') AS redacted,
    arrayCount(v -> endsWith(v, '…[truncated]'), span_values) AS truncated,
    mapFromArrays(arraySlice(keys, span_count + event_count + link_count + 1),
                  arraySlice(other_values, event_count + link_count + 1)) AS resource_map
SELECT
    fromUnixTimestamp64Nano(toInt64(sp.start_time_unix_nano)) AS Timestamp,
    lower(hex(sp.trace_id)) AS TraceId,
    lower(hex(sp.span_id)) AS SpanId,
    lower(hex(sp.parent_span_id)) AS ParentSpanId,
    agentwatch_otlp_cap(texts[4], {name_cap:UInt32}) AS TraceState,
    span_name AS SpanName,
    ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'][least(greatest(sp.kind, 0), 5) + 1]
        AS SpanKind,
    resource_map['service.name'] AS ServiceName,
    resource_map AS ResourceAttributes,
    agentwatch_otlp_cap(texts[2], {name_cap:UInt32}) AS ScopeName,
    agentwatch_otlp_cap(texts[5], {name_cap:UInt32}) AS ScopeVersion,
    mapUpdate(
        mapFromArrays(arraySlice(keys, 1, span_count), span_values),
        mapFromArrays(
            arrayFilter((k, n) -> n > 0, ['agentwatch.redacted', 'agentwatch.truncated'], [redacted, truncated]),
            arrayMap(n -> toString(n), arrayFilter(n -> n > 0, [redacted, truncated])))
    ) AS SpanAttributes,
    if(sp.end_time_unix_nano > sp.start_time_unix_nano, sp.end_time_unix_nano - sp.start_time_unix_nano, 0)
        AS Duration,
    ['Unset', 'Ok', 'Error'][least(greatest(sp.status.code, 0), 2) + 1] AS StatusCode,
    agentwatch_otlp_cap(texts[3], {cap:UInt32}) AS StatusMessage,
    arrayMap(e -> fromUnixTimestamp64Nano(toInt64(e.time_unix_nano)), sp.events) AS `Events.Timestamp`,
    arrayMap(n -> agentwatch_otlp_cap(n, {name_cap:UInt32}), arraySlice(texts, 6, length(sp.events)))
        AS `Events.Name`,
    arrayMap((s, n) -> mapFromArrays(arraySlice(keys, span_count + s + 1, n), arraySlice(event_values, s + 1, n)),
             event_starts, event_lengths) AS `Events.Attributes`,
    arrayMap(l -> lower(hex(l.trace_id)), sp.links) AS `Links.TraceId`,
    arrayMap(l -> lower(hex(l.span_id)), sp.links) AS `Links.SpanId`,
    arrayMap(t -> agentwatch_otlp_cap(t, {name_cap:UInt32}),
             arraySlice(texts, 6 + length(sp.events), length(sp.links))) AS `Links.TraceState`,
    arrayMap((s, n) -> mapFromArrays(arraySlice(keys, span_count + event_count + s + 1, n),
                                     arraySlice(other_values, event_count + s + 1, n)),
             link_starts, link_lengths) AS `Links.Attributes`
FROM {{source}}
ARRAY JOIN resource_spans AS rs
ARRAY JOIN rs.scope_spans AS ss
ARRAY JOIN ss.spans AS sp
WHERE length(sp.trace_id) = 16 AND length(sp.span_id) = 8
