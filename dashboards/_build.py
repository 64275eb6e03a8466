"""The six agentwatch dashboards, defined once here and written to ``dashboards/*.json``.

Run ``python -m agentwatch.dashboards._build`` after editing; a test checks the JSON files match. Every panel
queries through the ``${datasource}`` variable (the Grafana ClickHouse plugin, SQL editor) with the plugin's macros,
and reads agentwatch's tables unqualified, so the datasource's default database decides where they live.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentwatch.audit import AUDIT_THRESHOLDS, QUESTIONS
from agentwatch.dashboards.grafana import PLUGIN
from agentwatch.detectors import FAILURE_MODES
from agentwatch.evaluators import METRIC_UNITS, METRICS
from agentwatch.sqlfiles import load_sql

__all__ = ["DASHBOARDS", "build_all", "default_provisioning", "write_all"]

DATASOURCE = {"type": PLUGIN, "uid": "${datasource}"}
FORMAT = {"timeseries": 0, "table": 1, "logs": 2, "traces": 3}
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


# -- queries --------------------------------------------------------------------------------------------------------
# the bound parameters of agentwatch's SQL files that stand for the dashboard's time range and variables
GRAFANA_PARAMETERS = {
    "{start:DateTime64(9)}": "$__fromTime",
    "{end:DateTime64(9)}": "$__toTime",
    "{session:String}": "${session:sqlstring}",
}
_PLACEHOLDER = re.compile(r"(?<!\$)\{(\w+):(\w+(?:\([^)]*\))?)\}")  # {name:Type}, not Grafana's ${name:format}


def query(name: str, **values: str | float) -> str:
    """A shipped SQL file as a panel query, the one way every panel gets its SQL: ``sql/dashboards/<name>`` (or a
    shipped query or audit question, named with its folder), its time range and session bound to the dashboard's,
    and ``values`` (a metric, a failure mode, a threshold) written in as literals of the placeholder's type."""
    file = load_sql(name if name.startswith(("queries/", "audit/")) else f"dashboards/{name}")

    def literal(match: re.Match[str]) -> str:
        if match.group(0) in GRAFANA_PARAMETERS:
            return GRAFANA_PARAMETERS[match.group(0)]
        key, kind = match.groups()
        if key not in values:
            raise KeyError(f"{file.name}: no value for {match.group(0)}")
        value = values[key]
        if kind == "Identifier" and re.fullmatch(r"[A-Za-z_]\w*", str(value)):
            return str(value)
        if kind == "String":
            return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
        if kind.startswith(("Float", "UInt", "Int")) and isinstance(value, int | float):
            return str(value)
        raise ValueError(f"{file.name}: {value!r} is no {kind} for {match.group(0)}")

    return _PLACEHOLDER.sub(literal, file.body)


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
UNITS = {m.name: m for m in METRIC_UNITS}


def score_colours(metric: str) -> list[tuple[float | None, str]]:
    """Red below the metric's threshold (where its detector reports), green where the answer fully meets it."""
    return [(None, "red"), (UNITS[metric].threshold, "yellow"), (UNITS[metric].full, "green")]


SCORE = score_colours("grounding")  # a session's lowest score, whatever its metric: grounding's lines


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


AGENTS = query_variable("agent", "Agent", query("variables/agent"))


