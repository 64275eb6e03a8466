"""The six agentwatch dashboards, defined once here and written to ``dashboards/*.json``.

Run ``python -m agentwatch.dashboards._build`` after editing; a test checks the JSON files match. Every panel
queries through the ``${datasource}`` variable (the Grafana ClickHouse plugin, SQL editor) with the plugin's macros,
and reads agentwatch's tables unqualified, so the datasource's default database decides where they live.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentwatch.audit import QUESTIONS
from agentwatch.dashboards.grafana import PLUGIN
from agentwatch.detectors import FAILURE_MODES
from agentwatch.evaluators._model import METRIC_UNITS, METRICS
from agentwatch.sqlfiles import load_sql

__all__ = ["DASHBOARDS", "build_all", "default_provisioning", "write_all"]

DATASOURCE = {"type": PLUGIN, "uid": "${datasource}"}
FORMAT = {"timeseries": 0, "table": 1, "logs": 2, "traces": 3}
LLM = "Kind = 'llm'"  # decided once, in agent_spans (whatever convention named the call)
SESSION_LINK = "/d/agentwatch-session/agentwatch-session?var-session=${__value.raw}&${__url_time_range}"
# the title and one-line gist of each of the detectors' failure modes (a mode missing here fails the build)
FAILURE_MODE_TEXT = {
    "context_degradation": ("Context degradation", "Input tokens grow within a session; a call fills the window."),
    "silent_wrong_answers": ("Silent wrong answers", "Answers not grounded in their sources, or scores drifting."),
    "tool_schema_drift": ("Tool schema drift", "A tool's result shape changes; empty results claim hits; errors."),
    "runaway_loops_and_cost": ("Runaway loops and cost", "Repeated calls, ping-pong, step explosions, cost spikes."),
    "permission_explosion": ("Permission explosion", "Tools outside scope, shared credentials, secrets in payloads."),
    "goal_drift": ("Goal drift", "Irreversible actions without approval, off-goal actions after a failure."),
}


# -- panels ---------------------------------------------------------------------------------------------------------
def _target(sql: str, kind: str) -> dict[str, Any]:
    query_type = {"timeseries": "timeseries", "traces": "traces", "logs": "logs"}.get(kind, "table")
    return {
        "refId": "A",
        "datasource": DATASOURCE,
        "editorType": "sql",
        "format": FORMAT[query_type],
        "queryType": query_type,
        "rawSql": sql.strip(),
    }


def panel(
    kind: str,
    title: str,
    sql: str,
    *,
    w: int = 12,
    h: int = 8,
    unit: str = "",
    description: str = "",
    options: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
    overrides: list[dict[str, Any]] | None = None,
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One panel; ``kind`` is the Grafana panel type. ``links`` maps a column to a URL (a data link)."""
    field_defaults: dict[str, Any] = dict(defaults or {})
    if unit:
        field_defaults["unit"] = unit
    field_overrides = list(overrides or [])
    for column, url in (links or {}).items():
        field_overrides.append(
            {
                "matcher": {"id": "byName", "options": column},
                "properties": [{"id": "links", "value": [{"title": f"Open {column}", "url": url}]}],
            }
        )
    query_kind = "timeseries" if kind in ("timeseries", "heatmap") else "traces" if kind == "traces" else "table"
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"w": w, "h": h},
        "targets": [_target(sql, query_kind)],
        "fieldConfig": {"defaults": field_defaults, "overrides": field_overrides},
        "options": options or {},
    }


# Threshold steps of stat panels, (from value, colour) — what Grafana colours the number by, and the preview too.
ANY_IS_BAD = [(None, "green"), (1, "red")]
ERROR_RATE = [(None, "green"), (0.01, "yellow"), (0.05, "red")]
SCORE = [(None, "red"), (0.5, "yellow"), (0.7, "green")]
THRESHOLD = {m.name: m.threshold for m in METRIC_UNITS}


def score_colours(metric: str) -> list[tuple[float | None, str]]:
    """Red below the metric's threshold (where its detector reports), green from 0.7."""
    return [(None, "red"), (THRESHOLD[metric], "yellow"), (0.7, "green")]


