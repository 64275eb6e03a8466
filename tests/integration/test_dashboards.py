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


def test_previews_render_every_dashboard_with_values_not_reprs_and_no_text_out_of_its_cell(seeded, tmp_path):
    """Every dashboard renders to a PNG. Issue 34 item 6: the Readiness board showed `[np.float64(0.0), …` in a
    cell; tables ran past the panel's right edge and summaries were cut mid-word inside their cell. Read from the
    rendered figures."""
    from matplotlib.table import Table

    from agentwatch.dashboards.preview import render_dashboards

    problems: list[str] = []
    texts: list[str] = []

    def inspect(figure) -> None:
        renderer = figure.canvas.get_renderer()
        for ax in figure.axes:
            box = ax.get_window_extent(renderer)
            for table in (c for c in ax.get_children() if isinstance(c, Table)):
                for cell in table.get_celld().values():
                    text, edge = cell.get_text(), cell.get_window_extent(renderer)
                    shown = text.get_text()
                    texts.append(shown)
                    if edge.x1 > box.x1 + 0.5:
                        problems.append(f"cell {shown!r} ends {edge.x1 - box.x1:.0f} px past its panel")
                    if text.get_window_extent(renderer).x1 > edge.x1 + 0.5:
                        problems.append(f"{shown!r} spills out of its cell")
                    if "np." in shown or "Decimal(" in shown or shown.startswith("["):
                        problems.append(f"a Python repr in a cell: {shown!r}")
                    if text.get_parse_math():  # span data ("costs $5 and $6") is not mathematics
                        problems.append(f"{shown!r} would be read as mathematics")

    out = Path(os.environ.get("DASHBOARD_PREVIEW_DIR") or tmp_path)  # set it to keep and look at the PNGs
    written = render_dashboards(seeded, out, START, END, {"session": SESSION}, inspect=inspect)
    assert sorted(p.name for p in written) == sorted(n.replace(".json", ".png") for n in load_dashboards())
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    assert texts and not problems, problems[:10]
    assert any(t.endswith("…") and not t[-2].isspace() for t in texts)  # shortened, at a word where it can be
    assert "migrate, shell-driftfailbad" in texts  # an array (the tools an agent used) as its items, as Grafana shows


def test_a_preview_starts_where_the_data_does_and_an_empty_rate_axis_at_zero(seeded, tmp_path):
    """Issue 34 item 6: the default 24 h squeezed a fresh store into one bar at the right edge; an empty error-rate
    panel drew a -4 % to 4 % axis."""
    from agentwatch.dashboards.preview import default_range, render_dashboard

    first = seeded.query(
        "SELECT min(Timestamp) FROM otel_traces WHERE Timestamp >= {s:DateTime64(9)}",
        {"s": END - dt.timedelta(hours=24)},
    ).result_rows[0][0]
    first = first.replace(tzinfo=None)
    start = default_range(seeded, END)
    assert END - dt.timedelta(hours=24) <= start <= first and first - start <= max(
        dt.timedelta(minutes=15), (END - first) * 0.06
    )
    limits = {}

    def inspect(figure) -> None:
        for ax in figure.axes:
            title = next((t.get_text() for t in ax.texts if t.get_text() == "Error rate"), None)
            if title:
                limits[title] = figure.axes[figure.axes.index(ax) + 1].get_ylim()

    overview = load_dashboards()["agentwatch-overview.json"]
    render_dashboard(seeded, overview, tmp_path / "o.png", END - dt.timedelta(minutes=30), END, {}, inspect)
    assert limits["Error rate"][0] == 0, limits


def test_findings_over_time_are_plotted_when_they_were_first_seen():
    """Issue 34 item 6: plotted by LastSeen, which every detector run moves, sessions of 18:28 showed at 18:33."""
    for dashboard in load_dashboards().values():
        for panel in panels(dashboard):
            if "findings over time" in panel["title"].lower():
                assert "LastSeen" not in panel["targets"][0]["rawSql"], panel["title"]
