-- name: credentials
-- question: Is every agent running on a uniquely scoped credential (IAM role)?
-- failure_mode: permission_explosion
-- description: Per agent: the credential identities its runs declared (@agentwatch.agent(credential=...), never
--    the secret), the other agents using the same one, and secrets seen in its tool arguments or results
--    (secret_exposure findings; values redacted before storage). Not ready: a credential shared with another
--    agent, or a secret exposed. At risk: several credentials for one agent. Unknown: no credential recorded.
WITH
    spans AS (
        SELECT AgentName, Credential FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
        WHERE AgentName != ''
    ),
    used AS (SELECT DISTINCT AgentName, Credential FROM spans WHERE Credential != ''),
    shared AS (
        SELECT a.AgentName AS AgentName, arraySort(groupUniqArray(b.AgentName)) AS others
        FROM used AS a INNER JOIN used AS b ON a.Credential = b.Credential
        WHERE a.AgentName != b.AgentName
        GROUP BY a.AgentName
    ),
    per_agent AS (
        SELECT
            a.AgentName AS agent,
            c.credentials AS credentials,
            s.others AS shared_with,
            f.findings AS secret_findings
        FROM (
            SELECT DISTINCT AgentName FROM spans WHERE {agent:String} = '' OR AgentName = {agent:String}
        ) AS a
        LEFT JOIN (
            SELECT AgentName, arraySort(groupUniqArray(Credential)) AS credentials FROM used GROUP BY AgentName
        ) AS c ON c.AgentName = a.AgentName
        LEFT JOIN shared AS s ON s.AgentName = a.AgentName
        LEFT JOIN (
            SELECT Agent, sum(Findings) AS findings
            FROM agent_findings(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
            WHERE Detector = 'secret_exposure' GROUP BY Agent
        ) AS f ON f.Agent = a.AgentName
    )
SELECT
    agent,
    multiIf(
        empty(credentials) AND secret_findings = 0, 'unknown',
        notEmpty(shared_with) OR secret_findings > 0, 'not_ready',
        length(credentials) > 1, 'at_risk',
        'ready') AS verdict,
    multiIf(
        empty(credentials) AND secret_findings = 0, 'no credential identity was recorded for this agent',
        notEmpty(shared_with) AND secret_findings > 0,
            format('credential {} is shared with {}; {} secret(s) exposed in tool calls',
                   arrayStringConcat(credentials, ', '), arrayStringConcat(shared_with, ', '), toString(secret_findings)),
        notEmpty(shared_with),
            format('credential {} is shared with {}', arrayStringConcat(credentials, ', '),
                   arrayStringConcat(shared_with, ', ')),
        secret_findings > 0, format('{} secret(s) exposed in its tool arguments or results', toString(secret_findings)),
        length(credentials) > 1, format('it runs on {} credentials: {}', toString(length(credentials)),
                                       arrayStringConcat(credentials, ', ')),
        format('its own credential {}, shared with no other agent; no secret seen', credentials[1])
    ) AS reason,
    multiIf(
        empty(credentials) AND secret_findings = 0,
            'give it a credential of its own and declare it (@agentwatch.agent(credential="svc-..."))',
        notEmpty(shared_with), 'give it a credential of its own, scoped to what its allowed tools need',
        secret_findings > 0, 'keep secrets out of tool arguments and results (inject them inside the tool)',
        length(credentials) > 1, 'run it on one credential',
        '') AS next_step,
    credentials, shared_with, secret_findings
FROM per_agent
ORDER BY agent