def stat(
    title: str,
    sql: str,
    *,
    unit: str = "",
    description: str = "",
    w: int = 4,
    thresholds: Sequence[tuple[float | None, str]] | None = None,
) -> dict[str, Any]:
    steps = [{"color": colour, "value": value} for value, colour in thresholds or [(None, "green")]]
    return panel(
        "stat",
        title,
        sql,
        w=w,
        h=4,
        unit=unit,
        description=description,
        defaults={"thresholds": {"mode": "absolute", "steps": steps}, "color": {"mode": "thresholds"}},
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "value"},
    )


def timeseries(title: str, sql: str, *, stack: bool = False, bars: bool = False, **kw: Any) -> dict[str, Any]:
    custom: dict[str, Any] = {"lineWidth": 2, "fillOpacity": 15, "spanNulls": True, "showPoints": "never"}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    if bars:
        custom.update(drawStyle="bars", fillOpacity=80)
    defaults = kw.pop("defaults", {})
    custom.update(defaults.pop("custom", {}))
    return panel(
        "timeseries",
        title,
        sql,
        defaults={**defaults, "custom": custom},
        options={"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        **kw,
    )


def table(title: str, sql: str, **kw: Any) -> dict[str, Any]:
    return panel("table", title, sql, options={"showHeader": True, "cellHeight": "sm"}, **kw)


def row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"w": 24, "h": 1}, "panels": []}


# -- variables ------------------------------------------------------------------------------------------------------
def datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "ClickHouse",
        "type": "datasource",
        "query": PLUGIN,
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "includeAll": False,
        "multi": False,
    }


def query_variable(name: str, label: str, sql: str, *, multi: bool = True, include_all: bool = True) -> dict[str, Any]:
    current = {"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {}
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": sql.strip(),
        "definition": sql.strip(),
        "refresh": 2,  # on time range change
        "includeAll": include_all,
        "multi": multi,
        "current": current,
        "sort": 0,
        "hide": 0,
    }


def _layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Assign ids and positions left to right, wrapping at 24 columns."""
    x = y = line_h = 0
    for number, p in enumerate(panels, start=1):
        p["id"] = number
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if p["type"] == "row" or x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        p["gridPos"].update(x=x, y=y)
        x, line_h = x + w, max(line_h, h)
        if p["type"] == "row":
            x, y, line_h = 0, y + h, 0
    return panels


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[dict[str, Any]],
    variables: list[dict[str, Any]],
    time_from: str = "now-6h",
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["agentwatch"],
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "graphTooltip": 1,
        "time": {"from": time_from, "to": "now"},
        "refresh": "30s",
        "timepicker": {},
        "timezone": "",
        "links": [
            {
                "type": "dashboards",
                "tags": ["agentwatch"],
                "asDropdown": True,
                "title": "agentwatch",
                "icon": "external link",
            }
        ],
        "annotations": {"list": []},
        "templating": {"list": [datasource_variable(), *variables]},
        "panels": _layout(panels),
    }


AGENTS = query_variable(
    "agent",
    "Agent",
    "SELECT DISTINCT AgentName FROM agent_spans WHERE $__timeFilter(Timestamp) AND AgentName != '' ORDER BY AgentName",
)
AGENT_FILTER = "$__conditionalAll(AgentName IN (${agent:singlequote}), $agent)"


# -- Overview -------------------------------------------------------------------------------------------------------
def overview() -> dict[str, Any]:
    where = f"$__timeFilter(Timestamp) AND {AGENT_FILTER}"
    panels = [
        stat("Spans", f"SELECT count() AS spans FROM agent_spans WHERE {where}", unit="short"),
        stat("LLM calls", f"SELECT countIf({LLM}) AS llm_calls FROM agent_spans WHERE {where}", unit="short"),
        stat(
            "Tokens", f"SELECT sum(InputTokens + OutputTokens) AS tokens FROM agent_spans WHERE {where}", unit="short"
        ),
        stat(
            "Estimated cost",
            f"SELECT sum(CostUsd) AS cost FROM agent_spans WHERE {where}",
            unit="currencyUSD",
            description="Sum of agentwatch.usage.cost_usd: the instrumentation's estimate from tokens and list prices.",
        ),
        stat(
            "Error rate",
            f"SELECT countIf(Failed = 1) / greatest(count(), 1) AS error_rate FROM agent_spans WHERE {where}",
            unit="percentunit",
            thresholds=ERROR_RATE,
        ),
        stat(
            "Firing alerts",
            "SELECT countIf(State = 'firing') AS firing FROM alerts FINAL",
            unit="short",
            description="Alerts firing now, whatever the time range.",
            thresholds=ANY_IS_BAD,
        ),
        timeseries(
            "Spans per second by operation",
            f"""
