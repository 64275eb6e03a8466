SELECT LastSeen AS last_seen, FailureMode AS failure_mode, Detector, Severity, AgentName, ToolName, Summary
FROM findings FINAL WHERE SessionId = ${session:sqlstring} ORDER BY LastSeen DESC
