"""Rules the SDK and the schema both apply, pinned together (issue 35): whether a tool result says it failed is
decided by the SDK for what it records and by agent_spans_mv for spans from any other instrumentation; the two must
agree, and every reader takes the one Failed column."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentwatch.instrumentation._content import is_error_payload

from .spans import insert_spans, otel_row

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = [
    {"error": 0},
    {"error": 0.0},
    {"error": {}},
    {"error": []},
    {"error": ""},
    {"error": None},
    {"error": False},
    {"error": True},
    {"error": "timeout"},
    {"error": {"code": 503}},
    {"error": [1]},
    {"ok": True},
    {"errors": ["x"]},
]


def test_the_sdk_and_the_view_agree_on_what_an_error_payload_is(store):
    rows = [
        otel_row(
            f"{i:016x}",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "t",
                "gen_ai.tool.call.result": json.dumps(p),
            },
            trace_id=f"{i:032x}",
        )
        for i, p in enumerate(PAYLOADS)
    ]
    insert_spans(store, rows)
    view = dict(store.query("SELECT SpanId, ResultIsError FROM agent_spans").result_rows)
    disagree = [
        (p, bool(view[f"{i:016x}"]), is_error_payload(p))
        for i, p in enumerate(PAYLOADS)
        if bool(view[f"{i:016x}"]) != is_error_payload(p)
    ]
    assert not disagree, disagree


@pytest.mark.parametrize(
    "folder", ["sql/detectors", "sql/queries", "sql/evaluators", "sql/audit", "sql/dashboards", "sql/alerts"]
)
def test_readers_take_the_failed_column_instead_of_combining_its_parts(folder):
    combined = re.compile(r"IsError\s*(?:=\s*1\s*)?OR\s+\w*\.?ResultIsError|has\(ResultFlags,\s*'error_payload'\)")
    found = [str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*.sql") if combined.search(p.read_text())]
    assert not found, found


def test_the_dashboards_take_the_failed_column_too():
    """The panels' SQL (sql/dashboards/, since the definition keeps none of its own) and the definition itself."""
    texts = [(ROOT / "dashboards" / "_build.py").read_text()]
    texts += [p.read_text() for p in (ROOT / "sql" / "dashboards").rglob("*.sql")]
    assert len(texts) > 40
    assert not [t for t in texts if "ResultIsError" in t or "'error_payload'" in t]