SELECT $__timeInterval(Timestamp) AS time, Operation, count() / $__interval_s AS spans_per_s
FROM agent_spans WHERE {where}
GROUP BY time, Operation ORDER BY time""",
            stack=True,
            unit="reqps",
        ),
        timeseries(
            "LLM calls by model",
            f"""
SELECT $__timeInterval(Timestamp) AS time, if(RequestModel != '', RequestModel, 'unknown') AS model, count() AS calls
FROM agent_spans WHERE {where} AND {LLM}
GROUP BY time, model ORDER BY time""",
            bars=True,
            stack=True,
            unit="short",
        ),
        timeseries(
            "Tokens",
            f"""
SELECT $__timeInterval(Timestamp) AS time, sum(InputTokens) AS input_tokens, sum(OutputTokens) AS output_tokens
FROM agent_spans WHERE {where}
GROUP BY time ORDER BY time""",
            stack=True,
            unit="short",
        ),
        timeseries(
            "Estimated cost by agent",
            f"""
SELECT $__timeInterval(Timestamp) AS time, if(AgentName != '', AgentName, ServiceName) AS agent, sum(CostUsd) AS cost
FROM agent_spans WHERE {where} AND CostUsd > 0
GROUP BY time, agent ORDER BY time""",
            stack=True,
            unit="currencyUSD",
        ),
        timeseries(
            "Error rate",
            f"""
SELECT $__timeInterval(Timestamp) AS time,
       countIf(IsError = 1) / count() AS span_errors,
       countIf(Operation = 'execute_tool' AND Failed = 1 AND IsError = 0)
           / greatest(countIf(Operation = 'execute_tool'), 1) AS tool_error_payloads
FROM agent_spans WHERE {where}
GROUP BY time ORDER BY time""",
            unit="percentunit",
        ),
        timeseries(
            "New findings by failure mode",
            """
SELECT $__timeInterval(FirstSeen) AS time, FailureMode, count() AS findings
FROM findings FINAL WHERE $__timeFilter(FirstSeen)
GROUP BY time, FailureMode ORDER BY time""",
            bars=True,
            stack=True,
            unit="short",
        ),
        panel(
            "barchart",
            "Findings and alerts by failure mode",
            """
SELECT f.FailureMode AS failure_mode, f.findings AS findings, ifNull(a.firing, 0) AS firing_alerts
FROM (
    SELECT FailureMode, count() AS findings FROM findings FINAL WHERE $__timeFilter(LastSeen) GROUP BY FailureMode
) AS f
LEFT JOIN (
    SELECT Labels['failure_mode'] AS FailureMode, countIf(State = 'firing') AS firing FROM alerts FINAL
    GROUP BY FailureMode
) AS a ON a.FailureMode = f.FailureMode
ORDER BY findings DESC""",
            w=8,
            options={
                "orientation": "horizontal",
                "xField": "failure_mode",
                "legend": {"showLegend": True},
                "showValue": "auto",
                "stacking": "none",
            },
        ),
        table(
            "Top agents",
            f"""
SELECT if(AgentName != '', AgentName, '(no agent)') AS agent,
       uniqExact(SessionId) AS sessions, count() AS spans, countIf({LLM}) AS llm_calls,
       sum(InputTokens + OutputTokens) AS tokens, round(sum(CostUsd), 4) AS cost_usd,
       countIf(IsError = 1) AS errors
FROM agent_spans WHERE {where}
GROUP BY agent ORDER BY tokens DESC, spans DESC LIMIT 20""",
            w=8,
        ),
        table(
            "Top tools",
            f"""
SELECT ToolName AS tool, count() AS calls,
       round(countIf(Failed = 1) / count(), 3) AS error_rate,
       round(quantile(0.95)(Duration) / 1e6, 1) AS p95_ms, uniqExact(ResultShape) AS shapes,
       uniqExact(AgentName) AS agents
