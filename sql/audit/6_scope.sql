-- name: scope
-- question: What prevents the agent from autonomously expanding its scope?
-- failure_mode: goal_drift
-- description: Per agent: the tools it declared (allowed_tools) against the tools it used, whether its scope and
--    approvals were enforced (agent_guards), its irreversible actions and how many were approved, and the scope and
--    drift findings (scope_violation, unapproved_irreversible, drift_after_failure, new_tool_for_agent). Not ready:
--    a scope or unapproved-action finding, or no allowed tools declared (an empty list declares "none"). At risk: a declared scope not enforced,
--    irreversible actions with no approval required, or a new tool. Unknown: no agent span recorded.
WITH
    spans AS (
        SELECT * FROM agent_spans_in(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
          WHERE AgentName != '' AND ({agent:String} = '' OR AgentName = {agent:String})
    ),
    per_agent AS (
        SELECT
            a.AgentName AS agent,
            d.runs AS agent_runs,
            d.declared AS allowed_tools,
            u.used AS tools_used,
            arrayFilter(t -> NOT has(d.declared, t), u.used) AS used_outside,
            u.irreversible AS irreversible_calls,
            u.approved AS approved_calls,
            g.RunsScoped > 0 AS scope_declared,
            g.RunsRecorded > 0 AND g.RunsScopeEnforced = g.RunsRecorded AS scope_enforced,
            g.RunsRecorded > 0 AND g.RunsApprovalRequired = g.RunsRecorded AS approval_required,
            f.violations AS scope_findings,
            f.new_tools AS new_tool_findings
        FROM (SELECT DISTINCT AgentName FROM spans) AS a
        LEFT JOIN (
            SELECT AgentName, count() AS runs, arraySort(groupUniqArrayArray(AllowedTools)) AS declared
            FROM spans WHERE Operation = 'invoke_agent' GROUP BY AgentName
        ) AS d ON d.AgentName = a.AgentName
        LEFT JOIN (
            SELECT AgentName, arraySort(groupUniqArray(ToolName)) AS used, countIf(Irreversible = 1) AS irreversible,
                   countIf(Irreversible = 1 AND Approved = 1) AS approved
            FROM spans WHERE Operation = 'execute_tool' AND ToolName != '' GROUP BY AgentName
        ) AS u ON u.AgentName = a.AgentName
        LEFT JOIN (SELECT * FROM agent_guards(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})) AS g
            ON g.AgentName = a.AgentName
        LEFT JOIN (
            SELECT Agent,
                   sumIf(Findings, Detector IN ('scope_violation', 'unapproved_irreversible', 'drift_after_failure'))
                       AS violations,
                   sumIf(Findings, Detector = 'new_tool_for_agent') AS new_tools
            FROM agent_findings(start = {start:DateTime64(9)}, end = {end:DateTime64(9)})
            GROUP BY Agent
        ) AS f ON f.Agent = a.AgentName
    )
SELECT
    agent,
    multiIf(
        agent_runs = 0, 'unknown',
        scope_findings > 0 OR (empty(allowed_tools) AND NOT scope_declared), 'not_ready',
        NOT scope_enforced OR (irreversible_calls > 0 AND NOT approval_required) OR new_tool_findings > 0, 'at_risk',
        'ready') AS verdict,
    multiIf(
        agent_runs = 0, 'no agent span was recorded: its contract (goal, allowed tools) is unknown',
        scope_findings > 0,
            format('{} scope finding(s): it used {} beyond its allowed tools [{}]', toString(scope_findings),
                   if(empty(used_outside), 'an unapproved irreversible action', arrayStringConcat(used_outside, ', ')),
                   arrayStringConcat(allowed_tools, ', ')),
        empty(allowed_tools) AND NOT scope_declared,
            format('no allowed tools declared; it used [{}]', arrayStringConcat(tools_used, ', ')),
        NOT scope_enforced, format('allowed tools [{}] declared but not enforced', arrayStringConcat(allowed_tools, ', ')),
        irreversible_calls > 0 AND NOT approval_required,
            format('{} irreversible action(s) ({} approved) with no approval required', toString(irreversible_calls),
                   toString(approved_calls)),
        new_tool_findings > 0, format('{} tool(s) new for this agent', toString(new_tool_findings)),
        format('{}, enforced{}', if(empty(allowed_tools), 'no tool allowed',
                                    format('scope [{}]', arrayStringConcat(allowed_tools, ', '))),
               if(irreversible_calls > 0, format(', {} irreversible action(s), all approved', toString(irreversible_calls)),
                  ''))
    ) AS reason,
    multiIf(
        agent_runs = 0, 'run it through @agentwatch.agent with its goal and allowed tools',
        scope_findings > 0 OR (empty(allowed_tools) AND NOT scope_declared),
            'declare its allowed tools and enforce them (allowed_tools=[...], Guards(enforce_scope=True))',
        NOT scope_enforced, 'enforce its scope (Guards(enforce_scope=True), or AGENTWATCH_ENFORCE_SCOPE=true)',
        irreversible_calls > 0 AND NOT approval_required,
            'require approval of irreversible actions (Guards(require_approval=True))',
        new_tool_findings > 0, 'review the tools it started using and add them to its allowed tools or take them away',
        '') AS next_step,
    agent_runs, allowed_tools, tools_used, used_outside, scope_declared, scope_enforced, irreversible_calls, approved_calls,
    approval_required, scope_findings, new_tool_findings
FROM per_agent
ORDER BY agent
