"""PNG previews of the Grafana dashboards, rendered from the store with matplotlib: each panel's query runs exactly as
Grafana's ClickHouse plugin would run it (macros and variables expanded) and is drawn at its place in the grid.

For looking at the dashboards without a Grafana (``agentwatch grafana preview --out DIR``), and for checking that a
user reads the state of their agents at a glance.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentwatch.dashboards import load_dashboards
from agentwatch.dashboards.grafana import interval_for, resolve_variables, run_panel
from agentwatch.errors import MissingExtraError

__all__ = ["default_range", "render_dashboard", "render_dashboards"]

_BACKGROUND, _PANEL, _TEXT, _MUTED, _GRID = "#111217", "#181b1f", "#ccccdc", "#8e8e9a", "#2c3235"
_PALETTE = [
    "#73bf69",
    "#f2cc0c",
    "#5794f2",
    "#ff9830",
    "#f2495c",
    "#b877d9",
    "#8ab8ff",
    "#fade2a",
    "#96d98d",
    "#ffb357",
]
_UNIT_PX, _ROW_PX = 75, 30  # a Grafana grid unit is 1/24 of the width; a row unit is 30 px
_COLOURS = {"green": _PALETTE[0], "yellow": _PALETTE[1], "blue": _PALETTE[2], "orange": _PALETTE[3], "red": _PALETTE[4]}
_LEGEND_MAX = 8
_CELL_MAX = 60


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError("matplotlib", "preview", "Rendering dashboard previews") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _format(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "currencyUSD":
        return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3g}"
    number = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= size:
            return f"{number / size:.1f}{suffix}"
    return f"{int(number):,}"


def _series(frame: Any) -> Any:
    """A long frame (time, label, values…) as a wide one (time → one column per label and value)."""
    import pandas as pd

    numeric = [c for c in frame.columns[1:] if pd.api.types.is_numeric_dtype(frame[c])]
    labels = [c for c in frame.columns[1:] if c not in numeric]
    if not labels:
        return frame.set_index("time")[numeric]
    wide = frame.pivot_table(index="time", columns=labels[0], values=numeric, aggfunc="sum")
    wide.columns = [str(label) if len(numeric) == 1 else f"{label} · {value}" for value, label in wide.columns]
    return wide.sort_index()


def _style(ax: Any) -> None:
    ax.set_facecolor(_PANEL)
    ax.tick_params(colors=_MUTED, labelsize=7)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.grid(True, color=_GRID, linewidth=0.5)


def _legend(ax: Any, count: int) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if len(handles) > _LEGEND_MAX:
        handles, labels = (
            handles[:_LEGEND_MAX],
            [*labels[: _LEGEND_MAX - 1], f"{labels[_LEGEND_MAX - 1]} (+{count - _LEGEND_MAX} more)"],
        )
    ax.legend(
        handles,
        labels,
        loc="upper left",
        fontsize=6,
        frameon=False,
        labelcolor=_TEXT,
        ncol=min(4, len(handles)),
        handlelength=1,
    )


def _timeseries(ax: Any, frame: Any, panel: dict[str, Any], span: tuple[dt.datetime, dt.datetime, int]) -> None:
    import matplotlib.dates as mdates

    start, end, interval = span
    wide = _series(frame).fillna(0)
    wide = wide[wide.sum().sort_values(ascending=False).index]  # the biggest series first (and in the legend)
    custom = panel["fieldConfig"]["defaults"].get("custom", {})
    bars, stacked = custom.get("drawStyle") == "bars", "stacking" in custom
    if len(wide.index) < 3 and custom.get("showPoints") != "always":
        bars = True  # a line needs points to join: a burst that fits one or two intervals shows as bars
    _style(ax)
    colours = [_PALETTE[i % len(_PALETTE)] for i in range(len(wide.columns))]
    if bars:
        bottom = None
        for column, colour in zip(wide.columns, colours, strict=True):
            ax.bar(
                wide.index,
                wide[column],
                width=interval / 86400 * 0.85,
                bottom=bottom,
                color=colour,
                label=str(column)[:48],
                align="edge",
            )
            if stacked:
                bottom = wide[column] if bottom is None else bottom + wide[column]
    elif stacked and len(wide.columns) > 1:
        ax.stackplot(
            wide.index,
            *[wide[c] for c in wide.columns],
            colors=colours,
            alpha=0.8,
            labels=[str(c)[:48] for c in wide.columns],
        )
    else:
        marker = "o" if custom.get("showPoints") == "always" else None
        for column, colour in zip(wide.columns, colours, strict=True):
            ax.plot(
                wide.index,
                wide[column],
                color=colour,
                linewidth=1.6,
                marker=marker,
                markersize=3,
                label=str(column)[:48],
            )
    unit = panel["fieldConfig"]["defaults"].get("unit", "")
    values = wide.to_numpy(dtype=float)
    if values.size and values.min() >= 0:  # counts and rates start at 0; all zeros is 0 to 1, not -4 % to 4 %
        ax.set_ylim(0, None if values.max() > 0 else 1)
    ax.yaxis.set_major_formatter(lambda v, _pos: _format(v, unit))
    ax.set_xlim(start, end)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    _legend(ax, len(wide.columns))


def _threshold_colour(panel: dict[str, Any], value: Any) -> str:
    """The colour Grafana gives ``value`` by the panel's threshold steps (the last step it reaches)."""
    steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps") or [{"color": "green", "value": None}]
    colour = steps[0]["color"]
    if value is not None and not (isinstance(value, float) and math.isnan(value)):
        colour = next((s["color"] for s in reversed(steps) if s["value"] is None or value >= s["value"]), colour)
    return _COLOURS.get(colour, colour)


