"""The agentwatch command in a subprocess, as a user runs it."""

import json
import signal
import subprocess

import pytest

from ..conftest import PYTHON
from .running import run_agentwatch

run = run_agentwatch


def test_init_then_query_the_embedded_store(cli_env):
    first = run(cli_env, "db", "init")
    assert "Applied" in first.stdout and "agent_spans" in first.stdout
    again = run(cli_env, "db", "init")
    assert "up to date" in again.stdout
    counted = run(cli_env, "sql", "SELECT count() FROM agent_spans", "--format", "json")
    assert json.loads(counted.stdout) == [{"count()": 0}]
    status = run(cli_env, "db", "status")
    assert "pending" not in status.stdout and "alerts" in status.stdout
    bound = run(cli_env, "sql", "SELECT {who:String} AS who", "--param", "who=o'brien", "--format", "csv")
    assert bound.stdout.splitlines() == ["who", "o'brien"]


def test_errors_are_one_clear_line_and_a_non_zero_exit(cli_env):
    before_init = run(cli_env, "sql", "SELECT 1", check=False)
    assert before_init.returncode == 1
    assert "run: agentwatch db init" in before_init.stderr
    bad_dsn = run(cli_env, "sql", "SELECT 1", "--store", "mysql://x", check=False)
    assert bad_dsn.returncode == 2
    assert "--store: unsupported scheme 'mysql'" in bad_dsn.stderr  # the option that gave it, not a variable
    run(cli_env, "db", "init")
    bad_sql = run(cli_env, "sql", "SELEC 1", check=False)
    assert bad_sql.returncode == 1 and "SYNTAX_ERROR" in bad_sql.stderr
    assert "Traceback" not in bad_sql.stderr


@pytest.mark.parametrize("command", [[], ["version"], ["db"], ["db", "init"], ["db", "status"], ["sql"]])
def test_every_command_has_help(cli_env, command):
    out = run(cli_env, *command, "--help")
    assert "usage: agentwatch" in out.stdout
    if command[-1:] in (["init"], ["status"], ["sql"]):
        assert "--store" in out.stdout


def test_version(cli_env):
    assert run(cli_env, "version").stdout.startswith("agentwatch ")


def test_sql_takes_a_trailing_format_as_clickhouse_client_does(cli_env):
    """Observed: `agentwatch sql "… FORMAT Vertical"` gave a syntax error."""
    subprocess.run([PYTHON, "-m", "agentwatch", "db", "init"], env=cli_env, check=True, capture_output=True)
    out = subprocess.run(
        [PYTHON, "-m", "agentwatch", "sql", "SELECT 1 AS one, 'x' AS two FORMAT Vertical"],
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[:4] == ["Row 1:", "──────", "one: 1", "two: x"]
    bad = subprocess.run(
        [PYTHON, "-m", "agentwatch", "sql", "SELECT 1 FORMAT Template"], env=cli_env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "Template is not one of" in bad.stderr


def test_an_agent_only_install_names_the_extra_the_pipeline_needs(cli_env):
    """Observed: `pip install agentwatch` then `agentwatch demo`/`serve` ended in "No module named 'yaml'"."""
    # serve would refuse before listening; its listeners are switched off all the same (never the default ports)
    for command in (["demo"], ["serve", "--http", "", "--grpc", "", "--query-http", ""]):
        code = f"import sys; sys.modules['yaml'] = None; from agentwatch.cli import main; main({command!r})"
        out = subprocess.run([PYTHON, "-c", code], env=cli_env, capture_output=True, text=True, timeout=60)
        assert "pip install 'agentwatch[server]'" in out.stderr and "Traceback" not in out.stderr, out.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("sql", "SELECT number, repeat('x', 100) AS pad FROM numbers(200000)", "--format", "json"),
        ("sql", "SELECT number FROM numbers(200000)"),
        ("config", "--format", "json"),
    ],
)
def test_a_pipe_closed_early_is_no_error(cli_env, args):
    """`agentwatch … | head -2`: the reader stops reading; no BrokenPipeError traceback (issue 34, item 2)."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "agentwatch", "db", "init"], env=cli_env, capture_output=True, check=True)
    command = " ".join(["'" + a.replace("'", "'\\''") + "'" for a in (sys.executable, "-m", "agentwatch", *args)])
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -2"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert len(done.stdout.splitlines()) == 2


def test_a_read_only_command_on_a_mistyped_store_path_creates_nothing(cli_env, tmp_path):
    """`agentwatch sql --store chdb:///no/such/dir/store …` says there is no store there and leaves no directory
    behind (issue 34, item 4)."""
    missing = tmp_path / "no" / "such" / "dir" / "store"
    done = run(cli_env, "sql", "--store", f"chdb://{missing}", "SELECT 1", check=False)
    assert done.returncode == 1 and "there is no embedded store at" in done.stderr, done.stderr
    assert "run: agentwatch db init" in done.stderr
    assert not (tmp_path / "no").exists()


def test_a_mistyped_agentwatch_variable_is_named_with_the_closest_setting(cli_env):
    """#34 item 3: AGENTWATCH_COLECTOR_HTTP was ignored without a word (serve fell back to 4318)."""
    env = {**cli_env, "AGENTWATCH_COLECTOR_HTTP": "127.0.0.1:14318"}
    out = run(env, "config")
    assert "AGENTWATCH_COLECTOR_HTTP is not an agentwatch setting (did you mean AGENTWATCH_COLLECTOR_HTTP?)" in (
        out.stderr
    )
    assert out.stderr.count("AGENTWATCH_COLECTOR_HTTP") == 1, "said once"


