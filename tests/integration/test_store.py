"""The store layer against real engines: errors are agentwatch's own, parameters are bound."""

import subprocess
import sys
import time

import pytest

from agentwatch.config import configure
from agentwatch.errors import QueryError, StoreError, StoreLockedError, StoreUnreachableError
from agentwatch.store import open_store


def test_parameters_are_bound_not_formatted(store):
    hostile = "x'); DROP TABLE agent_spans; --"
    assert store.query("SELECT {v:String}", {"v": hostile}).result_rows == [(hostile,)]
    assert store.table_exists("agent_spans")


def test_query_errors_carry_code_name_and_sql_file(store):
    with pytest.raises(QueryError) as info:
        store.query("SELECT no_such_column FROM agent_spans", sql_name="sql/queries/example.sql")
    err = info.value
    assert err.code == 47 and err.name == "UNKNOWN_IDENTIFIER"
    assert str(err).startswith("[sql/queries/example.sql] ")


def test_missing_database_says_to_run_init(engine_path):
    config = configure(store=f"chdb://{engine_path}", database="never_created")
    with pytest.raises(StoreError, match="run: agentwatch db init"):
        open_store(config)


def test_unreachable_server(port):
    with pytest.raises(StoreUnreachableError, match=rf"cannot reach ClickHouse at http://127.0.0.1:{port}"):
        open_store(configure(store=f"http://127.0.0.1:{port}"))


def test_locked_embedded_store_names_the_holder(tmp_path):
    path = tmp_path / "held"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, clickhouse_connect; client = clickhouse_connect.get_client(dsn=sys.argv[1]); "
            "print('open', flush=True); sys.stdin.read()",
            f"chdb://{path}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreLockedError) as info:
            open_store(configure(store=f"chdb://{path}"))
        assert info.value.pid == holder.pid
        assert "python" in (info.value.command or "")
        assert f"process {holder.pid}" in str(info.value)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_second_path_in_one_process_is_explained(tmp_path, store):
    with pytest.raises(StoreError, match="one process can open one embedded store at a time"):
        open_store(configure(store=f"chdb://{tmp_path / 'other'}"), create=True)


def test_unusable_embedded_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    start = time.monotonic()
    with pytest.raises(StoreUnreachableError, match="cannot create the embedded store directory"):
        open_store(configure(store=f"chdb://{blocker}/store"), create=True)  # as db init and serve open it
    assert time.monotonic() - start < 30
