"""Rendering query results for people (an aligned table) and machines (CSV, JSON)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
import re
import uuid
from collections.abc import Sequence
from typing import Any

__all__ = ["FORMATS", "json_text", "printable", "render_rows", "to_jsonable"]

FORMATS = ("table", "csv", "json", "vertical")


def to_jsonable(value: Any) -> Any:
    """A JSON-friendly version of a ClickHouse value (datetimes as ISO strings, maps as objects…)."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


# C0 and C1 control characters and DEL: a terminal acts on them (ESC sequences set the title, clear the screen,
# rewrite what was printed), so text from spans is shown with them spelled out, never sent as they are
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _spelled(match: re.Match[str]) -> str:
    char = match.group()
    return "⏎" if char == "\n" else "\\t" if char == "\t" else f"\\x{ord(char):02x}"


def printable(text: str) -> str:
    """``text`` safe for a terminal line: control characters spelled out (``\\x1b``), a newline shown as ⏎."""
    return _CONTROL.sub(_spelled, text) if _CONTROL.search(text) else text


_UNESCAPED_BY_JSON = re.compile(r"[\x7f-\x9f]")  # json.dumps escapes C0 itself, but not DEL and C1 (8-bit CSI…)


def _finite(value: Any) -> Any:
    """NaN and infinities as null: JSON has no such numbers (a bare NaN makes the document unreadable)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_text(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, …)`` with DEL and C1 control characters escaped too (``\\u009b``), so
    JSON printed to a terminal cannot drive it."""
    text = json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, **options)
    return _UNESCAPED_BY_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "NULL"
    elif isinstance(value, (dict, list, tuple)):
        text = json.dumps(to_jsonable(value), ensure_ascii=False)
    else:
        text = str(to_jsonable(value))
    text = printable(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def render_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: str = "table",
    max_width: int = 60,
    *,
    terminal: bool = False,
) -> str:
    """Render ``rows`` as ``table`` (aligned, long cells cut at ``max_width``; control characters spelled out),
    ``vertical``, ``csv`` or ``json`` (which escapes them itself). ``terminal``: CSV bound for a terminal has its
    control characters spelled out too (written to a file or a pipe, it is left as data)."""
    if fmt == "json":
        return json_text([dict(zip(columns, to_jsonable(list(r)), strict=False)) for r in rows], indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            values = [json.dumps(to_jsonable(v)) if isinstance(v, (dict, list, tuple)) else to_jsonable(v) for v in row]
            writer.writerow([printable(v) if terminal and isinstance(v, str) else v for v in values])
        return buffer.getvalue().rstrip("\n")
    if fmt == "vertical":  # one "column: value" line per cell, a header per row, as clickhouse-client's Vertical
        width = max((len(c) for c in columns), default=0)
        blocks = []
        for n, row in enumerate(rows, 1):
            lines = [f"Row {n}:", "─" * (len(str(n)) + 5)]
            lines += [f"{c.rjust(width)}: {_cell(v, 10_000)}" for c, v in zip(columns, row, strict=False)]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) if blocks else "(0 rows)"
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    cells = [[_cell(v, max_width) for v in row] for row in rows]
    columns = [printable(str(c)) for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False))
    rule = "  ".join("─" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip() for r in cells]
    footer = f"({len(rows)} row{'s' if len(rows) != 1 else ''})"
    return "\n".join([line.rstrip(), rule, *body, footer])