def test_the_rules_file_is_a_setting(cli_env, tmp_path):
    """#34 item 9: AGENTWATCH_RULES was read outside the settings table, missing from `agentwatch config`."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("channels:\n  log: {type: log}\nrules:\n  - {name: runaway_loop, enabled: false}\n")
    out = run({**cli_env, "AGENTWATCH_RULES": str(rules)}, "config", "--format", "json")
    assert str(rules) in out.stdout and "AGENTWATCH_RULES" in out.stdout
    assert out.stderr == ""


def test_the_scripted_llm_server_is_a_command(cli_env):
    """#34 item 8: the fastest way to try agentwatch without an API key was an in-process test class."""
    import openai

    from ..conftest import free_port

    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "agentwatch", "llm-server", "--port", str(port)],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/v1" in line, line
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)
        answer = client.chat.completions.create(model="any", messages=[{"role": "user", "content": "hello there"}])
        assert answer.choices[0].message.content == "You said: hello there"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_a_silence_is_counted_and_lifted_from_the_command_line(cli_env):
    """#34 item 3: silences listed (alerts list), counted and lifted."""
    run(cli_env, "db", "init")
    made = run(cli_env, "alerts", "silence", "--match", "rule=runaway_loop", "--for", "2h")
    assert "(0 firing now; lift it with: agentwatch alerts unsilence " in made.stdout, made.stdout
    silence = made.stdout.split()[1].rstrip(":")
    assert f"silence {silence}:" in run(cli_env, "alerts", "list").stdout
    typo = run(cli_env, "alerts", "silence", "--match", "sesion_id=nc-loop", check=False)
    assert typo.returncode == 2 and "did you mean 'session_id'" in typo.stderr
    assert run(cli_env, "alerts", "unsilence", silence).stdout.startswith(f"silence {silence} lifted")
    assert f"silence {silence}:" not in run(cli_env, "alerts", "list").stdout
    again = run(cli_env, "alerts", "unsilence", silence, check=False)
    assert again.returncode == 1 and "no silence" in again.stderr


def test_a_store_without_a_scheme_names_the_option_that_gave_it_and_the_address_meant(cli_env):
    """Issue 34 item 7: `--store ./store` was blamed on AGENTWATCH_STORE."""
    given = run(cli_env, "sql", "SELECT 1", "--store", "./store", check=False)
    assert given.returncode == 2 and given.stderr.startswith("agentwatch: configuration error: --store:"), given.stderr
    assert "chdb://./store" in given.stderr and "AGENTWATCH_STORE" not in given.stderr
    by_variable = run(dict(cli_env, AGENTWATCH_STORE="./store"), "sql", "SELECT 1", check=False)
    assert "AGENTWATCH_STORE: './store' has no scheme" in by_variable.stderr


def test_an_unreachable_server_is_one_line(cli_env):
    """Issue 34 item 7: two urllib3/clickhouse_connect WARNING lines came before the clean error."""
    from ..conftest import free_port

    out = run(cli_env, "sql", "SELECT 1", "--store", f"http://127.0.0.1:{free_port()}", check=False)
    assert out.returncode == 1 and out.stderr.strip().splitlines() == [out.stderr.strip().splitlines()[0]], out.stderr
    assert "cannot reach ClickHouse" in out.stderr and "WARNING" not in out.stderr


def test_a_shipped_query_says_what_it_needs_and_a_misspelled_one_what_there_is(cli_env):
    """Issue 34 item 7: a missing parameter printed ClickHouse's raw "Substitution 'days' is not set"; a misspelled
    query name listed nothing."""
    run(cli_env, "db", "init")
    missing = run(cli_env, "sql", "--query", "expensive_sessions", "--param", "agent=support", check=False)
    assert missing.returncode == 2 and "Substitution" not in missing.stderr, missing.stderr
    assert "needs --param days=…, --param limit=…" in missing.stderr and "for example: agentwatch sql" in missing.stderr
    typo = run(cli_env, "sql", "--query", "expensive_session", check=False)
    assert typo.returncode == 2 and "did you mean 'expensive_sessions'" in typo.stderr, typo.stderr
    assert "trace_tree" in typo.stderr  # the shipped ones are listed
    extra = run(cli_env, "sql", "--query", "trace_tree", "--param", "trace=x", "--param", "dayz=1", check=False)
    assert extra.returncode == 2 and "takes no dayz" in extra.stderr
    assert run(cli_env, "sql", "--query", "trace_tree", "--param", "trace=x").returncode == 0


def test_evaluate_says_when_everything_was_already_evaluated(cli_env):
    """Issue 34 item 7: `evaluate --since 1h` said "0 answers" when serve had already scored them all."""
    from agentwatch.config import configure
    from agentwatch.store import open_store

    from .spans import insert_spans
    from .test_evaluators import agent_trace

    run(cli_env, "db", "init")
    store = open_store(configure(store=cli_env["AGENTWATCH_STORE"]))
    try:
        insert_spans(store, agent_trace("a" * 32, "Where is A-1?", "A-1 shipped with DHL.", '{"carrier": "DHL"}'))
    finally:
        store.close()
    first = run(cli_env, "evaluate", "--since", "1h")
    assert first.stdout.startswith("heuristic: 1 answers"), first.stdout
    again = run(cli_env, "evaluate", "--since", "1h")
    assert "heuristic: 0 answers" in again.stdout
    assert "its 1 answer(s) were already evaluated by heuristic" in again.stdout, again.stdout


def test_the_log_channel_is_described_as_what_it_does():
    """Issue 34 item 7: default_rules.yaml called the log channel "agentwatch's log"; it writes JSON to stdout."""
    from importlib import resources

    text = resources.files("agentwatch.alerts").joinpath("default_rules.yaml").read_text()
    assert "log (agentwatch's log)" not in text and "JSON line per notification on agentwatch's standard output" in text
