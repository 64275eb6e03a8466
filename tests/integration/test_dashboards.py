"""Every dashboard panel's SQL, after the ClickHouse plugin's macros and the template variables are expanded, runs
on a seeded embedded store and returns what its panel type needs; the previews render from it."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml

from agentwatch.config import configure
from agentwatch.dashboards import load_dashboards, panels
from agentwatch.dashboards.grafana import DASHBOARDS_PATH, resolve_variables, run_panel
from agentwatch.migrate import Migrator
from agentwatch.store import open_store

from .dashboard_seed import SESSION, seed
from .running import RunningEndpoint, run_agentwatch

NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
START, END = NOW - dt.timedelta(hours=24), NOW + dt.timedelta(minutes=5)
TRACE_COLUMNS = ["traceID", "spanID", "parentSpanID", "serviceName", "operationName", "startTime", "duration", "tags"]


@pytest.fixture(scope="module")
def seeded(engine_path):
    config = configure(store=f"chdb://{engine_path}", database=f"d_{uuid.uuid4().hex[:12]}")
    store = open_store(config, create=True)
    Migrator(store, config).apply()
    seed(store, NOW)
    yield store
    store.command(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


def _numeric(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]


def _check(kind: str, frame: pd.DataFrame) -> None:
    assert len(frame) > 0, "no rows on the seeded store"
    if kind in ("timeseries", "heatmap"):
        assert frame.columns[0] == "time" and pd.api.types.is_datetime64_any_dtype(frame["time"]), frame.dtypes
        assert _numeric(frame), "a time series needs a numeric column"
        strings = [c for c in frame.columns[1:] if c not in _numeric(frame)]
        assert len(strings) <= 1, f"at most one label column (long format): {strings}"
    elif kind == "stat":
        assert _numeric(frame) and frame[_numeric(frame)[0]].notna().all()
    elif kind == "barchart":
        assert not pd.api.types.is_numeric_dtype(frame[frame.columns[0]]) and _numeric(frame)
    elif kind == "traces":
        assert list(frame.columns[: len(TRACE_COLUMNS)]) == TRACE_COLUMNS
        assert frame["parentSpanID"].eq("").sum() >= 1  # the root
        tags = frame["tags"].iloc[0]  # the trace view wants key/value pairs
        assert tags and all(set(tag) == {"key", "value"} for tag in tags), tags


@pytest.mark.parametrize("name", sorted(load_dashboards()))
def test_every_panel_runs_on_seeded_data_and_fits_its_panel_type(seeded, name):
    dashboard = load_dashboards()[name]
    variables = resolve_variables(seeded, dashboard, START, END, {"session": SESSION})
    for variable in dashboard["templating"]["list"][1:]:
        assert variables[variable["name"]], f"variable {variable['name']} has no value on the seeded store"
    failures = []
    for panel in panels(dashboard):
        try:
            _check(panel["type"], run_panel(seeded, panel, START, END, variables))
        except AssertionError as exc:
            failures.append(f"{panel['title']} ({panel['type']}): {exc}")
    assert not failures, "\n".join(failures)


def test_filters_by_variable_narrow_the_answer(seeded):
    dashboard = load_dashboards()["agentwatch-overview.json"]
    spans = next(p for p in panels(dashboard) if p["title"] == "Spans")
    everyone = run_panel(seeded, spans, START, END, {"agent": "$__all"}).iloc[0, 0]
    one = run_panel(seeded, spans, START, END, {"agent": ["agent-ctxbad"]}).iloc[0, 0]
    none = run_panel(seeded, spans, START, END, {"agent": ["no-such-agent"]}).iloc[0, 0]
    assert everyone > one > 0 and none == 0


def test_previews_render_every_dashboard(seeded, tmp_path):
    from agentwatch.dashboards.preview import render_dashboards

    out = Path(os.environ.get("DASHBOARD_PREVIEW_DIR") or tmp_path)  # set it to keep and look at the PNGs
    written = render_dashboards(seeded, out, START, END, {"session": SESSION})
    assert sorted(p.name for p in written) == sorted(n.replace(".json", ".png") for n in load_dashboards())
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000


def test_preview_command_reads_through_the_query_endpoint(seeded, tmp_path, cli_env):
    running = RunningEndpoint(seeded)
    try:
        env = dict(cli_env, AGENTWATCH_STORE=f"http://127.0.0.1:{running.port}", AGENTWATCH_DATABASE=seeded.database)
        out = run_agentwatch(
            env, "grafana", "preview", "--out", str(tmp_path / "png"), "--session", SESSION, check=False, timeout=300
        )
        assert out.returncode == 0, out.stderr
        assert sorted(p.name for p in (tmp_path / "png").glob("*.png")) == sorted(
            n.replace(".json", ".png") for n in load_dashboards()
        )
        assert running.endpoint.counts["ok"] > 50 and not set(running.endpoint.counts) - {"ok"}
    finally:
        running.stop()


def test_export_writes_what_a_grafana_container_mounts(tmp_path, cli_env):
    out = run_agentwatch(
        cli_env, "grafana", "export", "--out", str(tmp_path), "--query-url", "http://10.0.0.5:9123", check=False
    )
    assert out.returncode == 0, out.stderr
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted(
        [f"dashboards/{n}" for n in load_dashboards()]
        + [
            "provisioning/alerting/agentwatch-alert-rules.yaml",
            "provisioning/dashboards/agentwatch.yaml",
            "provisioning/datasources/agentwatch.yaml",
        ]
    )
    datasources = yaml.safe_load((tmp_path / "provisioning/datasources/agentwatch.yaml").read_text())["datasources"]
    embedded = next(d for d in datasources if d["uid"] == "agentwatch-clickhouse")
    assert embedded["jsonData"]["protocol"] == "http" and embedded["jsonData"]["port"] == 9123
    assert embedded["jsonData"]["host"] == "10.0.0.5" and embedded["isDefault"]
    assert embedded["secureJsonData"]["password"] == "$AGENTWATCH_QUERY_PASSWORD"  # read from Grafana's environment
    provider = yaml.safe_load((tmp_path / "provisioning/dashboards/agentwatch.yaml").read_text())["providers"][0]
    assert provider["options"]["path"] == DASHBOARDS_PATH
    rules = yaml.safe_load((tmp_path / "provisioning/alerting/agentwatch-alert-rules.yaml").read_text())
    assert all(r["data"][0]["datasourceUid"] == "agentwatch-clickhouse" for r in rules["groups"][0]["rules"])