def _stat(ax: Any, frame: Any, panel: dict[str, Any]) -> None:
    ax.set_facecolor(_PANEL)
    ax.axis("off")
    value = frame.iloc[0, 0] if len(frame) else None
    unit = panel["fieldConfig"]["defaults"].get("unit", "")
    colour = _threshold_colour(panel, value)
    ax.text(0.5, 0.42, _format(value, unit), color=colour, fontsize=22, ha="center", va="center", weight="bold")


def _cell_text(value: Any) -> str:
    """A value as Grafana's table shows it: numbers formatted, arrays as their items, never a Python repr
    (``[np.float64(0.0), …]`` was seen in the Readiness board)."""
    if value is None:
        return ""
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy arrays and scalars
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell_text(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return _format(value, "")
    if isinstance(value, dt.datetime) or hasattr(value, "strftime"):
        return value.strftime("%m-%d %H:%M:%S")
    return str(value)


def _shorten(text: str, width: int) -> str:
    """``text`` in ``width`` characters: cut at a word when one ends late enough, and marked with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: max(1, width - 1)]
    space = cut.rfind(" ")
    if space >= width * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


_CHAR_PX = 5.4  # the width of an average character of the tables' 6.5 pt font at 100 dpi, rounded up
_MIN_COLUMN = 6


def _fit_columns(headers: list[str], cells: list[list[str]], budget: int) -> list[int]:
    """Each column's width in characters, together at most ``budget``: the widest give way first, down to what
    their header needs (a few characters at least); columns that still do not fit are left out (width 0)."""
    widths = [min(_CELL_MAX, max([len(h), *(len(r[i]) for r in cells)])) + 1 for i, h in enumerate(headers)]
    floors = [min(w, max(_MIN_COLUMN, min(len(h), 12) + 1)) for w, h in zip(widths, headers, strict=True)]
    while sum(widths) > budget:
        widest = max(range(len(widths)), key=lambda i: widths[i] - floors[i])
        if widths[widest] <= floors[widest]:
            break
        widths[widest] -= 1
    while sum(widths) > budget and any(widths):
        widths[max(i for i, w in enumerate(widths) if w)] = 0  # the rightmost, as a scrolled-off column
    return widths


def _fit_text(text: Any, whole: str, room_px: float, renderer: Any) -> None:
    """Shorten ``text`` (showing ``whole``) until it is drawn within ``room_px``: measured, since an estimate per
    character still let wide letters ("max_window_share") spill into the next cell."""
    width = len(text.get_text())
    while width > 1 and text.get_window_extent(renderer).width > room_px:
        width -= 1
        text.set_text(_shorten(whole, width))


def _table(ax: Any, frame: Any, panel: dict[str, Any], rows: int, width_px: float) -> None:
    ax.set_facecolor(_PANEL)
    ax.axis("off")
    if frame.empty:
        ax.text(0.5, 0.5, "No data", color=_MUTED, ha="center", va="center")
        return
    shown = frame.head(rows)
    headers = [str(c) for c in shown.columns]
    cells = [[_cell_text(v) for v in record] for record in shown.itertuples(index=False)]
    widths = _fit_columns(headers, cells, int(width_px / _CHAR_PX))
    kept = [i for i, w in enumerate(widths) if w]
    if len(kept) < len(headers):
        hidden = len(headers) - len(kept)
        ax.text(
            1,
            1.005,
            f"+{hidden} more column{'s' if hidden > 1 else ''} →",
            color=_MUTED,
            fontsize=6,
            ha="right",
            va="bottom",
            transform=ax.transAxes,
        )
    table = ax.table(
        cellText=[[_shorten(r[i], widths[i] - 1) for i in kept] for r in cells],
        colLabels=[_shorten(headers[i], widths[i] - 1) for i in kept],
        loc="upper left",
        cellLoc="left",
        colLoc="left",
        colWidths=[widths[i] / sum(widths) for i in kept],
    )
    table.AXESPAD = 0  # matplotlib's default offset (2 % of the axes) pushed the last column past the panel's edge
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    renderer = ax.figure.canvas.get_renderer()
    whole = {(0, j): headers[i] for j, i in enumerate(kept)}
    whole.update({(r + 1, j): row[i] for r, row in enumerate(cells) for j, i in enumerate(kept)})
    for (r, c), item in table.get_celld().items():
        cell_px = widths[kept[c]] / sum(widths) * width_px
        item.PAD = 3 / max(1.0, cell_px)  # 3 px, not a tenth of the cell
        _fit_text(item.get_text(), whole.get((r, c), ""), cell_px - 7, renderer)
        item.set_edgecolor(_GRID)
        item.set_facecolor("#22252b" if r == 0 else _PANEL)
        item.get_text().set_color(_TEXT if r else "#6e9fff")
        item.set_height(1 / (rows + 1.5))


def _barchart(ax: Any, frame: Any, panel: dict[str, Any]) -> None:
    import numpy as np

    _style(ax)
    labels = frame.iloc[:, 0].astype(str).tolist()
    values = frame.columns[1:]
    positions = np.arange(len(labels))
    height = 0.8 / max(1, len(values))
    for i, column in enumerate(values):
        ax.barh(positions + i * height, frame[column], height=height, color=_PALETTE[i % len(_PALETTE)], label=column)
    ax.set_yticks(positions + height * (len(values) - 1) / 2, labels)
    ax.invert_yaxis()
    ax.legend(fontsize=6, frameon=False, labelcolor=_TEXT, loc="lower right")


def _heatmap(ax: Any, frame: Any, panel: dict[str, Any], span: tuple[dt.datetime, dt.datetime, int]) -> None:
    import matplotlib.dates as mdates
    import pandas as pd
    from matplotlib.colors import LinearSegmentedColormap

    start, end, interval = span
    _style(ax)
    slots = pd.date_range(pd.Timestamp(start).floor(f"{interval}s"), end, freq=f"{interval}s")
    grid = frame.set_index("time").reindex(slots).T  # empty intervals stay empty, as in Grafana
    times = mdates.date2num(slots)
    ax.imshow(
        grid.fillna(0).values.astype(float),
        aspect="auto",
        origin="lower",
        cmap=LinearSegmentedColormap.from_list("counts", [_PANEL, "#3d71d9", "#73bf69", "#fade2a"]),
        extent=(times[0], times[-1] + interval / 86400, 0, len(grid.index)),
        interpolation="nearest",
    )
    ax.set_yticks([i + 0.5 for i in range(len(grid.index))], list(grid.index))
    ax.xaxis_date()
    ax.set_xlim(start, end)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.grid(False)


def _traces(ax: Any, frame: Any, panel: dict[str, Any]) -> None:
    _style(ax)
    start = frame["startTime"].min()
    depth: dict[str, int] = {}
    parents = dict(zip(frame["spanID"], frame["parentSpanID"], strict=True))

    def level(span: str) -> int:
        if span not in depth:
            parent = parents.get(span, "")
            depth[span] = 0 if not parent or parent not in parents else level(parent) + 1
        return depth[span]

    for i, record in enumerate(frame.itertuples(index=False)):
        offset = (record.startTime - start).total_seconds() * 1000
        colour = _PALETTE[4] if getattr(record, "statusCode", 0) == 2 else _PALETTE[2 + level(record.spanID) % 3]
        ax.barh(i, max(record.duration, 0.5), left=offset, color=colour, height=0.6)
        ax.text(
            offset,
            i - 0.42,
            "  " * level(record.spanID) + f"{record.operationName}  {record.duration:.1f} ms",
            color=_TEXT,
            fontsize=6.5,
            va="bottom",
        )
    ax.invert_yaxis()
    ax.set_yticks([])
    ax.set_xlabel("ms since the trace started", color=_MUTED, fontsize=7)


def render_dashboard(
    store: Any,
    dashboard: dict[str, Any],
    out: Path,
    start: dt.datetime,
    end: dt.datetime,
    variables: Mapping[str, str | Sequence[str]] | None = None,
    inspect: Callable[[Any], None] | None = None,
) -> Path:
    """Draw one dashboard's panels, laid out as in Grafana, into ``out`` (a PNG); ``inspect`` is handed the drawn
    matplotlib figure before it is closed (the tests read the rendered texts from it). Span data is drawn as it is:
    matplotlib would read "$5 … $6" in a cell as mathematics."""
    plt = _pyplot()
    with plt.rc_context({"text.parse_math": False}):
        return _render(plt, store, dashboard, out, start, end, variables, inspect)


def _render(
    plt: Any,
    store: Any,
    dashboard: dict[str, Any],
    out: Path,
    start: dt.datetime,
    end: dt.datetime,
    variables: Mapping[str, str | Sequence[str]] | None,
    inspect: Callable[[Any], None] | None,
) -> Path:
    values = resolve_variables(store, dashboard, start, end, variables)
    flat = []
    for p in dashboard["panels"]:
        flat.append(p)
        flat.extend(p.get("panels", []))
    height_units = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in flat) + 2
    width_px, height_px = 24 * _UNIT_PX, height_units * _ROW_PX
    figure = plt.figure(figsize=(width_px / 100, height_px / 100), dpi=100, facecolor=_BACKGROUND)
    own = [v["name"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    chosen = "    ".join(f"{k}: {'All' if values[k] == '$__all' else values[k]}" for k in own)
    figure.text(
        0.01,
        1 - 0.9 / height_units,
        f"{dashboard['title']}    {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC    {chosen}",
        color=_TEXT,
        fontsize=12,
        weight="bold",
        va="center",
    )
    span = (start, end, interval_for(start, end))
    for p in flat:
        g = p["gridPos"]
        x0, y0 = g["x"] * _UNIT_PX / width_px, 1 - (g["y"] + 2 + g["h"]) * _ROW_PX / height_px
        w, h = g["w"] * _UNIT_PX / width_px, g["h"] * _ROW_PX / height_px
        if p["type"] == "row":
            figure.text(x0 + 0.005, y0 + h / 2, p["title"], color=_TEXT, fontsize=10, weight="bold", va="center")
            continue
        frame_ax = figure.add_axes((x0 + 0.002, y0 + 0.002, w - 0.004, h - 0.004))
        frame_ax.set_facecolor(_PANEL)
        frame_ax.set_xticks([])
        frame_ax.set_yticks([])
        for spine in frame_ax.spines.values():
            spine.set_color(_GRID)
        title_h = 22 / height_px
        frame_ax.text(
            0.01,
            1 - 11 / (g["h"] * _ROW_PX),
            p["title"],
            transform=frame_ax.transAxes,
            color=_TEXT,
            fontsize=8,
            weight="bold",
            va="center",
        )
        inner = (x0 + 0.03 * w + 0.01, y0 + 0.12 * h, w * 0.94 - 0.01, h * 0.88 - title_h - 0.1 * h)
        if p["type"] in ("stat", "table"):
            inner = (x0 + 0.006, y0 + 0.004, w - 0.012, h - title_h - 0.006)
        if p["type"] == "barchart":
            inner = (x0 + 0.3 * w, y0 + 0.12 * h, w * 0.66, h * 0.88 - title_h - 0.1 * h)
        ax = figure.add_axes(inner)
        try:
            frame = run_panel(store, p, start, end, values)
        except Exception as exc:  # a broken panel shows its error, as Grafana does
            ax.axis("off")
            ax.text(0, 0.5, f"error: {str(exc)[:140]}", color=_PALETTE[4], fontsize=7, wrap=True)
            continue
        if frame.empty and p["type"] != "table":
            ax.axis("off")
            ax.text(0.5, 0.5, "No data", color=_MUTED, ha="center", va="center")
            continue
        if p["type"] == "table":
            _table(ax, frame, p, rows=max(2, int((g["h"] * _ROW_PX - 30) / 17)), width_px=inner[2] * width_px)
        elif p["type"] in ("timeseries", "heatmap"):
            (_timeseries if p["type"] == "timeseries" else _heatmap)(ax, frame, p, span)
        else:
            {"stat": _stat, "barchart": _barchart, "traces": _traces}[p["type"]](ax, frame, p)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, facecolor=_BACKGROUND)
    if inspect is not None:
        inspect(figure)
    plt.close(figure)
    return out


def default_range(store: Any, end: dt.datetime, longest: dt.timedelta = dt.timedelta(hours=24)) -> dt.datetime:
    """Where a preview starts when no range is asked for: a little before the store's first span of the last
    ``longest`` (at least 15 minutes back), so a fresh store fills the panels instead of one bar at the right edge."""
    start = end - longest
    first = store.run_sql("dashboards/data_start", {"start": start, "end": end}).result_rows[0][0]
    if first is None or first.year < 2000:  # no span: min() of nothing is the epoch
        return start
    first = first.replace(tzinfo=None)
    margin = max(dt.timedelta(minutes=15), (end - first) * 0.05)
    return max(start, min(first - margin, end - dt.timedelta(minutes=15)))


def render_dashboards(
    store: Any,
    out: Path,
    start: dt.datetime,
    end: dt.datetime,
    variables: Mapping[str, str | Sequence[str]] | None = None,
    inspect: Callable[[Any], None] | None = None,
) -> list[Path]:
    """Every shipped dashboard as ``out/<name>.png``."""
    return [
        render_dashboard(store, dashboard, out / name.replace(".json", ".png"), start, end, variables, inspect)
        for name, dashboard in load_dashboards().items()
    ]
