"""The schema on a real embedded ClickHouse: migrations, the otel_traces → agent_spans view, retention."""

import pytest

from agentwatch.config import configure
from agentwatch.migrate import Migrator, migrations

from .spans import insert_spans, otel_row

AGENT_COLUMNS = (
    "SessionId, AgentName, Operation, Provider, RequestModel, InputTokens, OutputTokens, ToolName, "
    "ToolArgsHash, ResultShape, ResultSize, ResultIsError, ErrorType, IsError"
)


def test_migrations_apply_twice_without_error(store, store_config):
    migrator = Migrator(store, store_config)
    assert migrator.apply() == []  # the fixture applied everything already
    assert migrator.apply() == []
    assert {s.state for s in migrator.status()} == {"applied"}
    tables = {
        r[0]
        for r in store.query(
            "SELECT name FROM system.tables WHERE database = {d:String}", {"d": store.database}
        ).result_rows
    }
    assert {m.table for m in migrations() if m.sql.body.startswith("CREATE") and "FUNCTION" not in m.sql.body} <= tables
    functions = {
        r[0] for r in store.query("SELECT name FROM system.functions WHERE origin = 'SQLUserDefined'").result_rows
    }
    assert {m.table for m in migrations() if "FUNCTION" in m.sql.body} <= functions


def test_status_reports_pending_before_init(store_config):
    from agentwatch.store import open_store

    with open_store(store_config, create=True) as fresh:
        states = Migrator(fresh, store_config).status()
        assert {s.state for s in states} == {"pending"}
        fresh.command(f"DROP DATABASE `{fresh.database}`")


def test_retention_change_alters_ttl_once(store, store_config):
    shorter = configure(store=store_config.store, database=store_config.database, traces_retention_days=3)
    migrator = Migrator(store, shorter)
    assert set(migrator.sync_retention()) == {
        "otel_traces",
        "otel_traces_trace_id_ts",
        "agent_spans",
        "agent_hourly",
        "agent_histogram",
    }
    assert migrator.sync_retention() == []
    ddl = store.query(
        "SELECT create_table_query FROM system.tables WHERE database = {d:String} AND name = 'agent_spans'",
        {"d": store.database},
    ).result_rows[0][0]
    assert "toIntervalDay(3)" in ddl


LLM_DIALECTS = {
    "genai-current": {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": "1200",
        "gen_ai.usage.output_tokens": "80",
        "gen_ai.conversation.id": "sess-1",
        "gen_ai.agent.name": "support",
    },
    "genai-deprecated": {
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.prompt_tokens": "1200",
        "gen_ai.usage.completion_tokens": "80",
        "gen_ai.conversation.id": "sess-1",
        "gen_ai.agent.name": "support",
    },
    "openinference": {
        "openinference.span.kind": "LLM",
        "llm.provider": "openai",
        "llm.model_name": "gpt-4o",
        "llm.token_count.prompt": "1200",
        "llm.token_count.completion": "80",
        "session.id": "sess-1",
        "agent.name": "support",
    },
    "traceloop": {
        "llm.request.type": "chat",
        "gen_ai.system": "OpenAI",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.prompt_tokens": "1200",
        "gen_ai.usage.completion_tokens": "80",
        "traceloop.association.properties.session_id": "sess-1",
        "traceloop.workflow.name": "support",
    },
}

TOOL_DIALECTS = {
    "genai-current": {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search",
        "gen_ai.tool.call.arguments": '{"q": "refund policy"}',
        "gen_ai.tool.call.result": '{"total_hits": 3, "docs": [], "note": null}',
    },
    "openinference": {
        "openinference.span.kind": "TOOL",
        "tool.name": "search",
        "input.value": '{"q": "refund policy"}',
        "output.value": '{"total_hits": 3, "docs": [], "note": null}',
    },
    "traceloop": {
        "traceloop.span.kind": "tool",
        "traceloop.entity.name": "search",
        "traceloop.entity.input": '{"q": "refund policy"}',
        "traceloop.entity.output": '{"total_hits": 3, "docs": [], "note": null}',
    },
}


def _agent_row(store, span_id):
    rows = store.query(
        f"SELECT {AGENT_COLUMNS} FROM agent_spans WHERE SpanId = {{s:String}}", {"s": span_id}
    ).result_rows
    assert len(rows) == 1, rows
    return rows[0]