FROM agent_spans WHERE {where} AND Operation = 'execute_tool'
GROUP BY tool ORDER BY calls DESC LIMIT 20""",
            w=8,
        ),
    ]
    return dashboard(
        "agentwatch-overview",
        "agentwatch · Overview",
        "Traffic, tokens, cost and errors of every agent, and what the detectors and alerts found.",
        panels,
        [AGENTS],
    )


# -- Failure modes --------------------------------------------------------------------------------------------------
def failure_modes() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    for key in FAILURE_MODES:
        title, blurb = FAILURE_MODE_TEXT[key]
        panels.append(row(f"{title} — {blurb}"))
        panels.append(
            timeseries(
                f"{title}: findings over time",
                f"""
SELECT $__timeInterval(FirstSeen) AS time, Detector, count() AS findings
FROM findings FINAL
WHERE FailureMode = '{key}' AND $__timeFilter(FirstSeen) AND {AGENT_FILTER}
GROUP BY time, Detector ORDER BY time""",
                bars=True,
                stack=True,
                unit="short",
                w=9,
            )
        )
        panels.append(
            table(
                f"{title}: latest offenders",
                f"""
SELECT LastSeen AS last_seen, Detector, Severity, SessionId, AgentName, ToolName, Summary
FROM findings FINAL
WHERE FailureMode = '{key}' AND $__timeFilter(LastSeen) AND {AGENT_FILTER}
ORDER BY LastSeen DESC LIMIT 50""",
                w=15,
                links={"SessionId": SESSION_LINK},
            )
        )
    return dashboard(
        "agentwatch-failure-modes",
        "agentwatch · Failure modes",
        "One row per failure mode: its detectors' findings over time and the latest offenders (click a session).",
        panels,
        [AGENTS],
        time_from="now-24h",
    )


# -- Evaluations ----------------------------------------------------------------------------------------------------
def evaluations() -> dict[str, Any]:
    where = f"$__timeFilter(Timestamp) AND Status = 'scored' AND {AGENT_FILTER}"
    panels: list[dict[str, Any]] = [
        stat(
            f"Mean {metric}",
            f"SELECT avg(Score) AS {metric} FROM evaluations FINAL WHERE {where} AND Metric = '{metric}'",
            unit="percentunit",
            w=6,
            thresholds=score_colours(metric),
        )
        for metric in METRICS
    ]
    panels.append(
        stat(
            "Answers scored", f"SELECT uniqExact(TraceId, SpanId) AS answers FROM evaluations FINAL WHERE {where}", w=6
        )
    )
    for metric in METRICS:
        panels.append(
            timeseries(
                f"{metric.capitalize()} by agent",
                f"""
SELECT $__timeInterval(Timestamp) AS time, AgentName, avg(Score) AS {metric}
FROM evaluations FINAL WHERE {where} AND Metric = '{metric}'
GROUP BY time, AgentName ORDER BY time""",
                unit="percentunit",
                w=8,
                defaults={"min": 0, "max": 1, "custom": {"lineWidth": 2, "showPoints": "always", "spanNulls": True}},
            )
        )
    bounds = [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.0)]
    buckets = ", ".join(
        f'countIf(Score >= {lo} AND Score {"<=" if hi == 1.0 else "<"} {hi}) AS "{lo:.1f}-{hi:.1f}"'
        for lo, hi in bounds
    )
    for metric in METRICS:
        panels.append(
            panel(
                "heatmap",
                f"{metric.capitalize()} distribution over time",
                f"""
SELECT $__timeInterval(Timestamp) AS time, {buckets}
FROM evaluations FINAL WHERE {where} AND Metric = '{metric}'
GROUP BY time ORDER BY time""",
                w=8,
                options={
                    "calculate": False,
                    "yAxis": {"axisLabel": "score"},
                    "color": {"scheme": "RdYlGn"},
                    "cellGap": 1,
                    "legend": {"show": True},
                },
            )
        )
    panels.append(
        table(
            "Lowest-scoring answers",
            f"""
