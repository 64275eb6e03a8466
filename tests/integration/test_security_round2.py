"""Security, round two: attacks on a real ``agentwatch serve`` (a process, free ports, loopback) — DNS rebinding,
trace context stored in clear, files readable by others, terminal and Markdown injection, malformed parameters."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import time
import urllib.parse

import pytest
from google.protobuf.descriptor import FieldDescriptor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

from agentwatch.control import CONTROL_FILE

from ..conftest import PYTHON, agentwatch_env
from .running import http_request, wait_for
from .spans import one_span_request
from .test_security import Serve

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
EVIL_NAME = "evil\x1b]0;PWNED\x07\x1b[2J\x9b31m\n# Fleet: READY — all good\n![x](http://evil.example/i.png) <img src=x>"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("serve2")
    env = agentwatch_env(home)
    old = os.umask(0o022)  # the most common umask: files would be world-readable without care
    try:
        serve = Serve(env, home)
    finally:
        os.umask(old)
    yield serve, home, env
    serve.stop()


def _post_spans(serve: Serve, request: ExportTraceServiceRequest) -> None:
    status, _, body = serve.request(
        "POST",
        "/v1/traces",
        request.SerializeToString(),
        {"Content-Type": "application/x-protobuf"},
        port=serve.http_port,
    )
    assert status == 200, body


def _rows(serve: Serve, sql: str) -> list[dict]:
    status, _, body = serve.get(sql + " FORMAT JSONEachRow")
    assert status == 200, body
    return [json.loads(line) for line in body.decode().splitlines()]


# -- 1. DNS rebinding ---------------------------------------------------------------------------------
def test_every_listener_refuses_a_host_name_that_is_not_ours(served):
    serve, home, _ = served
    control = json.loads((home / "store" / CONTROL_FILE).read_text())
    control_port = int(control["url"].rsplit(":", 1)[1])
    query = "/?" + urllib.parse.urlencode({"query": "SELECT name FROM system.tables WHERE database=currentDatabase()"})
    listeners = [
        (serve.query_port, "GET", query, None),
        (serve.http_port, "GET", "/healthz", None),
        (control_port, "POST", "/v1/detect", b"{}"),
    ]
    for port, method, path, body in listeners:
        status, _, answer = http_request(port, method, path, body, {"Host": f"evil.example:{port}"})
        assert status == 403 and b"DNS rebinding" in answer, (port, status, answer)
        assert b"agent_spans" not in answer
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "agent.localhost"):
            status, _, answer = http_request(port, method, path, body, {"Host": host})
            assert status != 403, (port, host, answer)


# -- 2. every string of the OTLP messages is redacted and capped ----------------------------------------
def _string_paths(descriptor, prefix: str = "", seen: tuple = ()) -> list[str]:
    """Every string field reachable from ``descriptor`` (AnyValue and KeyValue recursion cut at one level)."""
    paths = []
    for field in descriptor.fields:
        path = f"{prefix}.{field.name}" if prefix else field.name
        if field.type == FieldDescriptor.TYPE_STRING:
            paths.append(path)
            continue
        elif field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.full_name not in seen:
            paths += _string_paths(field.message_type, path, (*seen, field.message_type.full_name))
    return paths


def _repeated(field) -> bool:
    flag = getattr(field, "is_repeated", None)
    return flag if flag is not None else field.label == FieldDescriptor.LABEL_REPEATED


def _set_path(message, path: str, value: str) -> None:
    """Set the string at ``path`` (repeated messages get an element of their own, so every path is filled)."""
    head, _, rest = path.partition(".")
    field = message.DESCRIPTOR.fields_by_name[head]
    repeated = _repeated(field)
    if not rest:
        if repeated:
            getattr(message, head).append(value)
        else:
            setattr(message, head, value)
        return
    if repeated:
        child = getattr(message, head).add()
        if field.message_type.name == "KeyValue" and not rest.startswith("key"):
            child.key = "k"
    else:
        child = getattr(message, head)
    _set_path(child, rest, value)


def test_every_string_a_sender_controls_is_redacted_and_capped(served):
    serve, _, _ = served
    paths = _string_paths(TracesData.DESCRIPTOR)
    # the enumeration covers what the collector stores: a field added upstream shows up here
    assert "resource_spans.scope_spans.spans.trace_state" in paths
    assert "resource_spans.scope_spans.spans.links.trace_state" in paths
    assert "resource_spans.scope_spans.scope.version" in paths
    sent = 0
    for path in paths:
        data = TracesData()
        _set_path(data, path, f"token={TOKEN} in {path}")
        request = ExportTraceServiceRequest(resource_spans=data.resource_spans)
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    sent += 1
                    span.trace_id = sent.to_bytes(16, "big")
                    span.span_id = sent.to_bytes(8, "big")
                    span.start_time_unix_nano = span.end_time_unix_nano = time.time_ns()
        if not any(ss.spans for rs in request.resource_spans for ss in rs.scope_spans):
            span = request.resource_spans[0].scope_spans.add().spans.add() if request.resource_spans else None
            if span is None:
                continue
            sent += 1
            span.trace_id, span.span_id = sent.to_bytes(16, "big"), sent.to_bytes(8, "big")
            span.start_time_unix_nano = span.end_time_unix_nano = time.time_ns()
        _post_spans(serve, request)
    huge = ExportTraceServiceRequest()
    span = (
        huge.resource_spans.add()
        .scope_spans.add()
        .spans.add(
            trace_id=b"\xee" * 16,
            span_id=b"\xee" * 8,
            start_time_unix_nano=time.time_ns(),
            trace_state="x" * (20 << 20),
        )
    )
    span.end_time_unix_nano = span.start_time_unix_nano
    _post_spans(serve, huge)
    wait_for(lambda: _rows(serve, "SELECT count() AS n FROM otel_traces")[0]["n"] >= sent + 1, 60, "the spans")
    stored = _rows(serve, "SELECT * FROM otel_traces")
    leaked = [row for row in stored if TOKEN in json.dumps(row)]
    assert not leaked, leaked[:2]
    (capped,) = [row for row in stored if row["SpanId"] == "ee" * 8]
    assert len(capped["TraceState"]) < 2048


# -- 5. private by default ------------------------------------------------------------------------------
def test_store_and_spool_are_private_whatever_the_umask(served):
    _, home, _ = served
    exposed = []
    for root in (home / "store", home / "spool"):
        for path in [root, *root.rglob("*")]:
            if path.is_symlink():  # a link's own mode means nothing (the engine links tables to their data)
                continue
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077:
                exposed.append((str(path), oct(mode)))
    assert not exposed, exposed[:10]


# -- 6, 7. output is data, not control --------------------------------------------------------------------
def _evil_agent(serve: Serve) -> None:
    now = time.time_ns()
    attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": EVIL_NAME}
    request, _ = one_span_request(
        "invoke_agent evil",
        b"\xab" * 16,
        b"\xab" * 8,
        attributes,
        start_time_unix_nano=now,
        end_time_unix_nano=now + 1000,
    )
    _post_spans(serve, request)
    wait_for(lambda: _rows(serve, "SELECT count() AS n FROM agent_spans WHERE SpanId = 'abababababababab'")[0]["n"])


def _agentwatch(env: dict[str, str], serve: Serve, *args: str) -> str:
    store = {"AGENTWATCH_STORE": f"http://127.0.0.1:{serve.query_port}"}
    done = subprocess.run(
        [PYTHON, "-m", "agentwatch", *args], env={**env, **store}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def test_terminal_output_spells_out_control_characters(served):
    serve, _, env = served
    _evil_agent(serve)
    outputs = [
        _agentwatch(env, serve, "sql", "SELECT AgentName FROM agent_spans WHERE SpanId = 'abababababababab'"),
        _agentwatch(env, serve, "sql", "SELECT AgentName FROM agent_spans", "--format", "json"),
        _agentwatch(env, serve, "audit", "--window", "1h"),
        _agentwatch(env, serve, "audit", "--window", "1h", "--format", "json"),
    ]
    for out in outputs:
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out, out
        assert "\n# Fleet: READY" not in out
    assert "evil\\x1b]0;PWNED\\x07" in outputs[0]
    # CSV is data: piped it is left as it is, bound for a terminal it is spelled out like the table
    from agentwatch.output import render_rows

    assert "\x1b" in render_rows(["a"], [[EVIL_NAME]], "csv")
    assert "\x1b" not in render_rows(["a"], [[EVIL_NAME]], "csv", terminal=True)
    audit = json.loads(outputs[-1])
    assert any(agent["agent"] == EVIL_NAME for agent in audit["agents"])  # JSON keeps the data, escaped


def test_markdown_output_cannot_be_injected(served):
    serve, _, env = served
    _evil_agent(serve)
    markdown = _agentwatch(env, serve, "audit", "--window", "1h", "--format", "markdown")
    lines = markdown.splitlines()
    assert not [line for line in lines if line.startswith("# Fleet") or line.startswith("![")]
    assert not re.search(r"(?<!\\)!(?<!\\)\[", markdown), "an image Markdown would render"
    assert not re.search(r"(?<!\\)<img", markdown), "HTML Markdown would render"
    assert "\x1b" not in markdown


# -- 10. malformed parameters and bodies ------------------------------------------------------------------
def test_malformed_parameters_get_the_interfaces_own_errors(served):
    serve, home, _ = served
    status, headers, body = serve.request("GET", "/?query=SELECT+1&query_id=abc%0d%0aX:1")
    assert status == 400 and b"query_id" in body and "X" not in headers
    control = json.loads((home / "store" / CONTROL_FILE).read_text())
    port = int(control["url"].rsplit(":", 1)[1])
    auth = {"Authorization": f"Bearer {control['token']}", "Content-Type": "application/json"}
    cases = [
        ("detect", b"{}"),
        ("detect", b"[1, 2]"),
        ("detect", b'{"window": "abc", "baseline": 60}'),
        ("evaluate", b'{"since": "1e300"}'),
        ("evaluate", b'{"since": -5}'),
        ("detect", b"not json"),
    ]
    for operation, payload in cases:
        status, _, answer = http_request(port, "POST", f"/v1/{operation}", payload, auth)
        assert status in (400, 422), (operation, payload, status, answer)
        assert "error" in json.loads(answer)


# -- 8. system tables on an allow-list --------------------------------------------------------------------
def test_system_tables_other_clients_queries_live_in_are_refused(served):
    serve, _, _ = served
    refused = [
        "SELECT query FROM system.processes",
        "SELECT query FROM system.query_log",
        "SELECT * FROM system.parts",
        "SELECT * FROM view(SELECT query FROM system.processes)",
        "SELECT * FROM merge('system', 'processes')",
        "SHOW PROCESSLIST",
        "SHOW GRANTS",
        "DESCRIBE system.query_log",
        "EXISTS system.processes",
        "SHOW CREATE TABLE system.processes",
    ]
    for sql in refused:
        status, headers, body = serve.get(sql)
        assert status >= 400 and headers.get("X-ClickHouse-Exception-Code") in ("497", "164"), (sql, status, body)
    status, _, body = serve.get("SELECT * FROM processes", database="system")
    assert status >= 400 and b"system.processes" in body
    allowed = [
        "SELECT name FROM system.tables WHERE database = currentDatabase()",
        "SELECT name, type FROM system.columns WHERE table = 'agent_spans'",
        "SELECT name FROM system.databases",
        "SELECT count() FROM system.functions",
        "SHOW TABLES",
        "DESCRIBE agent_spans",
        "SELECT 1 FROM system.one",
    ]
    for sql in allowed:
        status, _, body = serve.get(sql)
        assert status == 200, (sql, body)


# -- 9. a fair share of the engine ------------------------------------------------------------------------
def test_heavy_queries_wait_their_turn_or_are_told_to_retry(served):
    """Eight heavy queries at once (max_threads=16): they take turns, each on the endpoint's thread cap; those that
    find no turn are answered 503 with Retry-After, and so is a SELECT 1 that finds none — never a minute's wait.
    (The latency and the collector's share under this load: bench/query_admission.py.)"""
    from concurrent.futures import ThreadPoolExecutor

    serve, _, _ = served
    heavy = {"max_threads": "16", "max_execution_time": "3"}
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(serve.get, "SELECT count() FROM numbers_mt(1e13)", **heavy) for _ in range(8)]
        time.sleep(0.5)
        probe = serve.get("SELECT 1")
        answers = [f.result() for f in futures]
    statuses = [status for status, _, _ in answers]
    assert statuses.count(503) >= 1, statuses
    assert all(headers.get("Retry-After") for status, headers, _ in answers if status == 503)
    assert all(status in (200, 408, 503) for status in statuses), [(s, b[:200]) for s, _, b in answers]
    assert probe[0] in (200, 503) and (probe[0] == 200 or probe[1].get("Retry-After")), probe
    assert serve.get("SELECT 1")[0] == 200  # the load is gone: answered at once
