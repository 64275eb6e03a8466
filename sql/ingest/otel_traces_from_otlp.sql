-- name: otel_traces_from_otlp
-- description: Maps OTLP ExportTraceServiceRequests (length-delimited, read by ClickHouse with the schema in
--    otlp_traces.proto) to otel_traces rows exactly as the OpenTelemetry Collector's ClickHouse exporter
--    writes them: hex ids, Timestamp = start, Duration = end - start in ns (0 when end < start), the
--    exporter's SpanKind/StatusCode strings, attribute values stringified by agentwatch_otlp_value,
--    service.name from the resource. Everything a sender controls that is stored as text is redacted
--    ({redact}): span, event, link and resource attribute values (inside arrays, maps and bytes too) and keys,
--    span, event and scope names, the status message. Values are capped at {cap} bytes, names and keys at
--    {name_cap}; a span whose values were redacted or cut says how many in agentwatch.redacted /
--    agentwatch.truncated. Spans whose ids have the wrong length are skipped (the receiver reports them as
--    rejected). {{source}} is file(…) on the embedded store, input(…) on a server.
INSERT INTO otel_traces
WITH
    arrayMap(a -> agentwatch_otlp_cap(agentwatch_otlp_redacted_value(a.value, {redact:String}), {cap:UInt32}),
             sp.attributes) AS span_values,
    arrayMap(e -> arrayMap(a -> agentwatch_otlp_cap(agentwatch_otlp_redacted_value(a.value, {redact:String}),
                                                    {cap:UInt32}), e.attributes), sp.events) AS event_values,
    agentwatch_otlp_cap(agentwatch_otlp_redact(sp.name, {redact:String}), {name_cap:UInt32}) AS span_name,
    arraySum(arrayMap(v -> countSubstrings(v, '[REDACTED]'), span_values))
        + arraySum(arrayMap(vs -> arraySum(arrayMap(v -> countSubstrings(v, '[REDACTED]'), vs)), event_values))
        + countSubstrings(span_name, '[REDACTED]')
        AS redacted,
    arrayCount(v -> endsWith(v, '…[truncated]'), span_values) AS truncated,
    mapFromArrays(arrayMap(a -> agentwatch_otlp_cap(agentwatch_otlp_redact(a.key, {redact:String}), {name_cap:UInt32}),
                           rs.resource.attributes),
                  arrayMap(a -> agentwatch_otlp_cap(agentwatch_otlp_redacted_value(a.value, {redact:String}),
                                                    {cap:UInt32}), rs.resource.attributes)) AS resource_map
SELECT
    fromUnixTimestamp64Nano(toInt64(sp.start_time_unix_nano)) AS Timestamp,
    lower(hex(sp.trace_id)) AS TraceId,
    lower(hex(sp.span_id)) AS SpanId,
    lower(hex(sp.parent_span_id)) AS ParentSpanId,
    sp.trace_state AS TraceState,
    span_name AS SpanName,
    ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'][least(greatest(sp.kind, 0), 5) + 1]
        AS SpanKind,
    resource_map['service.name'] AS ServiceName,
    resource_map AS ResourceAttributes,
    agentwatch_otlp_cap(agentwatch_otlp_redact(ss.scope.name, {redact:String}), {name_cap:UInt32}) AS ScopeName,
    agentwatch_otlp_cap(ss.scope.version, {name_cap:UInt32}) AS ScopeVersion,
    mapUpdate(
        mapFromArrays(arrayMap(a -> agentwatch_otlp_cap(agentwatch_otlp_redact(a.key, {redact:String}),
                                                        {name_cap:UInt32}), sp.attributes), span_values),
        mapFromArrays(
            arrayFilter((k, n) -> n > 0, ['agentwatch.redacted', 'agentwatch.truncated'], [redacted, truncated]),
            arrayMap(n -> toString(n), arrayFilter(n -> n > 0, [redacted, truncated])))
    ) AS SpanAttributes,
    if(sp.end_time_unix_nano > sp.start_time_unix_nano, sp.end_time_unix_nano - sp.start_time_unix_nano, 0)
        AS Duration,
    ['Unset', 'Ok', 'Error'][least(greatest(sp.status.code, 0), 2) + 1] AS StatusCode,
    agentwatch_otlp_cap(agentwatch_otlp_redact(sp.status.message, {redact:String}), {cap:UInt32})
        AS StatusMessage,
    arrayMap(e -> fromUnixTimestamp64Nano(toInt64(e.time_unix_nano)), sp.events) AS `Events.Timestamp`,
    arrayMap(e -> agentwatch_otlp_cap(agentwatch_otlp_redact(e.name, {redact:String}), {name_cap:UInt32}), sp.events)
        AS `Events.Name`,
    arrayMap((e, vs) -> mapFromArrays(arrayMap(a -> agentwatch_otlp_cap(agentwatch_otlp_redact(a.key, {redact:String}),
                                                                        {name_cap:UInt32}), e.attributes), vs),
             sp.events, event_values) AS `Events.Attributes`,
    arrayMap(l -> lower(hex(l.trace_id)), sp.links) AS `Links.TraceId`,
    arrayMap(l -> lower(hex(l.span_id)), sp.links) AS `Links.SpanId`,
    arrayMap(l -> l.trace_state, sp.links) AS `Links.TraceState`,
    arrayMap(l -> mapFromArrays(
                      arrayMap(a -> agentwatch_otlp_cap(agentwatch_otlp_redact(a.key, {redact:String}),
                                                        {name_cap:UInt32}), l.attributes),
                      arrayMap(a -> agentwatch_otlp_cap(agentwatch_otlp_redacted_value(a.value, {redact:String}),
                                                        {cap:UInt32}), l.attributes)), sp.links)
        AS `Links.Attributes`
FROM {{source}}
ARRAY JOIN resource_spans AS rs
ARRAY JOIN rs.scope_spans AS ss
ARRAY JOIN ss.spans AS sp
WHERE length(sp.trace_id) = 16 AND length(sp.span_id) = 8
