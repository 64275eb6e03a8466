"""Alert rules end to end: real HTTP receivers, a controllable clock, restarts, silences, Grafana export."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import subprocess

import pytest
import yaml

from agentwatch.alerts import AlertEngine, RulesError, Scheduler, parse_rules
from agentwatch.dashboards.grafana import alert_provisioning, expand_macros
from agentwatch.testing import RecordingServer

from ..conftest import PYTHON
from .spans import insert_spans, otel_row

NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def rules_text(
    webhook: str, slack: str = "", *, extra: str = "", rule: str = "", retries: int = 2, timeout: str = "2s"
) -> str:
    channels = f"""
channels:
  hooks:
    type: webhook
    url: {webhook}
    secret: s3cret
    retries: {retries}
    timeout: {timeout}
"""
    if slack:
        channels += f"""  chat:
    type: slack
    url: {slack}
"""
    return (
        channels
        + "defaults: {enabled: false}  # only the rules below: the detectors' own rules are off\n"
        + (
            rule
            or """
rules:
  - name: loops
    detector: runaway_loop
    schedule: 1m
    window: 12h
    for: 10m
    repeat_interval: 4h
    labels: {team: agents}
    summary: "[{rule}] {summary} (session {session_id})"
"""
        )
        + extra
    )


@pytest.fixture
def looping(store):
    rows = [
        otel_row(
            f"{i:016x}",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "check_status",
                "gen_ai.conversation.id": "sess-loop",
                "gen_ai.agent.name": "ops",
                "agentwatch.tool.arguments.hash": "same",
            },
            timestamp=NOW - dt.timedelta(minutes=10, seconds=-i),
        )
        for i in range(8)
    ]
    insert_spans(store, rows)
    return store


def test_pending_firing_repeat_resolved_with_a_controllable_clock(looping):
    with RecordingServer("/hook") as hook, RecordingServer("/hook") as slack:
        engine = AlertEngine(looping, parse_rules(rules_text(hook.url, slack.url)))
        rule = engine.ruleset.rules[0]
        first = engine.evaluate(rule, NOW)
        assert (first.pending, first.firing, first.notified) == (1, 0, [])  # `for: 10m` has not passed
        fired = engine.evaluate(rule, NOW + dt.timedelta(minutes=11))
        assert fired.firing == 1 and len(fired.notified) == 1
        assert engine.rule_status()["loops"].alerts == ["1 firing"]  # what `agentwatch alerts list` shows
        assert engine.evaluate(rule, NOW + dt.timedelta(minutes=30)).notified == []  # no repeat before 4h
        assert len(engine.evaluate(rule, NOW + dt.timedelta(hours=4, minutes=12)).notified) == 1  # repeat
        looping.command("TRUNCATE TABLE agent_spans")  # the loop is gone
        resolved = engine.evaluate(rule, NOW + dt.timedelta(hours=4, minutes=13))
        assert resolved.notified == [f"resolved:{resolved.notified[0].split(':')[1]}"]
        assert engine.rule_status()["loops"].alerts == ["1 resolved"]
    statuses = [p["status"] for p in hook.payloads()]
    assert statuses == ["firing", "firing", "resolved"]
    first_payload = hook.payloads()[0]
    assert first_payload["rule"] == "loops" and first_payload["detector"] == "runaway_loop"
    assert first_payload["labels"] == {
        "rule": "loops",
        "detector": "runaway_loop",
        "severity": "critical",
        "failure_mode": "runaway_loops_and_cost",
        "agent_name": "ops",
        "tool_name": "check_status",
        "session_id": "sess-loop",
        "team": "agents",
    }
    assert (
        first_payload["summary"].startswith("[loops] check_status was called 8 times")
        and "sess-loop" in first_payload["summary"]
    )
    assert len(first_payload["evidence"]) == 8 and first_payload["version"] == 1
    headers, body = hook.requests[0].headers, hook.requests[0].body
    expected = (
        "sha256="
        + hmac.new(b"s3cret", headers["X-Agentwatch-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    assert headers["X-Agentwatch-Signature"] == expected
    assert headers["X-Agentwatch-Notification-Id"] == first_payload["id"]
    # observed: an empty top-level session_id while labels.session_id had it
    assert first_payload["session_id"] == first_payload["labels"]["session_id"] == "sess-loop"
    assert next(r.json()["text"] for r in slack.requests).startswith(":rotating_light: [CRITICAL] loops:")


def test_no_notification_is_lost_or_repeated_across_restarts(looping):
    rule = """
rules:
  - {name: loops, detector: runaway_loop, window: 12h}