def test_llm_spans_from_every_dialect_land_as_the_same_typed_row(store):
    insert_spans(store, [otel_row(name, attrs) for name, attrs in LLM_DIALECTS.items()])
    rows = {name: _agent_row(store, name) for name in LLM_DIALECTS}
    expected = ("sess-1", "support", "chat", "openai", "gpt-4o", 1200, 80, "", "", "", 0, 0, "", 0)
    for name, row in rows.items():
        assert row == expected, name


def test_tool_spans_from_every_dialect_land_as_the_same_typed_row(store):
    insert_spans(store, [otel_row(name, attrs, trace_id="a" * 32) for name, attrs in TOOL_DIALECTS.items()])
    rows = {name: _agent_row(store, name) for name in TOOL_DIALECTS}
    first = rows["genai-current"]
    assert first[2] == "execute_tool" and first[7] == "search"
    assert first[0] == "a" * 32  # no session named: the trace is the session
    assert first[9] == "docs:array,note:null,total_hits:number"
    assert len(first[8]) == 16 and first[10] == len(TOOL_DIALECTS["genai-current"]["gen_ai.tool.call.result"])
    for name, row in rows.items():
        assert row == first, name


def test_instrumentation_attributes_take_precedence_and_contracts_are_typed(store):
    attrs = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "delete_records",
        "gen_ai.agent.name": "cleaner",
        "agentwatch.tool.arguments.hash": "abc123",
        "agentwatch.tool.result.shape": "deleted:number",
        "agentwatch.tool.result.size": "42",
        "agentwatch.tool.result.flags": '["empty_with_hits"]',
        "agentwatch.agent.goal": "tidy the staging table",
        "agentwatch.agent.allowed_tools": '["search", "read_table"]',
        "agentwatch.agent.resources": '["db:staging"]',
        "agentwatch.tool.resource": "db:production",
        "agentwatch.credential.id": "svc-admin",
        "agentwatch.tool.irreversible": "true",
        "agentwatch.tool.approved": "false",
        "agentwatch.step.index": "7",
        "agentwatch.usage.cost_usd": "0.25",
        "agentwatch.step.intent": "clean up",
    }
    insert_spans(store, [otel_row("contract", attrs)])
    row = store.query(
        "SELECT ToolArgsHash, ResultShape, ResultSize, ResultFlags, Goal, AllowedTools, Resources, Resource, "
        "Credential, Irreversible, Approved, StepIndex, CostUsd, Intent FROM agent_spans WHERE SpanId = 'contract'"
    ).result_rows[0]
    assert row == (
        "abc123",
        "deleted:number",
        42,
        ["empty_with_hits"],
        "tidy the staging table",
        ["search", "read_table"],
        ["db:staging"],
        "db:production",
        "svc-admin",
        1,
        0,
        7,
        0.25,
        "clean up",
    )


@pytest.mark.parametrize(
    ("attrs", "status", "events", "error_type", "result_is_error"),
    [
        ({"error.type": "RateLimitError"}, "Error", [], "RateLimitError", 0),
        ({}, "Error", [("exception", {"exception.type": "TimeoutError"})], "TimeoutError", 0),
        ({}, "Error", [], "error", 0),
        ({}, "Ok", [], "", 0),
        ({"gen_ai.tool.name": "t", "gen_ai.tool.call.result": '{"error": "quota exceeded"}'}, "Unset", [], "", 1),
        ({"gen_ai.tool.name": "t", "gen_ai.tool.call.result": '{"error": null, "rows": 1}'}, "Unset", [], "", 0),
    ],
)
def test_errors_are_normalised(store, attrs, status, events, error_type, result_is_error):
    insert_spans(store, [otel_row("e", attrs, status=status, events=events)])
    row = store.query("SELECT ErrorType, IsError, ResultIsError FROM agent_spans").result_rows[0]
    assert row == (error_type, int(error_type != ""), result_is_error)


def test_trace_id_lookup_table_fills(store):
    insert_spans(store, [otel_row("a", {}, trace_id="f" * 32), otel_row("b", {}, trace_id="f" * 32)])
    rows = store.query("SELECT TraceId, count() FROM otel_traces_trace_id_ts GROUP BY TraceId").result_rows
    assert rows == [("f" * 32, 1)]
