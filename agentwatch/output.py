"""Rendering query results for people (an aligned table) and machines (CSV, JSON)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import uuid
from collections.abc import Sequence
from typing import Any

__all__ = ["FORMATS", "render_rows", "to_jsonable"]

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


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "NULL"
    elif isinstance(value, (dict, list, tuple)):
        text = json.dumps(to_jsonable(value), ensure_ascii=False)
    else:
        text = str(to_jsonable(value))
    text = text.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def render_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table", max_width: int = 60) -> str:
    """Render ``rows`` as ``table`` (aligned, long cells cut at ``max_width``), ``csv`` or ``json``."""
    if fmt == "json":
        return json.dumps(
            [dict(zip(columns, to_jsonable(list(r)), strict=False)) for r in rows], ensure_ascii=False, indent=2
        )
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(
                [json.dumps(to_jsonable(v)) if isinstance(v, (dict, list, tuple)) else to_jsonable(v) for v in row]
            )
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
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False))
    rule = "  ".join("─" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip() for r in cells]
    footer = f"({len(rows)} row{'s' if len(rows) != 1 else ''})"
    return "\n".join([line.rstrip(), rule, *body, footer])
