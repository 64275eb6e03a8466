-- name: agent_findings
-- description: Findings last seen in [start, end) per agent and detector, as a parameterised view:
--    agent_findings(start = …, end = …). A finding naming several agents (a shared credential, a ping-pong hand-off
--    names them comma-separated) counts for each of them. The audit's questions read it.
CREATE VIEW IF NOT EXISTS {{database}}.agent_findings{{on_cluster}} AS
SELECT Agent, Detector, count() AS Findings
FROM (
    SELECT arrayJoin(splitByChar(',', AgentName)) AS Agent, Detector
    FROM {{database}}.findings FINAL
    WHERE LastSeen >= {start:DateTime64(9)} AND LastSeen < {end:DateTime64(9)} AND AgentName != ''
)
GROUP BY Agent, Detector
