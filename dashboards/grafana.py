"""Grafana: the ClickHouse plugin's macros (expanded as the plugin expands them, to run panel and alert SQL against
the store), the dashboards' panels run that way, and the provisioning files ``agentwatch grafana export`` writes
(datasources, the dashboards provider, alert rules equivalent to agentwatch's)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentwatch.dsn import default_store_path, parse_store_dsn

__all__ = [
    "DASHBOARDS_PATH",
    "PLUGIN",
    "alert_provisioning",
    "expand_macros",
    "export",
    "interval_for",
    "provisioning",
    "resolve_variables",
    "run_panel",
]


Variables = Mapping[str, "str | Sequence[str]"]


def _format_variable(value: str | Sequence[str], fmt: str) -> str:
    """A template variable's value in Grafana's formats (``${var:singlequote}`` …) as Grafana interpolates it."""
    values = [value] if isinstance(value, str) else list(value)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "sqlstring":
        return ",".join("'" + v.replace("'", "''") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    return ",".join(values)  # raw, csv


def _is_all(value: str | Sequence[str]) -> bool:
    values = [value] if isinstance(value, str) else list(value)
    return not values or any(v in ("$__all", "All", "") for v in values)


def expand_macros(
    sql: str, start: dt.datetime, end: dt.datetime, interval_s: int = 60, variables: Variables | None = None
) -> str:
    """The grafana-clickhouse-datasource macros as the plugin expands them — $__timeFilter(c), $__fromTime,
    $__toTime, $__timeInterval(c), $__interval_s, $__conditionalAll(cond, $var) — and template variables in
    Grafana's forms ($var, ${var}, ${var:singlequote|sqlstring|doublequote|csv|raw}); a variable's value is a
    string or, for multi-value variables, a list ("$__all" for All)."""
    start_s, end_s = (
        int(start.replace(tzinfo=dt.timezone.utc).timestamp()),
        int(end.replace(tzinfo=dt.timezone.utc).timestamp()),
    )
    variables = variables or {}

    def conditional(match: re.Match[str]) -> str:
        condition, variable = match[1], match[2].lstrip("$").strip("{}")
        return "1=1" if _is_all(variables.get(variable, "$__all")) else condition

    sql = re.sub(r"\$__conditionalAll\((.+?),\s*(\$\{?\w+\}?)\)", conditional, sql)
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
    sql = sql.replace("$__fromTime", f"toDateTime({start_s})").replace("$__toTime", f"toDateTime({end_s})")
    sql = sql.replace("$__interval_s", str(interval_s))

    def variable(match: re.Match[str]) -> str:
        name = match[1] or match[3]
        if name not in variables:
            return match[0]
        return _format_variable(variables[name], match[2] or "raw")

    return re.sub(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)", variable, sql)


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


def interval_for(start: dt.datetime, end: dt.datetime, points: int = 120) -> int:
    """The interval (seconds) Grafana would pick for about ``points`` points over the range: a round step."""
    seconds = max(1.0, (end - start).total_seconds() / points)
    steps = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)
    return next((s for s in steps if s >= seconds), steps[-1])


def resolve_variables(
    store: Any,
    dashboard: dict[str, Any],
    start: dt.datetime,
    end: dt.datetime,
    chosen: Mapping[str, str | Sequence[str]] | None = None,
) -> dict[str, str | Sequence[str]]:
    """Values for the dashboard's template variables as Grafana would start with them: what ``chosen`` says, All for
    variables that offer it, else the first value of the variable's query (earlier variables substituted)."""
    values: dict[str, str | Sequence[str]] = dict(chosen or {})
    for variable in dashboard.get("templating", {}).get("list", []):
        name = variable["name"]
        if name in values or variable["type"] != "query":
            continue
        if variable.get("includeAll"):
            values[name] = "$__all"
            continue
        sql = expand_macros(variable["query"], start, end, interval_for(start, end), values)
        rows = store.query(sql).result_rows
        values[name] = str(rows[0][0]) if rows else ""
    return values


def run_panel(
    store: Any,
    panel: dict[str, Any],
    start: dt.datetime,
    end: dt.datetime,
    variables: Mapping[str, str | Sequence[str]],
) -> Any:
    """The panel's query, macros expanded, run on ``store``: a pandas DataFrame."""
    sql = expand_macros(panel["targets"][0]["rawSql"], start, end, interval_for(start, end), variables)
    return store.query_df(sql, sql_name=f"panel {panel['title']!r}")