SELECT Timestamp AS time, AgentName, Metric, round(Score, 2) AS score, Label, Explanation, SessionId, TraceId
FROM evaluations FINAL WHERE {where}
ORDER BY Score ASC, Timestamp DESC LIMIT 50""",
            w=24,
            h=10,
            links={"SessionId": SESSION_LINK},
        )
    )
    return dashboard(
        "agentwatch-evaluations",
        "agentwatch · Evaluations",
        "Grounding, relevance and calibration of answers per agent, their spread over time, and the worst answers.",
        panels,
        [AGENTS],
        time_from="now-24h",
    )


# -- Tools ----------------------------------------------------------------------------------------------------------
def tools() -> dict[str, Any]:
    tool_var = query_variable(
        "tool",
        "Tool",
        "SELECT DISTINCT ToolName FROM agent_spans WHERE $__timeFilter(Timestamp) AND Operation = 'execute_tool' "
        "AND ToolName != '' ORDER BY ToolName",
    )
    where = (
        "$__timeFilter(Timestamp) AND Operation = 'execute_tool' "
        "AND $__conditionalAll(ToolName IN (${tool:singlequote}), $tool)"
    )
    panels = [
        timeseries(
            "Latency p95 by tool",
            f"""
SELECT $__timeInterval(Timestamp) AS time, ToolName, quantile(0.95)(Duration) / 1e6 AS p95_ms
FROM agent_spans WHERE {where}
GROUP BY time, ToolName ORDER BY time""",
            unit="ms",
        ),
        timeseries(
            "Error rate by tool",
            f"""
SELECT $__timeInterval(Timestamp) AS time, ToolName,
       countIf(Failed = 1) / count() AS error_rate
FROM agent_spans WHERE {where}
GROUP BY time, ToolName ORDER BY time""",
            unit="percentunit",
        ),
        timeseries(
            "Result shapes over time",
            f"""
SELECT $__timeInterval(Timestamp) AS time,
       concat(ToolName, ' · ', if(ResultShape = '', '(no shape)', substring(ResultShape, 1, 60))) AS shape,
       count() AS calls
FROM agent_spans WHERE {where}
GROUP BY time, shape ORDER BY time""",
            description="One series per tool and result shape: a new colour is a new shape.",
            bars=True,
            stack=True,
            unit="short",
            w=24,
        ),
        table(
            "Result shapes, newest first",
            f"""
SELECT ToolName AS tool, ResultShape AS shape, min(Timestamp) AS first_seen, max(Timestamp) AS last_seen,
       count() AS calls, uniqExact(AgentName) AS agents
FROM agent_spans WHERE {where}
GROUP BY tool, shape ORDER BY first_seen DESC LIMIT 50""",
            w=24,
        ),
        timeseries(
            "Result size by tool (p50 and max)",
            f"""
SELECT $__timeInterval(Timestamp) AS time, ToolName,
       quantile(0.5)(ResultSize) AS p50_bytes, max(ResultSize) AS max_bytes
FROM agent_spans WHERE {where}
GROUP BY time, ToolName ORDER BY time""",
            unit="bytes",
        ),
        table(
            "Tools",
            f"""
SELECT ToolName AS tool, count() AS calls, round(quantile(0.5)(Duration) / 1e6, 1) AS p50_ms,
       round(quantile(0.95)(Duration) / 1e6, 1) AS p95_ms,
       round(countIf(Failed = 1) / count(), 3) AS error_rate,
       round(avg(ResultSize)) AS avg_bytes, uniqExact(ResultShape) AS shapes, countIf(ResultSize = 0) AS empty_results
FROM agent_spans WHERE {where}
GROUP BY tool ORDER BY calls DESC""",
        ),
    ]
    return dashboard(
        "agentwatch-tools",
        "agentwatch · Tools",
        "Latency, errors, result shapes and sizes of every tool the agents call: schema drift shows as a new shape.",
        panels,
        [tool_var],
    )


# -- Session --------------------------------------------------------------------------------------------------------
def session() -> dict[str, Any]:
    sessions = query_variable(
        "session",
        "Session",
        """
SELECT SessionId FROM agent_spans WHERE $__timeFilter(Timestamp) AND SessionId != ''
GROUP BY SessionId ORDER BY max(Timestamp) DESC LIMIT 500""",
        multi=False,
        include_all=False,
    )
    traces = query_variable(
        "trace",
        "Trace",
        """