"""
    with RecordingServer("/hook", fail_first=10) as hook:  # the channel is down during the first run
        first = AlertEngine(looping, parse_rules(rules_text(hook.url, rule=rule, retries=1, timeout="1s")))
        outcome = first.evaluate(first.ruleset.rules[0], NOW)
        assert outcome.firing == 1 and outcome.failures and hook.requests == []
        assert first.rule_status()["loops"].alerts[0].startswith("1 firing (1 failed deliveries: ")
        hook.fail_first = 0
        restarted = AlertEngine(looping, parse_rules(rules_text(hook.url, rule=rule)))  # a new process
        restarted.run_all(NOW + dt.timedelta(minutes=1))
        restarted.run_all(NOW + dt.timedelta(minutes=2))
        again = AlertEngine(looping, parse_rules(rules_text(hook.url, rule=rule)))
        again.run_all(NOW + dt.timedelta(minutes=3))
        status = again.rule_status()["loops"]
        assert (
            status.last_run is not None and status.error == "" and status.alerts == ["1 firing (1 failed deliveries)"]
        )
    assert [p["status"] for p in hook.payloads()] == ["firing"]  # delivered once: not lost, not repeated
    failures = looping.query("SELECT DeliveryFailures, LastError FROM alerts FINAL").result_rows[0]
    assert failures == (1, "")


def test_retries_and_a_slow_channel_does_not_block_the_others(looping):
    rule = """
rules:
  - {name: loops, detector: runaway_loop, window: 12h}
"""
    with RecordingServer("/hook", fail_first=2) as flaky, RecordingServer("/hook", delay=1.5) as slow:
        text = rules_text(flaky.url, rule=rule, retries=3).replace(
            "channels:\n",
            f"""channels:
  slow:
    type: webhook
    url: {slow.url}
    timeout: 0.3s
    retries: 1
""",
        )
        engine = AlertEngine(looping, parse_rules(text))
        outcome = engine.evaluate(engine.ruleset.rules[0], NOW)
    assert len(flaky.payloads()) == 1  # two 500s, then delivered, once
    assert any("slow" in f for f in outcome.failures)
    row = looping.query("SELECT PendingChannels, LastError FROM alerts FINAL").result_rows[0]
    assert row[0] == ["slow"] and "slow" in row[1]  # still owed to the slow channel, visibly


def test_silences_stop_notifications_until_they_expire(looping):
    rule = """
rules:
  - {name: loops, detector: runaway_loop, window: 12h, labels: {team: agents}, repeat_interval: 1m}
"""
    with RecordingServer("/hook") as hook:
        engine = AlertEngine(looping, parse_rules(rules_text(hook.url, rule=rule)))
        engine.silence({"team": "agents"}, NOW + dt.timedelta(minutes=30), "deploy in progress", starts=NOW)
        silenced = engine.evaluate(engine.ruleset.rules[0], NOW)
        assert silenced.firing == 1 and silenced.notified == []
        after = engine.evaluate(engine.ruleset.rules[0], NOW + dt.timedelta(minutes=45))
        assert len(after.notified) == 1
    assert len(hook.payloads()) == 1


def test_silences_are_counted_checked_listed_and_lifted(looping):
    """#34 item 3: `silence --match sesion_id=nc-loop` succeeded, matched nothing and said nothing about it; there
    was no way to lift a silence."""
    from agentwatch.errors import ConfigError
    from agentwatch.operations import run_operation

    rule = """
rules:
  - {name: loops, detector: runaway_loop, window: 12h, labels: {team: agents}}
