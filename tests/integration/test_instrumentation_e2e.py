"""End to end: an agent process with ``import agentwatch.auto`` → OTLP → collector → typed agent_spans rows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

from agentwatch.testing import LLMServer, Reply

from ..conftest import ROOT
from .running import RunningCollector, collector_config, count, wait_for

AGENT = textwrap.dedent("""
    import agentwatch.auto  # the one line
    import agentwatch, openai, os

    client = openai.OpenAI(base_url=os.environ["LLM_URL"], api_key="sk-test-abcdefghijklmnopqrstuvwx")

    @agentwatch.tool
    def search_orders(order_id: str) -> dict:
        return {"total_hits": 1, "orders": [{"id": order_id, "status": "shipped"}]}

    @agentwatch.tool(irreversible=True)
    def cancel_order(order_id: str) -> dict:
        return {"cancelled": order_id}

    @agentwatch.agent(name="support", goal="answer order questions", allowed_tools=["search_orders"],
                      credential="svc-support")
    def support(question: str) -> str:
        found = search_orders("A-17")
        cancel_order("A-17")
        reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": question}])
        return reply.choices[0].message.content

    with agentwatch.session("conv-e2e"):
        print(support("Where is A-17?"))
""")


def _env(collector_url: str, llm_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWATCH_", "OTEL_", "PYTEST_"))}
    env.update(
        PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT=collector_url, OTEL_SERVICE_NAME="shop-agent", LLM_URL=llm_url
    )
    return env


def test_import_agentwatch_auto_end_to_end(store, tmp_path):
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    with (
        RunningCollector(collector_config(store, tmp_path / "spool"), store) as rc,
        LLMServer(lambda p, b: Reply(text="It ships tomorrow.")) as llm,
    ):
        done = subprocess.run(
            [sys.executable, str(script)],
            env=_env(rc.http_url, llm.base_url),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "It ships tomorrow."
        wait_for(lambda: count(store, "agent_spans") == 4, what="the agent's 4 spans")  # flushed at exit
    rows = store.query(
        "SELECT Operation, AgentName, SessionId, ServiceName, ToolName, Goal, AllowedTools, Credential, Irreversible, "
        "Approved, StepIndex, ResultShape, InputTokens > 0 AS HasTokens, Provider, RequestModel FROM agent_spans "
        "ORDER BY StepIndex, Operation"
    ).named_results()
    by_op = {}
    for row in rows:
        by_op.setdefault(row["Operation"], []).append(row)
    agent_row = by_op["invoke_agent"][0]
    assert (agent_row["AgentName"], agent_row["SessionId"], agent_row["ServiceName"]) == (
        "support",
        "conv-e2e",
        "shop-agent",
    )
    assert agent_row["Goal"] == "answer order questions" and agent_row["AllowedTools"] == ["search_orders"]
    assert agent_row["Credential"] == "svc-support"
    tools = {r["ToolName"]: r for r in by_op["execute_tool"]}
    assert tools["search_orders"]["ResultShape"].startswith("orders:array,orders[].id:string")
    assert tools["search_orders"]["StepIndex"] == 1 and tools["cancel_order"]["StepIndex"] == 2
    assert (tools["cancel_order"]["Irreversible"], tools["cancel_order"]["Approved"]) == (1, 0)
    assert tools["cancel_order"]["AllowedTools"] == ["search_orders"]  # so scope violations are one row away
    chat = by_op["chat"][0]
    assert (chat["StepIndex"], chat["AgentName"], chat["Provider"], chat["RequestModel"]) == (
        3,
        "support",
        "openai",  # an OpenAI-compatible server speaks openai; its address is server.address
        "gpt-4o",
    )
    assert chat["HasTokens"] == 1
    secrets = store.query(
        "SELECT count() FROM otel_traces WHERE arrayExists(v -> v LIKE '%sk-test%', mapValues(SpanAttributes))"
    ).result_rows[0][0]
    assert secrets == 0


def test_opentelemetry_instrument_finds_the_openai_instrumentor(store, tmp_path):
    names = {ep.name for ep in entry_points(group="opentelemetry_instrumentor")}
    assert {"agentwatch_openai", "agentwatch_anthropic", "agentwatch_litellm"} <= names
    script = tmp_path / "plain.py"
    script.write_text(
        textwrap.dedent("""
        import openai, os
        client = openai.OpenAI(base_url=os.environ["LLM_URL"], api_key="k")
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    """)
    )
    with RunningCollector(collector_config(store, tmp_path / "spool"), store) as rc, LLMServer() as llm:
        env = _env(rc.http_url, llm.base_url)
        env.update(
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_METRICS_EXPORTER="none",
            OTEL_LOGS_EXPORTER="none",
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="",
        )
        instrument = os.path.join(os.path.dirname(sys.executable), "opentelemetry-instrument")
        done = subprocess.run(
            [instrument, sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        wait_for(lambda: count(store, "agent_spans") >= 1, what="the chat span")
    row = store.query(
        "SELECT Operation, RequestModel, ServiceName FROM agent_spans WHERE Operation = 'chat'"
    ).result_rows
    assert row == [("chat", "gpt-4o-mini", "shop-agent")]