SELECT TraceId FROM agent_spans WHERE SessionId = ${session:sqlstring}
GROUP BY TraceId ORDER BY min(Timestamp) LIMIT 100""",
        multi=False,
        include_all=False,
    )
    this = "SessionId = ${session:sqlstring}"
    panels = [
        stat("Steps", f"SELECT count() AS spans FROM agent_spans WHERE {this}"),
        stat("LLM calls", f"SELECT countIf({LLM}) AS llm_calls FROM agent_spans WHERE {this}"),
        stat("Tokens", f"SELECT sum(InputTokens + OutputTokens) AS tokens FROM agent_spans WHERE {this}"),
        stat("Estimated cost", f"SELECT sum(CostUsd) AS cost FROM agent_spans WHERE {this}", unit="currencyUSD"),
        stat("Findings", f"SELECT count() AS findings FROM findings FINAL WHERE {this}", thresholds=ANY_IS_BAD),
        stat(
            "Lowest score",
            f"SELECT minOrNull(Score) AS lowest_score FROM evaluations FINAL WHERE {this} AND Status = 'scored'",
            unit="percentunit",
            thresholds=SCORE,
        ),
        table(
            "Steps in order",
            f"""
SELECT s.Timestamp AS time, s.StepIndex AS step, s.AgentName AS agent, s.Operation AS operation,
       if(s.ToolName != '', s.ToolName, s.RequestModel) AS what, s.InputTokens AS input_tokens,
       s.OutputTokens AS output_tokens, round(s.Duration / 1e6, 1) AS ms, s.ResultShape AS result_shape,
       if(s.Failed = 1, if(s.ErrorType != '', s.ErrorType, 'error payload'), '') AS error,
       ifNull(e.scores, '') AS scores, s.Intent AS intent, s.TraceId AS trace
FROM agent_spans AS s
LEFT JOIN (
    SELECT SpanId, arrayStringConcat(groupArray(concat(Metric, '=', toString(round(Score, 2)))), ' ') AS scores
    FROM evaluations FINAL WHERE {this} AND Status = 'scored' GROUP BY SpanId
) AS e ON e.SpanId = s.SpanId
WHERE s.{this}
ORDER BY s.Timestamp, s.StepIndex""",
            w=24,
            h=10,
        ),
        timeseries(
            "Context per LLM call",
            f"""
SELECT Timestamp AS time, AgentName, InputTokens AS input_tokens
FROM agent_spans WHERE {this} AND {LLM}
ORDER BY time""",
            description="Input tokens of each LLM call: a climbing line is context degradation.",
            unit="short",
            defaults={"custom": {"lineWidth": 2, "showPoints": "always", "spanNulls": True}},
        ),
        table(
            "Findings",
            f"""
SELECT LastSeen AS last_seen, FailureMode AS failure_mode, Detector, Severity, AgentName, ToolName, Summary
FROM findings FINAL WHERE {this} ORDER BY LastSeen DESC""",
        ),
        table(
            "Scores",
            f"""
SELECT Timestamp AS time, AgentName, Metric, round(Score, 2) AS score, Label, Explanation
FROM evaluations FINAL WHERE {this} AND Status = 'scored' ORDER BY Timestamp, Metric""",
            w=24,
            h=6,
        ),
        panel(
            "traces",
            "Trace",
            """
WITH ${trace:sqlstring} AS trace_id,
     (SELECT min(Start) FROM otel_traces_trace_id_ts WHERE TraceId = trace_id) AS trace_start,
     (SELECT max(End) + 1 FROM otel_traces_trace_id_ts WHERE TraceId = trace_id) AS trace_end
SELECT TraceId AS traceID, SpanId AS spanID, ParentSpanId AS parentSpanID, ServiceName AS serviceName,
       SpanName AS operationName, Timestamp AS startTime, Duration * 0.000001 AS duration,
       arrayMap(key -> map('key', key, 'value', SpanAttributes[key]), mapKeys(SpanAttributes)) AS tags,
       arrayMap(key -> map('key', key, 'value', ResourceAttributes[key]), mapKeys(ResourceAttributes)) AS serviceTags,
       if(StatusCode IN ('Error', 'STATUS_CODE_ERROR'), 2, 0) AS statusCode