PLUGIN = "grafana-clickhouse-datasource"
DASHBOARDS_PATH = "/var/lib/grafana/dashboards/agentwatch"  # where the provider reads them inside the container


def _datasource(uid: str, name: str, url: str, user: str, password_env: str, database: str, default: bool) -> dict:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    secure = parts.scheme == "https"
    return {
        "name": name,
        "uid": uid,
        "type": PLUGIN,
        "isDefault": default,
        "editable": True,
        "jsonData": {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or (8443 if secure else 8123),
            "protocol": "http",
            "secure": secure,
            "username": user,
            "defaultDatabase": database,
            "traces": {
                "defaultDatabase": database,
                "defaultTable": "otel_traces",
                "otelEnabled": True,
                "otelVersion": "latest",
                "durationUnit": "nanoseconds",
            },
        },
        "secureJsonData": {"password": f"${password_env}"},  # Grafana reads it from its environment
    }


def _same_address(dsn: Any, address: str) -> bool:
    from agentwatch.listen import split_address

    host, port = split_address(address)
    loopback = {"127.0.0.1", "localhost", "::1", "", "0.0.0.0", "::"}
    same_host = dsn.host == host or (dsn.host in loopback and host in loopback)
    return same_host and dsn.port == port


def provisioning(config: Any, *, query_url: str | None = None, server_url: str | None = None) -> dict[str, str]:
    """Grafana provisioning files (relative path → text) for this configuration: the datasource of the configured
    store — ``agentwatch serve``'s query endpoint on the embedded store, the server otherwise — plus one for the other
    kind when its address is given (``server_url``, ``query_url``), and the dashboards provider."""
    import yaml

    dsn = config.store_dsn
    # AGENTWATCH_STORE pointed at serve's query endpoint (as the README advises while serve runs) is the embedded
    # store seen through serve, not a ClickHouse server
    via_serve = not dsn.embedded and bool(config.query_http) and _same_address(dsn, config.query_http)
    endpoint = query_url or (dsn.redacted() if via_serve else f"http://{config.query_http or '127.0.0.1:8123'}")
    if via_serve:
        dsn = parse_store_dsn(f"chdb://{default_store_path()}")  # name and order the datasources as embedded
    server = server_url or (dsn.redacted() if not dsn.embedded else "http://clickhouse:8123")
    embedded = _datasource(
        "agentwatch-clickhouse" if dsn.embedded else "agentwatch-embedded",
        "agentwatch (embedded, via agentwatch serve)",
        endpoint,
        config.query_user,
        "AGENTWATCH_QUERY_PASSWORD",
        config.database,
        dsn.embedded,
    )
    clickhouse = _datasource(
        "agentwatch-clickhouse-server" if dsn.embedded else "agentwatch-clickhouse",
        "agentwatch (ClickHouse server)",
        server,
        dsn.username if not dsn.embedded else "default",
        "CLICKHOUSE_PASSWORD",
        config.database,
        not dsn.embedded,
    )
    # the other kind only when its address was given: a datasource pointing at a guessed clickhouse:8123 is one
    # Grafana shows as broken (observed with `grafana export` and no --server-url)
    primary, other, asked = (embedded, clickhouse, server_url) if dsn.embedded else (clickhouse, embedded, query_url)
    datasources = {"apiVersion": 1, "datasources": [primary, other] if asked else [primary]}
    provider = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "agentwatch",
                "orgId": 1,
                "folder": "agentwatch",
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": True,
                "updateIntervalSeconds": 30,
                "options": {"path": DASHBOARDS_PATH},
            }
        ],
    }
    return {
        "provisioning/datasources/agentwatch.yaml": yaml.safe_dump(datasources, sort_keys=False),
        "provisioning/dashboards/agentwatch.yaml": yaml.safe_dump(provider, sort_keys=False),
    }


def export(
    config: Any, out: Path, ruleset: Any, *, query_url: str | None = None, server_url: str | None = None
) -> list[Path]:
    """Write the dashboards, the provisioning files and the alert rules under ``out``, laid out to mount into a
    Grafana container (``out/provisioning`` → /etc/grafana/provisioning, ``out/dashboards`` → DASHBOARDS_PATH)."""
    from agentwatch.dashboards import DIRECTORY

    files = provisioning(config, query_url=query_url, server_url=server_url)
    for source in sorted(DIRECTORY.glob("*.json")):
        files[f"dashboards/{source.name}"] = source.read_text()
    written = [write_alert_provisioning(ruleset, out / "provisioning" / "alerting", "agentwatch-clickhouse")]
    for relative, text in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(target)
    return written