# -- Overview -------------------------------------------------------------------------------------------------------
def overview() -> dict[str, Any]:
    panels = [
        stat("Spans", query("overview/spans"), unit="short"),
        stat("LLM calls", query("overview/llm_calls"), unit="short"),
        stat("Tokens", query("overview/tokens"), unit="short"),
        stat(
            "Estimated cost",
            query("overview/cost"),
            unit="currencyUSD",
            description="Sum of agentwatch.usage.cost_usd: the instrumentation's estimate from tokens and list prices.",
        ),
        stat("Error rate", query("overview/error_rate"), unit="percentunit", thresholds=ERROR_RATE),
        stat(
            "Firing alerts",
            query("overview/firing_alerts"),
            unit="short",
            description="Alerts firing now, whatever the time range.",
            thresholds=ANY_IS_BAD,
        ),
        timeseries("Spans per second by operation", query("overview/spans_per_second"), stack=True, unit="reqps"),
        timeseries("LLM calls by model", query("overview/llm_calls_by_model"), bars=True, stack=True, unit="short"),
        timeseries("Tokens", query("overview/tokens_over_time"), stack=True, unit="short"),
        timeseries("Estimated cost by agent", query("overview/cost_by_agent"), stack=True, unit="currencyUSD"),
        timeseries("Error rate", query("overview/error_rate_over_time"), unit="percentunit"),
        timeseries("New findings by failure mode", query("overview/new_findings"), bars=True, stack=True, unit="short"),
        panel(
            "barchart",
            "Findings and alerts by failure mode",
            query("overview/findings_and_alerts"),
            w=8,
            options={
                "orientation": "horizontal",
                "xField": "failure_mode",
                "legend": {"showLegend": True},
                "showValue": "auto",
                "stacking": "none",
            },
        ),
        table("Top agents", query("overview/top_agents"), w=8),
        table("Top tools", query("overview/top_tools"), w=8),
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
                query("failure_modes/findings_over_time", failure_mode=key),
                bars=True,
                stack=True,
                unit="short",
                w=9,
            )
        )
        panels.append(
            table(
                f"{title}: latest offenders",
                query("failure_modes/latest_offenders", failure_mode=key),
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
    panels: list[dict[str, Any]] = [
        stat(
            f"Mean {metric}",
            query("evaluations/mean_score", metric=metric),
            unit="percentunit",
            w=6,
            thresholds=score_colours(metric),
        )
        for metric in METRICS
    ]
    panels.append(stat("Answers scored", query("evaluations/answers_scored"), w=6))
    for metric in METRICS:
        panels.append(
            timeseries(
                f"{metric.capitalize()} by agent",
                query("evaluations/score_by_agent", metric=metric),
                unit="percentunit",
                w=8,
                defaults={"min": 0, "max": 1, "custom": {"lineWidth": 2, "showPoints": "always", "spanNulls": True}},
            )
        )
    for metric in METRICS:
        panels.append(
            panel(
                "heatmap",
                f"{metric.capitalize()} distribution over time",
                query("evaluations/score_distribution", metric=metric),
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
            query("evaluations/lowest_scoring_answers"),
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
    panels = [
        timeseries("Latency p95 by tool", query("tools/latency_p95"), unit="ms"),
        timeseries("Error rate by tool", query("tools/error_rate"), unit="percentunit"),
        timeseries(
            "Result shapes over time",
            query("tools/result_shapes_over_time"),
            description="One series per tool and result shape: a new colour is a new shape.",
            bars=True,
            stack=True,
            unit="short",
            w=24,
        ),
        table("Result shapes, newest first", query("tools/result_shapes"), w=24),
        timeseries("Result size by tool (p50 and max)", query("tools/result_size"), unit="bytes"),
        table("Tools", query("tools/tools")),
    ]
    return dashboard(
        "agentwatch-tools",
        "agentwatch · Tools",
        "Latency, errors, result shapes and sizes of every tool the agents call: schema drift shows as a new shape.",
        panels,
        [query_variable("tool", "Tool", query("variables/tool"))],
    )


# -- Session --------------------------------------------------------------------------------------------------------
def session() -> dict[str, Any]:
    variables = [
        query_variable("session", "Session", query("variables/session"), multi=False, include_all=False),
        query_variable("trace", "Trace", query("variables/trace"), multi=False, include_all=False),
    ]
    panels = [
        stat("Steps", query("session/steps")),
        stat("LLM calls", query("session/llm_calls")),
        stat("Tokens", query("session/tokens")),
        stat("Estimated cost", query("session/cost"), unit="currencyUSD"),
        stat("Findings", query("session/findings_count"), thresholds=ANY_IS_BAD),
        stat("Lowest score", query("session/lowest_score"), unit="percentunit", thresholds=SCORE),
        table("Steps in order", query("queries/session_timeline"), w=24, h=10),
        timeseries(
            "Context per LLM call",
            query("session/context_per_llm_call"),
            description="Input tokens of each LLM call: a climbing line is context degradation.",
            unit="short",
            defaults={"custom": {"lineWidth": 2, "showPoints": "always", "spanNulls": True}},
        ),
        table("Findings", query("session/findings")),
        table("Scores", query("session/scores"), w=24, h=6),
        panel(
            "traces",
            "Trace",
            query("session/trace"),
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
        variables,
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
    body = query(name, agent="", **AUDIT_THRESHOLDS)
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
