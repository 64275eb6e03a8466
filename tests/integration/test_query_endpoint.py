"""The ClickHouse HTTP query endpoint over the embedded store, driven by real clients: clickhouse_connect's HTTP
client, raw HTTP (http.client) and curl."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import clickhouse_connect
import pytest

from .running import RunningEndpoint, run_agentwatch
from .spans import insert_spans, otel_row


def _seed(store) -> None:
    rows = [
        otel_row(
            f"{i:016x}",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "lookup" if i % 2 else "search",
                "gen_ai.conversation.id": "s-1" if i < 6 else "s-2",
                "gen_ai.agent.name": "support",
            },
            trace_id=f"{i % 3:032x}",
            name="execute_tool lookup",
        )
        for i in range(10)
    ]
    insert_spans(store, rows)


@pytest.fixture
def running(store):
    _seed(store)
    running = RunningEndpoint(store)
    yield running
    running.stop()


def test_clickhouse_connect_queries_with_parameters_dataframes_and_native(running, store):
    client = clickhouse_connect.get_client(host="127.0.0.1", port=running.port)
    try:
        result = client.query(
            "SELECT ToolName, count() AS calls FROM agent_spans WHERE SessionId = {session:String} "
            "GROUP BY ToolName ORDER BY ToolName",
            parameters={"session": "s-1"},
        )
        assert result.result_rows == [("lookup", 3), ("search", 3)]
        frame = client.query_df(
            "SELECT SpanId, ToolName, Timestamp FROM agent_spans WHERE ToolName IN {tools:Array(String)} "
            "ORDER BY SpanId",
            parameters={"tools": ["lookup"]},
        )
        assert list(frame.columns) == ["SpanId", "ToolName", "Timestamp"] and len(frame) == 5
        assert str(frame["Timestamp"].dtype).startswith("datetime64")
        native = client.raw_query("SELECT count() AS c FROM agent_spans", fmt="Native")
        # one Native block: 1 column, 1 row, column "c" of type UInt64, the value 10 little-endian
        assert native == b"\x01\x01\x01c\x06UInt64" + (10).to_bytes(8, "little")
        assert client.command("SELECT count() FROM agent_spans") == 10
        # settings per query: the endpoint runs queries read-only (readonly=1), so clickhouse-connect sees its settings
        # as read-only and refuses to send them unless told to; sent, they apply (and only lower the limits)
        from clickhouse_connect import common

        common.set_setting("invalid_setting_action", "send")
        try:
            with pytest.raises(clickhouse_connect.driver.exceptions.DatabaseError, match="TOO_MANY_ROWS_OR_BYTES"):
                client.query("SELECT number FROM numbers(10)", settings={"max_result_rows": 2})
            assert client.query("SELECT number FROM numbers(2)", settings={"max_threads": 1}).result_rows == [
                (0,),
                (1,),
            ]
        finally:
            common.set_setting("invalid_setting_action", "error")
        # a second database by name, and the system tables
        other = clickhouse_connect.get_client(host="127.0.0.1", port=running.port, database="system")
        assert other.query("SELECT count() FROM one").result_rows == [(1,)]
        other.close()
    finally:
        client.close()


def test_agentwatch_commands_read_through_the_endpoint(running, store, cli_env):
    env = dict(cli_env, AGENTWATCH_STORE=f"http://127.0.0.1:{running.port}", AGENTWATCH_DATABASE=store.database)
    out = run_agentwatch(
        env,
        "sql",
        "SELECT ToolName, count() AS n FROM agent_spans WHERE SessionId = {s:String} GROUP BY ToolName "
        "ORDER BY ToolName",
        "--param",
        "s=s-2",
        "--format",
        "json",
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"ToolName": "lookup", "n": 2}, {"ToolName": "search", "n": 2}]
    timeline = run_agentwatch(  # a shipped investigation query, its parameter bound by the endpoint
        env, "sql", "--query", "session_timeline", "--param", "session=s-2", "--format", "json", check=False
    )
    assert timeline.returncode == 0, timeline.stderr
    assert [step["what"] for step in json.loads(timeline.stdout)] == ["search", "lookup", "search", "lookup"]


def test_raw_http_formats_headers_and_the_query_in_url_body_or_both(running, store):
    status, headers, body = running.get("SELECT ToolName, count() AS n FROM agent_spans GROUP BY ToolName ORDER BY 1")
    assert status == 200 and body == b"lookup\t5\nsearch\t5\n"
    assert headers["X-ClickHouse-Format"] == "TabSeparated"
    assert headers["Content-Type"].startswith("text/tab-separated-values")
    summary = json.loads(headers["X-ClickHouse-Summary"])
    assert summary["result_rows"] == "2" and int(summary["elapsed_ns"]) > 0
    assert headers["X-ClickHouse-Query-Id"] and headers["X-ClickHouse-Timezone"]
    status, headers, body = running.get("SELECT number FROM numbers(20000)")  # streamed in several blocks
    summary = json.loads(headers["X-ClickHouse-Summary"])
    assert (status, summary["result_rows"], summary["read_rows"]) == (200, "20000", "20000")
    assert summary["result_bytes"] == str(len(body))

    status, headers, body = running.post("SELECT count() AS n FROM agent_spans FORMAT JSONEachRow")
    assert (status, body) == (200, b'{"n":10}\n') and headers["X-ClickHouse-Format"] == "JSONEachRow"

    status, headers, body = running.post("FORMAT CSVWithNames", query="SELECT 1 AS a, 'x' AS b")  # URL + body
    assert (status, body) == (200, b'"a","b"\n1,"x"\n')

    status, headers, body = running.get("SELECT 2 AS n", default_format="JSONCompact", query_id="q-42")
    assert json.loads(body)["data"] == [[2]] and headers["X-ClickHouse-Query-Id"] == "q-42"
    assert headers["Content-Type"].startswith("application/json")

    status, _, body = running.get(
        "SELECT {s:String} AS s, {n:UInt8} + 1 AS n, {a:Array(UInt8)} AS a", param_s="it's\\ta", param_n="41"
    )
    assert (status, body) == (  # a missing parameter: ClickHouse's status for it is 500
        500,
        f"Code: 456. DB::Exception: Substitution `a` is not set. (UNKNOWN_QUERY_PARAMETER) "
        f"(version {running.endpoint.version})\n".encode(),
    )
    status, _, body = running.get(
        "SELECT {s:String} AS s, {n:UInt8} + 1 AS n, {a:Array(UInt8)} AS a",
        param_s="it's\\ta",
        param_n="41",
        param_a="[1,2]",
        default_format="JSONEachRow",
    )
    assert json.loads(body) == {"s": "it's\ta", "n": 42, "a": [1, 2]}

    status, _, body = running.get("SELECT number FROM numbers(3)", database="system")
    assert body == b"0\n1\n2\n"
    assert running.request("GET", "/ping")[2] == b"Ok.\n"
    assert running.request("GET", "/")[2] == b"Ok.\n"


def test_settings_as_url_parameters_and_compressed_answers(running):
    status, _, body = running.get(
        "SELECT toUInt64(5) AS n FORMAT JSONEachRow", output_format_json_quote_64bit_integers="1"
    )
    assert body == b'{"n":"5"}\n'
    status, headers, body = running.get("SELECT * FROM numbers(10)", max_result_rows="3")  # asking for less: honoured
    assert status == 500 and headers["X-ClickHouse-Exception-Code"] == "396"
    wide = "SELECT " + ", ".join(f"number + {i} AS c{i}" for i in range(30)) + " FROM numbers(2)"
    assert running.get(wide, max_result_rows="2")[0] == 200  # the endpoint's own checks are not held to it
    status, headers, body = running.request(
        "GET",
        "/?" + urllib.parse.urlencode({"query": "SELECT number FROM numbers(5000)", "enable_http_compression": "1"}),
        headers={"Accept-Encoding": "gzip"},
    )
    assert headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(body).splitlines()[-1] == b"4999"
    status, _, body = running.post(
        "", headers={"Content-Encoding": "gzip"}, query="SELECT 1"
    )  # gzip body with nothing in it is fine
    assert status == 200
    status, headers, body = running.request(  # a compression level that is not a number: the default, not a 500
        "GET",
        "/?"
        + urllib.parse.urlencode(
            {
                "query": "SELECT number FROM numbers(5000)",
                "enable_http_compression": "1",
                "http_zlib_compression_level": "x",
            }
        ),
        headers={"Accept-Encoding": "gzip"},
    )
    assert status == 200 and gzip.decompress(body).splitlines()[-1] == b"4999"
    packed = gzip.compress(b"SELECT 7")
    status, _, body = running.request("POST", "/", packed, {"Content-Encoding": "gzip"})
    assert (status, body) == (200, b"7\n")


def test_writes_and_host_access_are_refused_and_change_nothing(running, store, tmp_path):
    outfile = tmp_path / "leak.tsv"
    refused = {
        "INSERT INTO agent_spans (SpanId) VALUES ('x')": "READONLY",
        "CREATE TABLE evil (x UInt8) ENGINE = Memory": "READONLY",
        "DROP TABLE otel_traces": "READONLY",
        "ALTER TABLE otel_traces DELETE WHERE 1": "READONLY",
        "TRUNCATE TABLE otel_traces": "READONLY",
        "SET readonly = 0": "READONLY",
        "USE system": "READONLY",
        "SYSTEM FLUSH LOGS": "READONLY",
        "OPTIMIZE TABLE otel_traces FINAL": "READONLY",
        "SELECT 1; DROP TABLE otel_traces": "SYNTAX_ERROR",
        "SELECT 1 SETTINGS max_result_rows = 0": "READONLY",
        f"SELECT 1 INTO OUTFILE '{outfile}'": "ACCESS_DENIED",
        "SELECT file('/etc/hostname')": "ACCESS_DENIED",
        "SELECT * FROM file('/etc/hostname', 'LineAsString')": "ACCESS_DENIED",
        # not an allowed table function
        "SELECT * FROM url('http://127.0.0.1:9/x', 'CSV', 'a String')": "ACCESS_DENIED",
        "DESCRIBE TABLE file('/etc/hostname', 'LineAsString')": "ACCESS_DENIED",
    }
    for sql, name in refused.items():
        for status, headers, body in (running.post(sql), running.get(sql)):
            assert f"({name})".encode() in body, (sql, body)
            assert (
                body.startswith(b"Code: ")
                and headers["X-ClickHouse-Exception-Code"] == body[6:].split(b".")[0].decode()
            )
            assert status in (400, 500), (sql, status)
    assert not outfile.exists()
    assert running.get("SELECT count() FROM agent_spans")[2] == b"10\n"
    assert running.get("EXISTS TABLE evil")[2] == b"0\n"
    for allowed in ("SHOW TABLES", "DESCRIBE TABLE agent_spans", "EXPLAIN SELECT 1", "EXISTS TABLE agent_spans"):
        assert running.get(allowed)[0] == 200, allowed
    client = clickhouse_connect.get_client(host="127.0.0.1", port=running.port)
    try:
        with pytest.raises(clickhouse_connect.driver.exceptions.DatabaseError, match="READONLY"):
            client.command("DROP TABLE agent_spans")
    finally:
        client.close()


def test_credentials_basic_auth_headers_and_url(store):
    _seed(store)
    running = RunningEndpoint(store, query_user="grafana", query_password="s3cret")
    try:
        status, headers, body = running.get("SELECT 1")
        assert status == 403 and headers["X-ClickHouse-Exception-Code"] == "516" and b"AUTHENTICATION_FAILED" in body
        assert running.get("SELECT 1", user="grafana", password="wrong")[0] == 403
        assert running.get("SELECT 1", user="grafana", password="s3cret")[2] == b"1\n"
        basic = base64.b64encode(b"grafana:s3cret").decode()
        assert running.request("GET", "/?query=SELECT+2", headers={"Authorization": f"Basic {basic}"})[2] == b"2\n"
        headers = {"X-ClickHouse-User": "grafana", "X-ClickHouse-Key": "s3cret"}
        assert running.request("POST", "/", b"SELECT 3", headers)[2] == b"3\n"
        assert running.request("GET", "/?query=SELECT+2", headers={"Authorization": "Basic !!"})[0] == 403
        assert running.request("GET", "/ping")[0] == 200  # health checks need no credentials, as in ClickHouse
        client = clickhouse_connect.get_client(
            host="127.0.0.1", port=running.port, username="grafana", password="s3cret"
        )
        assert client.command("SELECT count() FROM agent_spans") == 10
        client.close()
        with pytest.raises(clickhouse_connect.driver.exceptions.DatabaseError, match="516"):
            clickhouse_connect.get_client(host="127.0.0.1", port=running.port, username="grafana", password="x")
    finally:
        running.stop()


def test_results_and_time_are_bounded(store):
    running = RunningEndpoint(store, query_max_result_rows=100, query_max_result_bytes=64 << 10, query_timeout=1.0)
    try:
        status, headers, body = running.get("SELECT number FROM numbers(1000)")
        assert status == 500 and headers["X-ClickHouse-Exception-Code"] == "396"
        status, headers, body = running.get("SELECT number FROM numbers(1000)", max_result_rows="0")  # no way around
        assert headers["X-ClickHouse-Exception-Code"] == "396"
        status, headers, body = running.get("SELECT number FROM numbers(1000)", max_result_rows="100000")
        assert headers["X-ClickHouse-Exception-Code"] == "396"
        status, headers, body = running.get("SELECT repeat('x', 1000) FROM numbers(90)")  # 90 KB > 64 KiB
        assert headers["X-ClickHouse-Exception-Code"] == "396", body
        status, headers, body = running.get("SELECT number FROM numbers(50)")
        assert status == 200 and len(body.splitlines()) == 50
        status, headers, body = running.get("SELECT count() FROM numbers(100000000000) WHERE cityHash64(number) = 1")
        assert (status, headers["X-ClickHouse-Exception-Code"]) == (408, "159"), body  # TIMEOUT_EXCEEDED
    finally:
        running.stop()


def test_malformed_requests_get_clickhouse_errors(running):
    cases = [
        (running.get("SELEC 1"), 400, "62"),
        (running.post(""), 400, "62"),
        (running.get("SELECT * FROM no_such_table"), 404, "60"),
        (running.get("SELECT 1", database="no_such_db"), 404, "81"),
        (running.get("SELECT 1", database="bad name"), 404, "81"),
        (running.get("SELECT 1", no_such_setting="1"), 404, "115"),
        (running.get("SELECT 1", max_threads="1'; DROP TABLE x"), 400, "36"),
        (running.get("SELECT 1", compress="1"), 501, "48"),
        (running.get("SELECT {n:UInt8}", param_n="x"), 500, "457"),
        (running.request("POST", "/", b"\x1f\x8b garbage", {"Content-Encoding": "gzip"}), 400, "27"),
        (running.request("POST", "/", b"SELECT 1", {"Content-Encoding": "br"}), 400, "36"),
        (running.request("POST", "/", b"SELECT '" + b"x" * (2 << 20) + b"'"), 413, "229"),
        (running.request("POST", "/", gzip.compress(b" " * (4 << 20)), {"Content-Encoding": "gzip"}), 413, "229"),
        (running.request("POST", "/", b"SELECT '\xff'"), 400, "36"),
    ]
    for (status, headers, body), want_status, want_code in cases:
        assert (status, headers.get("X-ClickHouse-Exception-Code")) == (want_status, want_code), body
        assert body.startswith(f"Code: {want_code}. DB::Exception: ".encode()) and b"(version " in body
    assert running.request("GET", "/no/such/path")[0] == 404
    assert running.get("SELECT 1")[2] == b"1\n"  # still serving


def test_concurrent_clients(running):
    def ask(i: int) -> bytes:
        return running.get(f"SELECT {i} + count() FROM agent_spans")[2]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(32)))
    assert answers == [f"{i + 10}\n".encode() for i in range(32)]


def test_curl(running):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    url = f"http://127.0.0.1:{running.port}/"
    out = subprocess.run(
        [curl, "-sS", url, "--data-binary", "SELECT ToolName, count() FROM agent_spans GROUP BY 1 ORDER BY 1"],
        capture_output=True,
        check=True,
    )
    assert out.stdout == b"lookup\t5\nsearch\t5\n"
    out = subprocess.run(
        [curl, "-sS", "-G", url, "--data-urlencode", "query=SELECT {n:UInt8} * 2", "-d", "param_n=21"],
        capture_output=True,
        check=True,
    )
    assert out.stdout == b"42\n"
    out = subprocess.run(
        [curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", url, "--data-binary", "DROP TABLE agent_spans"],
        capture_output=True,
        check=True,
    )
    assert out.stdout == b"500"


def test_an_internal_fault_is_still_a_clickhouse_error(running, monkeypatch):
    def broken(request):
        raise RuntimeError("simulated fault")  # what no request can provoke on purpose

    monkeypatch.setattr(running.endpoint.engine, "run", broken)
    status, headers, body = running.get("SELECT 1")
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (500, "1001")
    assert body.startswith(b"Code: 1001. DB::Exception: agentwatch query endpoint: simulated fault")
