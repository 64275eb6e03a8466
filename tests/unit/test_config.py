import pytest

from agentwatch.config import Config, configure, get_config, parse_duration, settings_table
from agentwatch.dsn import parse_store_dsn
from agentwatch.errors import ConfigError


def test_defaults_use_an_embedded_store_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    config = configure()
    assert config.store == f"chdb://{tmp_path}/agentwatch/store"
    assert config.database == "agentwatch"
    assert config.endpoint == "http://127.0.0.1:4318"
    assert get_config() is config


def test_keywords_beat_environment_beat_defaults():
    env = {"AGENTWATCH_DATABASE": "from_env", "OTEL_SERVICE_NAME": "svc"}
    assert configure(environ=env).database == "from_env"
    assert configure(environ=env, database="from_kw").database == "from_kw"
    assert configure(environ=env).service_name == "svc"


def test_standard_otel_names_and_agentwatch_alternatives():
    assert configure(environ={"AGENTWATCH_SERVICE_NAME": "a"}).service_name == "a"
    assert configure(environ={"OTEL_SERVICE_NAME": "b", "AGENTWATCH_SERVICE_NAME": "a"}).service_name == "b"
    off = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false"}
    assert configure(environ=off).capture_content is False


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"AGENTWATCH_TRACES_RETENTION_DAYS": "abc"}, "AGENTWATCH_TRACES_RETENTION_DAYS"),
        ({"AGENTWATCH_TRACES_RETENTION_DAYS": "0"}, "AGENTWATCH_TRACES_RETENTION_DAYS"),
        ({"AGENTWATCH_CAPTURE_CONTENT": "maybe"}, "AGENTWATCH_CAPTURE_CONTENT"),
        ({"AGENTWATCH_DATABASE": "drop table; --"}, "AGENTWATCH_DATABASE"),
        ({"AGENTWATCH_CLUSTER": "a b"}, "AGENTWATCH_CLUSTER"),
        ({"AGENTWATCH_STORE": "postgres://x"}, "AGENTWATCH_STORE"),
        ({"AGENTWATCH_LOG_LEVEL": "loud"}, "AGENTWATCH_LOG_LEVEL"),
    ],
)
def test_invalid_values_fail_naming_the_setting(env, setting):
    with pytest.raises(ConfigError) as info:
        configure(environ=env)
    assert info.value.setting == setting
    assert str(info.value).startswith(f"{setting}: ")


def test_invalid_keyword_names_the_keyword_and_suggests():
    with pytest.raises(ConfigError, match="did you mean 'database'"):
        configure(databse="x")
    with pytest.raises(ConfigError) as info:
        configure(traces_retention_days="x")
    assert info.value.setting == "traces_retention_days"


def test_configure_is_keyword_only():
    with pytest.raises(TypeError):
        configure("chdb:///x")  # type: ignore[misc]


def test_settings_table_documents_every_field():
    rows = settings_table()
    assert {r["name"] for r in rows} == set(Config.__dataclass_fields__)
    for row in rows:
        assert row["env"].startswith(("AGENTWATCH_", "OTEL_")), row
        assert row["doc"].endswith("."), row


def test_readme_lists_every_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [r["env"] for r in settings_table() if f"`{r['env']}`" not in readme]
    assert not missing, f"README configuration table lacks {missing}"


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h", 3600), ("250ms", 0.25)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("http://ch:8123", dict(kind="http", host="ch", port=8123, secure=False, username="default")),
        (
            "https://u:p%40ss@ch.example",
            dict(kind="http", host="ch.example", port=8443, secure=True, username="u", password="p@ss"),
        ),
        ("HTTP://ch", dict(kind="http", host="ch", port=8123)),
    ],
)
def test_server_dsns(dsn, expected):
    parsed = parse_store_dsn(dsn)
    for key, value in expected.items():
        assert getattr(parsed, key) == value
    assert "p@ss" not in parsed.redacted()


def test_embedded_dsn_resolves_the_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_store_dsn("chdb://./s").path == str(tmp_path / "s")
    assert parse_store_dsn(f"chdb://{tmp_path}/x").path == str(tmp_path / "x")
    assert parse_store_dsn(f"chdb://{tmp_path}/x").embedded


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("", "is empty"),
        ("/var/lib/store", "no scheme"),
        ("mysql://h", "unsupported scheme 'mysql'"),
        ("chdb://", "needs a path"),
        ("http://", "no host"),
        ("http://h:notaport", "invalid port"),
    ],
)
def test_bad_dsns(dsn, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_store_dsn(dsn)
    assert info.value.setting == "AGENTWATCH_STORE"


def test_embedded_path_that_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        parse_store_dsn(f"chdb://{target}")


@pytest.mark.parametrize("patterns", ["(", "a(?=b)", r"(x)\1", "fine;;[unclosed"])
def test_redaction_patterns_that_cannot_work_are_refused_naming_the_setting(patterns):
    with pytest.raises(ConfigError, match="AGENTWATCH_REDACT_PATTERNS"):
        configure(environ={"AGENTWATCH_REDACT_PATTERNS": patterns})
    assert configure(environ={"AGENTWATCH_REDACT_PATTERNS": r"internal-[0-9]{6};;(?i:acme)-\d+"}).redact_patterns


@pytest.mark.parametrize(
    "variable, field",
    [
        ("AGENTWATCH_COLLECTOR_HTTP", "collector_http"),
        ("AGENTWATCH_COLLECTOR_GRPC", "collector_grpc"),
        ("AGENTWATCH_QUERY_HTTP", "query_http"),
        ("AGENTWATCH_CONTROL_HTTP", "control_http"),
    ],
)
def test_a_listener_set_to_empty_is_off_and_unset_is_its_default(variable, field):
    """Issue 34 item 5: the table said "empty: off", but AGENTWATCH_QUERY_HTTP= serve listened on 8123."""
    assert getattr(configure(environ={variable: ""}), field) == ""
    assert getattr(configure(environ={}), field) != ""
    assert getattr(configure(environ={variable: "127.0.0.1:9999"}), field) == "127.0.0.1:9999"


def test_other_settings_set_to_empty_keep_their_default():
    assert configure(environ={"AGENTWATCH_DATABASE": ""}).database == "agentwatch"


def test_instrumentation_failures_are_raised_only_when_asked_not_inside_any_pytest_run():
    """Issue 35: the instrumentation read PYTEST_CURRENT_TEST, so inside a *user's* pytest run agentwatch raised its
    own failures into their tests. It is an explicit setting now, and no product code reads that variable."""
    from pathlib import Path

    from agentwatch.config import setting_from_env

    assert setting_from_env("raise_instrumentation_errors", {"PYTEST_CURRENT_TEST": "test_x.py::t (call)"}) is False
    assert setting_from_env("raise_instrumentation_errors", {"AGENTWATCH_RAISE_INSTRUMENTATION_ERRORS": "1"}) is True
    root = Path(__file__).resolve().parents[2]
    readers = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "tests" not in p.parts and p.is_file() and 'PYTEST_CURRENT_TEST"' in p.read_text(errors="ignore")
    ]
    assert not readers, readers