FROM otel_traces
WHERE TraceId = trace_id AND Timestamp >= trace_start AND Timestamp <= trace_end
ORDER BY startTime ASC LIMIT 1000""",
            w=24,
            h=14,
            description="The selected trace of this session as Grafana's trace view (the plugin's OTel trace mode).",
        ),
    ]
    return dashboard(
        "agentwatch-session",
        "agentwatch · Session",
        "One session, step by step: what the agents did, with tokens, tools, scores and findings, and its traces.",
        panels,
        [sessions, traces],
        time_from="now-24h",
    )


# -- Readiness ------------------------------------------------------------------------------------------------------
VERDICT_COLOURS = {
    "mappings": [
        {
            "type": "value",
            "options": {
                "ready": {"color": "green", "index": 0, "text": "ready"},
                "at_risk": {"color": "orange", "index": 1, "text": "at risk"},
                "not_ready": {"color": "red", "index": 2, "text": "NOT READY"},
                "unknown": {"color": "text", "index": 3, "text": "unknown"},
            },
        }
    ],
    "custom": {"cellOptions": {"type": "color-text"}},
}


def audit_sql(name: str) -> str:
    """An audit question's SQL file as a panel query: the window is the dashboard's, every agent is answered and the
    agent variable filters the answers."""
    body = (
        load_sql(name)
        .body.replace("{start:DateTime64(9)}", "$__fromTime")
        .replace("{end:DateTime64(9)}", "$__toTime")
        .replace("{agent:String}", "''")
    )
    return f"SELECT * FROM (\n{body}\n) WHERE $__conditionalAll(agent IN (${{agent:singlequote}}), $agent)"


def readiness() -> dict[str, Any]:
    answers = "\nUNION ALL\n".join(
        f"SELECT agent, {q.number} AS question, verdict FROM ({audit_sql(q.sql)})" for q in QUESTIONS
    )
    columns = ",\n       ".join(f"anyIf(verdict, question = {q.number}) AS `{q.number} {q.key}`" for q in QUESTIONS)
    matrix = f"""
SELECT agent,
       multiIf(has(groupArray(verdict), 'not_ready') OR has(groupArray(verdict), 'unknown'), 'not_ready',
               has(groupArray(verdict), 'at_risk'), 'at_risk', 'ready') AS overall,
       {columns}
FROM (
{answers}
)
GROUP BY agent ORDER BY agent"""
    panels = [
        table(
            "Is each agent ready for production?",
            matrix,
            w=24,
            h=8,
            defaults=VERDICT_COLOURS,
            description="agentwatch audit's six questions, one column each: an unknown answer makes an agent not "
            "ready ('If any of these is I'm not sure, you're not ready').",
        )
    ]
    for question in QUESTIONS:
        panels.append(row(f"{question.number}. {question.text}"))
        panels.append(
            table(
                f"{question.number}. {question.key}: verdict, why, next step and evidence",
                audit_sql(question.sql),
                w=24,
                h=7,
                defaults=VERDICT_COLOURS,
                description=load_sql(question.sql).header.get("description", ""),
            )
        )
    return dashboard(
        "agentwatch-readiness",
        "agentwatch · Readiness",
        "The article's six production-readiness questions, answered per agent from the store (agentwatch audit).",
        panels,
        [AGENTS],
        time_from="now-7d",
    )


DASHBOARDS = {
    "agentwatch-overview.json": overview,
    "agentwatch-failure-modes.json": failure_modes,
    "agentwatch-evaluations.json": evaluations,
    "agentwatch-tools.json": tools,
    "agentwatch-session.json": session,
    "agentwatch-readiness.json": readiness,
}


def build_all() -> dict[str, str]:
    """File name → dashboard JSON text, as shipped."""
    return {name: json.dumps(make(), indent=2, ensure_ascii=False) + "\n" for name, make in DASHBOARDS.items()}


def default_provisioning() -> dict[str, str]:
    """The provisioning files as ``agentwatch grafana export`` writes them with default settings."""
    from agentwatch.config import configure
    from agentwatch.dashboards.grafana import provisioning

    return provisioning(configure(environ={}))


def write_all(directory: Path | None = None) -> None:
    directory = directory or Path(__file__).resolve().parent
    for name, text in {**build_all(), **default_provisioning()}.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)


if __name__ == "__main__":
    write_all()