"""
    with RecordingServer("/hook") as hook:
        engine = AlertEngine(looping, parse_rules(rules_text(hook.url, rule=rule)))
        engine.evaluate(engine.ruleset.rules[0], NOW)  # one alert firing, session sess-loop
        with pytest.raises(ConfigError, match="did you mean 'session_id'"):
            engine.silence({"sesion_id": "sess-loop"}, NOW + dt.timedelta(hours=2))
        assert engine.matching({"session_id": "sess-loop"}) == 1
        assert engine.matching({"session_id": "nc-loop"}) == 0
        answer = run_operation(
            "alerts_silence",
            looping,
            {"matchers": {"rule": "loops"}, "until": (NOW + dt.timedelta(hours=2)).isoformat(), "rules": None},
        )
        assert answer["matching"] == 1
        silence = engine.silence({"team": "agents"}, NOW + dt.timedelta(hours=2), starts=NOW)
        assert [s["id"] for s in engine.silences(NOW)] == sorted([silence, answer["id"]])
        assert engine.unsilence(silence, NOW + dt.timedelta(minutes=1)) is True
        assert engine.unsilence("no-such-silence", NOW) is False
        assert [s["id"] for s in engine.silences(NOW + dt.timedelta(minutes=2))] == [answer["id"]]
        after = engine.evaluate(engine.ruleset.rules[0], NOW + dt.timedelta(minutes=2))
        assert after.firing == 1


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("rules:\n  - name: x\n    detector: nope\n", 3, "rules[0].detector", "unknown detector 'nope'"),
        # #34 item 3: a mistyped rule name said "unknown detector None", with no did-you-mean
        (
            "rules:\n  - name: runaway_lop\n",
            2,
            "rules[0].name",
            "'runaway_lop' is no detector (did you mean 'runaway_loop'?)",
        ),
        ("rules:\n  - name: x\n    detector: runaway_lop\n", 3, "rules[0].detector", "(did you mean 'runaway_loop'?)"),
        (
            "channels:\n  hook: {type: webhook, url: '${AW_TEST_UNSET_HOOK_URL}'}\n",
            2,
            "channels.hook.url",
            "AW_TEST_UNSET_HOOK_URL is not set",
        ),
        (
            "rules:\n  - name: x\n    detector: runaway_loop\n    schedule: '61 * * * *'\n",
            4,
            "rules[0].schedule",
            "minute '61'",
        ),
        (
            "rules:\n  - name: x\n    detector: runaway_loop\n    params: {max_repeats: many}\n",
            4,
            "rules[0].params.max_repeats",
            "not a valid UInt32",
        ),
        ("rules:\n  - name: x\n    detector: runaway_loop\n    for: soon\n", 4, "rules[0].for", "not a duration"),
        (
            "rules:\n  - name: x\n    detector: runaway_loop\n    channels: [pager]\n",
            4,
            "rules[0].channels",
            "unknown channel",
        ),
        ("channels:\n  c: {type: email}\nrules: []\n", 2, "channels.c.type", "not one of webhook"),
        ("rules:\n  - name: x\n    detector: runaway_loop\n    severity: urgent\n", 4, "rules[0].severity", "urgent"),
        (
            "rules:\n  - {name: x, detector: runaway_loop}\n  - {name: x, detector: retry_storm}\n",
            3,
            "rules[1].name",
            "used twice",
        ),
        ("rules: [\n", None, "yaml", ""),
    ],
)
def test_invalid_rule_files_are_precise(text, line, field, message):
    with pytest.raises(RulesError) as info:
        parse_rules(text, "rules.yaml")
    assert info.value.field == field
    if line:
        assert info.value.line == line
    assert message in str(info.value) and str(info.value).startswith("rules.yaml")


def test_scheduler_runs_due_rules_and_skips_missed_runs(looping):
    text = """
channels:
  log: {type: log}
defaults: {enabled: false}
rules:
  - {name: fast, detector: runaway_loop, schedule: 1m, window: 12h}
  - {name: nightly, detector: retry_storm, schedule: '0 3 * * *'}
"""
    engine = AlertEngine(looping, parse_rules(text))
    scheduler = Scheduler([engine])
    assert sorted(scheduler.tick(NOW)) == ["fast", "nightly"]
    for future in list(scheduler.running.values()):
        future.result()
    assert scheduler.tick(NOW + dt.timedelta(seconds=30)) == []
    # paused 5h: one run, not 300 (and the nightly one too when those 5 hours cross 03:00: this ran at 22:00-03:00)
    nightly_due = scheduler.next["nightly"] <= NOW + dt.timedelta(hours=5)
    assert sorted(scheduler.tick(NOW + dt.timedelta(hours=5))) == ["fast", *(["nightly"] if nightly_due else [])]
    for future in list(scheduler.running.values()):
        future.result()
    assert scheduler.next["fast"] == NOW + dt.timedelta(hours=5, minutes=1)
    assert scheduler.next["nightly"].hour == 3 and scheduler.next["nightly"].minute == 0


def test_the_default_rules_cover_every_detector():
    from agentwatch.alerts import load_rules
    from agentwatch.detectors import load_detectors

    assert {r.detector for r in load_rules().rules} == {d.name for d in load_detectors()}


def test_a_detector_is_its_own_rule_and_a_rules_file_only_overrides():
    """Observed: default_rules.yaml restated every detector's schedule and failure mode, and `defaults` was accepted
    and ignored. Each detector's header is its rule now; a file overrides, adds, switches off and sets defaults."""
    from agentwatch.detectors import load_detectors

    detectors = {d.name: d for d in load_detectors()}
    text = """
channels:
  log: {type: log}
defaults: {window: 6h, labels: {team: payments}}
rules:
  - {name: cost_spike, window: 2h, labels: {owner: finops}}
  - {name: retry_storm, enabled: false}
  - {name: loops_fast, detector: runaway_loop, schedule: 30s}
"""
    rules = {r.name: r for r in parse_rules(text).rules}
    assert set(rules) == (set(detectors) - {"retry_storm"}) | {"loops_fast"}
    assert rules["cost_spike"].window == 7200 and rules["cost_spike"].labels == {
        "failure_mode": "runaway_loops_and_cost",
        "team": "payments",
        "owner": "finops",
    }
    assert (
        rules["context_growth"].window == 6 * 3600
        and rules["context_growth"].interval == detectors["context_growth"].schedule
    )
    assert rules["tool_schema_drift"].labels["failure_mode"] == "tool_schema_drift"
    assert rules["loops_fast"].interval == 30 and rules["runaway_loop"].detector == "runaway_loop"
    with pytest.raises(RulesError, match=r"defaults\.params"):
        parse_rules("defaults: {params: {max_repeats: 3}}\n")


