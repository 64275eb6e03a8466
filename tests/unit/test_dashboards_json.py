"""The shipped dashboards are valid Grafana JSON built from one definition: unique uids, every query through the
${datasource} variable with the ClickHouse plugin, targets shaped for their panels, every failure mode covered."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentwatch.dashboards import DIRECTORY, load_dashboards, panels
from agentwatch.dashboards._build import build_all, default_provisioning
from agentwatch.dashboards.grafana import PLUGIN
from agentwatch.detectors import load_detectors

VARIABLE = {"type": PLUGIN, "uid": "${datasource}"}


def test_shipped_files_are_what_the_definition_builds():
    for name, text in {**build_all(), **default_provisioning()}.items():
        assert (DIRECTORY / name).read_text() == text, f"{name} is stale: run python -m agentwatch.dashboards._build"
    assert sorted(load_dashboards()) == sorted(build_all())


def test_the_six_dashboards_have_unique_uids_and_titles():
    dashboards = load_dashboards()
    uids = [d["uid"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids) == 6
    assert {u.removeprefix("agentwatch-") for u in uids} == {
        "overview",
        "failure-modes",
        "evaluations",
        "tools",
        "session",
        "readiness",
    }
    assert len({d["title"] for d in dashboards.values()}) == 6
    for text in build_all().values():
        json.loads(text)


def test_every_query_goes_through_the_datasource_variable():
    for name, dashboard in load_dashboards().items():
        variables = dashboard["templating"]["list"]
        assert variables[0] == {**variables[0], "name": "datasource", "type": "datasource", "query": PLUGIN}, name
        for variable in variables[1:]:
            assert variable["datasource"] == VARIABLE, (name, variable["name"])
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in panels(dashboard):
            assert panel["datasource"] == VARIABLE, (name, panel["title"])
            (target,) = panel["targets"]
            assert target["datasource"] == VARIABLE and target["editorType"] == "sql"
            want = {"timeseries": 0, "heatmap": 0, "traces": 3}.get(panel["type"], 1)
            assert target["format"] == want, (name, panel["title"])
            qualified = re.search(r"\b(FROM|JOIN)\s+agentwatch\.", target["rawSql"], re.IGNORECASE)
            assert not qualified, "tables stay unqualified: the datasource picks the database"
            assert panel["gridPos"]["x"] >= 0 and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_failure_modes_dashboard_has_a_row_per_failure_mode_linking_to_sessions():
    dashboard = load_dashboards()["agentwatch-failure-modes.json"]
    modes = {d.failure_mode for d in load_detectors()}
    sql = " ".join(p["targets"][0]["rawSql"] for p in panels(dashboard))
    assert all(f"FailureMode = '{mode}'" in sql for mode in modes), modes
    assert sum(p["type"] == "row" for p in dashboard["panels"]) == len(modes)
    session_uid = load_dashboards()["agentwatch-session.json"]["uid"]
    links = [
        link["url"]
        for p in panels(dashboard)
        for override in p["fieldConfig"]["overrides"]
        for prop in override["properties"]
        for link in prop["value"]
    ]
    assert len(links) == len(modes) and all(f"/d/{session_uid}/" in url and "var-session=" in url for url in links)


def test_session_dashboard_has_the_trace_view_in_otel_trace_mode():
    dashboard = load_dashboards()["agentwatch-session.json"]
    (trace,) = [p for p in panels(dashboard) if p["type"] == "traces"]
    assert trace["targets"][0]["queryType"] == "traces" and "otel_traces_trace_id_ts" in trace["targets"][0]["rawSql"]


def test_stats_that_signal_trouble_carry_thresholds_and_the_preview_follows_them():
    from agentwatch.dashboards.preview import _COLOURS, _threshold_colour

    by_title = {p["title"]: p for d in load_dashboards().values() for p in panels(d) if p["type"] == "stat"}
    firing, grounding, errors = by_title["Firing alerts"], by_title["Mean grounding"], by_title["Error rate"]
    assert [_threshold_colour(firing, v) for v in (0, 3)] == [_COLOURS["green"], _COLOURS["red"]]
    assert [_threshold_colour(grounding, v) for v in (0.3, 0.6, 0.9)] == [
        _COLOURS["red"],
        _COLOURS["yellow"],
        _COLOURS["green"],
    ]
    assert _threshold_colour(errors, 0.2) == _COLOURS["red"]
    assert _threshold_colour(by_title["Spans"], 10**6) == _COLOURS["green"]  # no thresholds: Grafana's base green


def test_readiness_dashboard_has_a_row_per_question_running_its_audit_sql():
    from agentwatch.audit import QUESTIONS

    dashboard = load_dashboards()["agentwatch-readiness.json"]
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == [f"{q.number}. {q.text}" for q in QUESTIONS]
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource", "agent"]
    tables = [p for p in dashboard["panels"] if p["type"] == "table"]
    for question, panel in zip(QUESTIONS, tables[1:], strict=True):
        sql = panel["targets"][0]["rawSql"]
        assert "{start:" not in sql and "$__fromTime" in sql and "${agent:singlequote}" in sql
        assert panel["title"].startswith(f"{question.number}. {question.key}")


def test_every_panel_query_is_a_shipped_sql_file():
    """Issue 35: 51 SELECTs stood inline in the dashboards' definition, the session timeline twice. Every panel and
    variable now runs a file of sql/dashboards (or a shipped query), rendered by one function; only the readiness
    board composes the audit's files."""
    from agentwatch.dashboards._build import query
    from agentwatch.detectors import FAILURE_MODES
    from agentwatch.evaluators import METRICS
    from agentwatch.sqlfiles import list_sql

    names = [
        n.removeprefix("dashboards/")
        for folder in ("overview", "failure_modes", "evaluations", "tools", "session", "variables")
        for n in list_sql(f"dashboards/{folder}")
    ]
    rendered = set()
    for name in names:
        for values in ({}, *({"metric": m} for m in METRICS), *({"failure_mode": f} for f in FAILURE_MODES)):
            try:
                rendered.add(query(name, **values).strip())
            except KeyError:
                continue
    rendered.add(query("queries/session_timeline").strip())
    for board_name, board in load_dashboards().items():
        if board_name == "agentwatch-readiness.json":
            continue
        for p in panels(board):
            assert p["targets"][0]["rawSql"] in rendered, (board_name, p["title"])
        for variable in board["templating"]["list"]:
            assert variable["type"] != "query" or variable["query"] in rendered, (board_name, variable["name"])
    assert "FROM agent_spans" not in Path(_build_file()).read_text()


def test_a_panel_query_refuses_a_value_it_cannot_write_as_its_type():
    from agentwatch.dashboards._build import query

    assert "Metric = 'grounding'" in query("evaluations/mean_score", metric="grounding")
    assert "AS grounding " in query("evaluations/mean_score", metric="grounding")
    with pytest.raises(KeyError, match=re.escape("no value for {metric:")):
        query("evaluations/mean_score")
    with pytest.raises(ValueError, match="is no Identifier"):
        query("evaluations/mean_score", metric="x) OR 1=1 --")
    assert "'it\\'s'" in query("failure_modes/latest_offenders", failure_mode="it's")


def _build_file() -> str:
    from agentwatch.dashboards import _build

    return _build.__file__
