SELECT uniqExact(TraceId, SpanId) AS answers FROM evaluations FINAL WHERE $__timeFilter(Timestamp) AND Status = 'scored' AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
