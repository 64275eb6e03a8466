SELECT LastSeen AS last_seen, Detector, Severity, SessionId, AgentName, ToolName, Summary
FROM findings FINAL
WHERE FailureMode = {failure_mode:String} AND $__timeFilter(LastSeen) AND $__conditionalAll(AgentName IN (${agent:singlequote}), $agent)
ORDER BY LastSeen DESC LIMIT 50
