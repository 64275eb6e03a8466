"""Grafana: the ClickHouse plugin's macros (expanded as the plugin expands them, for testing panel and alert SQL
against the store) and alert-rule provisioning files equivalent to agentwatch's alert rules."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

__all__ = ["alert_provisioning", "expand_macros"]


def expand_macros(
    sql: str, start: dt.datetime, end: dt.datetime, interval_s: int = 60, variables: dict[str, str] | None = None
) -> str:
    """The grafana-clickhouse-datasource macros: $__timeFilter(c), $__fromTime, $__toTime, $__timeInterval(c),
    $__interval_s, $__conditionalAll(cond, $var), and template variables."""
    start_s, end_s = (
        int(start.replace(tzinfo=dt.timezone.utc).timestamp()),
        int(end.replace(tzinfo=dt.timezone.utc).timestamp()),
    )
    variables = variables or {}
    sql = re.sub(
        r"\$__timeFilter\(([^)]+)\)",
        lambda m: f"{m[1]} >= toDateTime({start_s}) AND {m[1]} <= toDateTime({end_s})",
        sql,
    )
    sql = re.sub(
        r"\$__timeInterval\(([^)]+)\)",
        lambda m: f"toStartOfInterval(toDateTime({m[1]}), INTERVAL {interval_s} second)",
        sql,
    )

    def conditional(match: re.Match[str]) -> str:
        condition, variable = match[1], match[2].lstrip("$")
        return "1=1" if variables.get(variable, "$__all") in ("$__all", "", "All") else condition

    sql = re.sub(r"\$__conditionalAll\((.+?),\s*(\$\w+)\)", conditional, sql)
    sql = sql.replace("$__fromTime", f"toDateTime({start_s})").replace("$__toTime", f"toDateTime({end_s})")
    sql = sql.replace("$__interval_s", str(interval_s))
    for name, value in variables.items():
        sql = sql.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return sql


def alert_provisioning(ruleset: Any, datasource_uid: str = "agentwatch-clickhouse") -> dict[str, Any]:
    """Grafana alert-rule provisioning (apiVersion 1) with one rule per agentwatch rule: the ClickHouse query counts
    the rule's detector findings seen in the evaluation window, reduced (last) and compared (> 0)."""
    rules = []
    for rule in ruleset.rules:
        window = int(rule.window)
        sql = (
            f"SELECT count() AS findings FROM findings FINAL WHERE Detector = '{rule.detector}' "
            f"AND $__timeFilter(LastSeen)"
        )
        rules.append(
            {
                "uid": f"aw-{rule.name}"[:40],
                "title": rule.name,
                "condition": "C",
                "data": [
                    {
                        "refId": "A",
                        "relativeTimeRange": {"from": window, "to": 0},
                        "datasourceUid": datasource_uid,
                        "model": {
                            "refId": "A",
                            "editorType": "sql",
                            "format": 1,
                            "queryType": "table",
                            "rawSql": sql,
                            "datasource": {"type": "grafana-clickhouse-datasource", "uid": datasource_uid},
                        },
                    },
                    {
                        "refId": "B",
                        "relativeTimeRange": {"from": 0, "to": 0},
                        "datasourceUid": "__expr__",
                        "model": {
                            "refId": "B",
                            "type": "reduce",
                            "expression": "A",
                            "reducer": "last",
                            "datasource": {"type": "__expr__", "uid": "__expr__"},
                        },
                    },
                    {
                        "refId": "C",
                        "relativeTimeRange": {"from": 0, "to": 0},
                        "datasourceUid": "__expr__",
                        "model": {
                            "refId": "C",
                            "type": "threshold",
                            "expression": "B",
                            "conditions": [{"evaluator": {"type": "gt", "params": [0]}}],
                            "datasource": {"type": "__expr__", "uid": "__expr__"},
                        },
                    },
                ],
                "noDataState": "OK",
                "execErrState": "Error",
                "for": f"{int(rule.for_)}s",
                "labels": {**rule.labels, "severity": rule.severity or "warning", "detector": rule.detector},
                "annotations": {
                    "summary": f"agentwatch detector {rule.detector} has findings",
                    "description": rule.summary,
                },
            }
        )
    interval = min(int(r.interval or 60) for r in ruleset.rules) if ruleset.rules else 60
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": "agentwatch",
                "folder": "agentwatch",
                "interval": f"{max(10, interval)}s",
                "rules": rules,
            }
        ],
    }


def write_alert_provisioning(ruleset: Any, out: Path, datasource_uid: str) -> Path:
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    target = out / "agentwatch-alert-rules.yaml"
    target.write_text(yaml.safe_dump(alert_provisioning(ruleset, datasource_uid), sort_keys=False))
    return target
