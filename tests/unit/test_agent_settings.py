"""The agent side reads only its own settings, and a bad one never stops the host application from starting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from agentwatch.config import configure, configure_agent, settings_table

from ..conftest import ROOT

# Every server-side setting set to a value it refuses.
GARBAGE_SERVER = {
    "AGENTWATCH_STORE": "mysql://nope",
    "AGENTWATCH_DATABASE": "no spaces allowed",
    "AGENTWATCH_CLUSTER": "1bad",
    "AGENTWATCH_TRACES_RETENTION_DAYS": "forever",
    "AGENTWATCH_COLLECTOR_HTTP": "nowhere",
    "AGENTWATCH_COLLECTOR_GRPC": "nowhere",
    "AGENTWATCH_SPOOL_MAX_BYTES": "-1",
    "AGENTWATCH_QUEUE_MAX_SPANS": "lots",
    "AGENTWATCH_BATCH_MAX_AGE": "later",
    "AGENTWATCH_MAX_REQUEST_BYTES": "0",
    "AGENTWATCH_QUERY_HTTP": "x",
    "AGENTWATCH_QUERY_TIMEOUT": "soon",
    "AGENTWATCH_QUERY_MAX_MEMORY": "much",
    "AGENTWATCH_JUDGE": "oracle",
    "AGENTWATCH_JUDGE_CONCURRENCY": "many",
    "AGENTWATCH_JUDGE_TIMEOUT": "never",
    "AGENTWATCH_LOG_LEVEL": "chatty",
}

AGENT = textwrap.dedent("""
    import logging, sys
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    import agentwatch.auto
    import agentwatch

    @agentwatch.tool
    def lookup(order_id: str) -> dict:
        return {"id": order_id, "status": "shipped"}

    @agentwatch.agent(name="support")
    def support() -> str:
        return str(lookup("A-1")) + str(lookup("A-1"))

    print("OK", support())
""")


def _run(tmp_path, env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWATCH_", "OTEL_", "PYTEST_"))}
    # nothing listens there: the export fails quietly at exit, which is not what this test is about
    env.update(PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", **env_overrides)
    return subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)


def test_import_auto_and_a_tool_call_work_with_every_server_setting_garbage(tmp_path):
    done = _run(tmp_path, GARBAGE_SERVER)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK")
    assert "ConfigError" not in done.stderr
    # server settings are not the agent's business: not even a warning about them
    for name in GARBAGE_SERVER:
        assert name not in done.stderr


def test_a_bad_agent_setting_is_logged_once_and_falls_back_to_its_default(tmp_path):
    done = _run(
        tmp_path,
        {
            "AGENTWATCH_MAX_CONTENT_LENGTH": "big",
            "AGENTWATCH_CAPTURE_CONTENT": "perhaps",
            "AGENTWATCH_MAX_STEPS": "ten",
            "AGENTWATCH_MAX_REPEATS": "0",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon",
        },
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK")  # two identical calls: MAX_REPEATS=0 must not block even the first
    for name in (
        "AGENTWATCH_MAX_CONTENT_LENGTH",
        "AGENTWATCH_CAPTURE_CONTENT",
        "AGENTWATCH_MAX_STEPS",
        "AGENTWATCH_MAX_REPEATS",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ):
        assert done.stderr.count(name) == 1, (name, done.stderr)
    assert "using the default" in done.stderr


def test_max_repeats_zero_does_not_block_the_first_call(tmp_path):
    done = _run(tmp_path, {"AGENTWATCH_MAX_REPEATS": "0"})
    assert done.returncode == 0, done.stderr
    assert "AgentLoopError" not in done.stderr


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json", "grpc"])
def test_every_protocol_the_opentelemetry_sdk_accepts_is_valid(protocol):
    config = configure_agent(environ={"OTEL_EXPORTER_OTLP_PROTOCOL": protocol})
    assert config.protocol == protocol
    assert configure(environ={"OTEL_EXPORTER_OTLP_PROTOCOL": protocol}).protocol == protocol


def test_guard_settings_are_in_the_table_and_flagged_by_side():
    rows = {row["env"]: row for row in settings_table()}
    for env in (
        "AGENTWATCH_MAX_STEPS",
        "AGENTWATCH_MAX_TOKENS",
        "AGENTWATCH_MAX_COST_USD",
        "AGENTWATCH_MAX_SECONDS",
        "AGENTWATCH_MAX_REPEATS",
        "AGENTWATCH_APPROVED_ACTIONS",
        "AGENTWATCH_ENFORCE_SCOPE",
        "AGENTWATCH_REQUIRE_APPROVAL",
    ):
        assert rows[env]["side"] == "agent", env
    assert rows["AGENTWATCH_STORE"]["side"] == "server"
    assert rows["OTEL_EXPORTER_OTLP_ENDPOINT"]["side"] == "agent"
    assert rows["AGENTWATCH_QUERY_TIMEOUT"]["side"] == "server"
    assert {row["side"] for row in rows.values()} == {"agent", "server"}


def test_guard_settings_reach_the_guards():
    from agentwatch.instrumentation.guards import guards_from_config

    guards = guards_from_config(
        configure_agent(
            environ={
                "AGENTWATCH_MAX_STEPS": "4",
                "AGENTWATCH_ENFORCE_SCOPE": "on",
                "AGENTWATCH_APPROVED_ACTIONS": "refund, cancel",
            }
        )
    )
    assert guards is not None
    assert guards.budget is not None and guards.budget.max_steps == 4
    assert guards.enforce_scope and not guards.require_approval
    assert guards.approved_actions == ("refund", "cancel")
    assert guards_from_config(configure_agent(environ={})) is None


def test_agentwatch_config_lists_guard_settings_with_their_side():
    done = subprocess.run(
        [sys.executable, "-m", "agentwatch", "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AGENTWATCH_MAX_TOKENS": "5000"},
        check=True,
    )
    rows = {row["env"]: row for row in json.loads(done.stdout)}
    assert rows["AGENTWATCH_MAX_TOKENS"]["value"] == "5000"
    assert rows["AGENTWATCH_MAX_TOKENS"]["side"] == "agent"


@pytest.mark.parametrize(
    ("value", "captured"),
    [
        ("SPAN_ONLY", True),
        ("span_and_event", True),
        ("EVENT_ONLY", True),
        ("NO_CONTENT", False),
        ("true", True),
        ("False", False),
    ],
)
def test_the_genai_conventions_content_capture_values_are_accepted(value, captured):
    """OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is shared with other instrumentations (Google ADK, the
    OpenTelemetry GenAI ones), which set the values the conventions define: agentwatch's own processes must start."""
    environ = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value}
    assert configure(environ=environ).capture_content is captured
    assert configure_agent(environ=environ).capture_content is captured


def test_a_content_capture_value_nobody_defines_names_the_accepted_ones():
    from agentwatch.errors import ConfigError

    with pytest.raises(ConfigError, match="SPAN_ONLY"):
        configure(environ={"AGENTWATCH_CAPTURE_CONTENT": "sometimes"})