def test_grafana_alert_provisioning_is_valid_and_its_sql_runs(looping, tmp_path):
    from agentwatch.alerts import load_rules
    from agentwatch.detectors import run_detectors

    run_detectors(looping, window=3600, end=NOW, names=["runaway_loop"])
    document = yaml.safe_load(yaml.safe_dump(alert_provisioning(load_rules())))
    assert document["apiVersion"] == 1
    group = document["groups"][0]
    assert {"orgId", "name", "folder", "interval", "rules"} <= set(group)
    by_title = {}
    for rule in group["rules"]:
        assert {"uid", "title", "condition", "data", "for", "labels", "annotations"} <= set(rule)
        assert [d["refId"] for d in rule["data"]] == ["A", "B", "C"]
        sql = expand_macros(
            rule["data"][0]["model"]["rawSql"], NOW - dt.timedelta(hours=1), NOW + dt.timedelta(minutes=5)
        )
        by_title[rule["title"]] = looping.query(sql).result_rows[0][0]
    assert by_title["runaway_loop"] == 1 and by_title["retry_storm"] == 0
    assert len({r["uid"] for r in group["rules"]}) == len(group["rules"])


def test_alerts_cli(cli_env, tmp_path):
    def run(*a):
        return subprocess.run(
            [PYTHON, "-m", "agentwatch", *a],
            env=cli_env,
            capture_output=True,
            text=True,
        )

    assert run("db", "init").returncode == 0
    ran = run("alerts", "run")
    assert ran.returncode == 0, ran.stderr
    assert "runaway_loop" in ran.stdout
    listed = run("alerts", "list")
    assert listed.returncode == 0 and "every 60s" in listed.stdout
    silenced = run("alerts", "silence", "--match", "team=agents", "--for", "1h", "--comment", "maintenance")
    assert silenced.returncode == 0 and "not notified until" in silenced.stdout
    assert "silence " in run("alerts", "list").stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: x\n    detector: nope\n")
    failed = run("alerts", "run", "--rules", str(bad))
    assert failed.returncode == 1 and f"{bad}:3: rules[0].detector" in failed.stderr
    exported = run("grafana", "alerts", "--out", str(tmp_path / "grafana"))
    assert exported.returncode == 0
    assert yaml.safe_load((tmp_path / "grafana" / "agentwatch-alert-rules.yaml").read_text())["apiVersion"] == 1


def test_workers_split_the_rules_between_them():
    from agentwatch.alerts import load_rules
    from agentwatch.serve import shard_rules

    rules = load_rules()
    shares = [shard_rules(rules, i, 3).rules for i in range(3)]
    names = [r.name for share in shares for r in share]
    assert sorted(names) == sorted(r.name for r in rules.rules)  # every rule once, on exactly one worker
    assert all(shares)


def test_the_scheduler_never_runs_two_rules_on_one_client(store):
    """Observed on a worker over an http store: "Attempt to execute concurrent queries within the same session"
    (engines were handed out round-robin while the pool's threads took rules freely). Over the query endpoint the
    rules' writes are refused (read-only), but no two of their queries may meet on one client."""
    from agentwatch.alerts import load_rules
    from agentwatch.store import open_store

    from .running import RunningEndpoint

    endpoint = RunningEndpoint(store)
    remote = [open_store(store=f"http://127.0.0.1:{endpoint.port}", database=store.database) for _ in range(2)]
    try:
        ruleset = load_rules()
        scheduler = Scheduler([AlertEngine(client, ruleset) for client in remote], workers=4)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        for _ in range(3):
            scheduler.tick(now)
            for future in list(scheduler.running.values()):
                future.result(60)
            now += dt.timedelta(minutes=10)
        scheduler.tick(now)
        errors = [o.error for o in scheduler.last.values()]
        assert len(errors) == len(ruleset.rules)
        assert not [e for e in errors if "concurrent queries" in e], errors
        # the last tick started rules again: let them finish before the endpoint goes (observed on a slow machine:
        # stopping the endpoint under their queries outlasted its 30 s)
        for future in list(scheduler.running.values()):
            future.result(60)
    finally:
        for client in remote:
            client.close()
        endpoint.stop()
