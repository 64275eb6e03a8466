"""Every detector flags every injected failure and none of the healthy look-alikes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections import defaultdict

import pytest

from agentwatch.config import configure
from agentwatch.detectors import load_detectors, run_detectors
from agentwatch.migrate import Migrator
from agentwatch.store import open_store

from ..conftest import PYTHON
from . import scenarios as sc
from .spans import insert_spans, otel_row

NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


@pytest.fixture(scope="module")
def scenario_store(engine_path):
    config = configure(store=f"chdb://{engine_path}", database="detector_scenarios")
    store = open_store(config, create=True)
    Migrator(store, config).apply()
    built = sc.build(NOW)
    sc.load(store, built)
    yield store, built
    store.command("DROP DATABASE IF EXISTS detector_scenarios")
    store.close()


def test_every_failure_is_caught_and_no_look_alike_is_flagged(scenario_store, capsys):
    store, built = scenario_store
    runs = run_detectors(store, window=3600, end=NOW, write=False)
    assert not [r for r in runs if r.error], {r.detector.name: r.error for r in runs if r.error}
    flagged: dict[str, set[str]] = defaultdict(set)
    stray = []
    for run in runs:
        for finding in run.findings:
            scenario = sc.owner(finding, built)
            if scenario is None:
                stray.append((run.detector.name, finding.summary))
            else:
                flagged[scenario.tag].add(run.detector.name)
    report = []
    problems = []
    for detector in sorted(d.name for d in load_detectors()):
        tp = sum(1 for s in built if detector in s.expected and detector in flagged[s.tag])
        fn = [s.tag for s in built if detector in s.expected and detector not in flagged[s.tag]]
        fp = [s.tag for s in built if detector not in s.expected and detector in flagged[s.tag]]
        precision = tp / (tp + len(fp)) if tp + len(fp) else 1.0
        recall = tp / (tp + len(fn)) if tp + len(fn) else 1.0
        report.append(f"{detector:26s} precision {precision:.2f} recall {recall:.2f} (tp {tp}, fp {fp}, fn {fn})")
        if fn or fp:
            problems.append(report[-1])
    with capsys.disabled():
        print("\n" + "\n".join(report))
    assert not problems, "\n".join(problems)
    assert not stray, stray
    assert {d.name for d in load_detectors()} <= {name for s in built for name in s.expected}, "untested detector"


def test_a_secret_is_reported_in_the_session_and_agent_of_its_run(scenario_store):
    """Issue 35: secret_exposure took the session from 3 of the view's 5 sources and the agent from 1 of 4, so a
    tool span of an OpenInference run (whose session and agent only the root names) was reported under its trace
    id and no agent. It reads the resolved identity of agent_spans_in now."""
    store, _ = scenario_store
    runs = {r.detector.name: r for r in run_detectors(store, window=3600, end=NOW, write=False)}
    found = [f for f in runs["secret_exposure"].findings if f.tool_name == "http-secretrun"]
    assert [(f.session_id, f.agent_name) for f in found] == [("s-secretrun", "agent-secretrun")]


def test_summaries_carry_the_numbers(scenario_store):
    store, _ = scenario_store
    runs = {r.detector.name: r for r in run_detectors(store, window=3600, end=NOW, write=False)}
    summary = {name: [f.summary for f in run.findings] for name, run in runs.items()}
    assert any("1000 → 12000 input tokens over 5 LLM calls" in s for s in summary["context_growth"])
    assert any(
        "added results" in s and "removed items" in s and "retyped total number→string" in s
        for s in summary["tool_schema_drift"]
    )
    assert any("called 8 times with identical arguments" in s for s in summary["runaway_loop"])
    assert any("not among its allowed tools [search]" in s for s in summary["scope_violation"])
    assert all(f.evidence for f in runs["runaway_loop"].findings)


def test_parameters_change_outcomes(scenario_store):
    store, _ = scenario_store
    loose = run_detectors(
        store,
        window=3600,
        end=NOW,
        write=False,
        names=["runaway_loop", "context_growth"],
        params={"max_repeats": 10, "growth_factor": 20, "window_share": 0.99},
    )
    assert all(not r.findings for r in loose)
    strict = run_detectors(store, window=3600, end=NOW, write=False, names=["runaway_loop"], params={"max_repeats": 2})
    strict_sessions = {f.session_id for f in strict[0].findings}
    assert "s-loopbad" in strict_sessions and "s-loopok" not in strict_sessions  # distinct arguments never loop
    for limit, flagged in ((7, True), (8, False)):  # s-loopbad made 8 identical calls: flagged above the limit only
        run = run_detectors(
            store, window=3600, end=NOW, write=False, names=["runaway_loop"], params={"max_repeats": limit}
        )
        assert ("s-loopbad" in {f.session_id for f in run[0].findings}) is flagged, limit


def test_findings_are_deduplicated_across_reruns(scenario_store):
    store, _ = scenario_store
    store.command("TRUNCATE TABLE findings")
    first = run_detectors(store, window=3600, end=NOW, names=["runaway_loop", "unapproved_irreversible"])
    rows = store.query("SELECT count() FROM findings").result_rows[0][0]
    assert rows == sum(len(r.findings) for r in first) > 0
    run_detectors(store, window=3600, end=NOW, names=["runaway_loop", "unapproved_irreversible"])
    assert store.query("SELECT count() FROM findings").result_rows[0][0] == rows  # nothing new: no row
    later = NOW + dt.timedelta(minutes=5)
    run_detectors(store, window=3600 + 300, end=later, names=["runaway_loop", "unapproved_irreversible"])
    final = store.query(
        "SELECT Detector, Fingerprint, count() FROM findings FINAL GROUP BY Detector, Fingerprint HAVING count() > 1"
    ).result_rows
    assert final == []
    kept = store.query(
        "SELECT min(FirstSeen) = max(FirstSeen) FROM findings FINAL WHERE Detector = 'runaway_loop'"
    ).result_rows[0][0]
    assert kept == 1


def test_a_broken_detector_names_its_file_and_spares_the_others(scenario_store, monkeypatch):
    from agentwatch import detectors as module

    store, _ = scenario_store
    real = module.load_sql

    def broken(name):
        sql = real(name)
        if name.endswith("runaway_loop"):
            return type(sql)(sql.name, sql.text.replace("GROUP BY SessionId", "GROUP BY NoSuchColumn"), sql.header)
        return sql

    monkeypatch.setattr(module, "load_sql", broken)
    runs = {r.detector.name: r for r in run_detectors(store, window=3600, end=NOW, write=False)}
    assert "sql/detectors/runaway_loop.sql" in runs["runaway_loop"].error
    assert runs["unapproved_irreversible"].findings and not runs["unapproved_irreversible"].error


def test_detectors_work_on_openinference_and_traceloop_spans(store):
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = []
    for i in range(7):
        rows.append(
            otel_row(
                f"oi{i}",
                {
                    "openinference.span.kind": "TOOL",
                    "tool.name": "fetch_page",
                    "input.value": '{"url": "https://example.com"}',
                    "session.id": "oi-sess",
                },
                timestamp=now - dt.timedelta(minutes=10, seconds=i),
            )
        )
        rows.append(
            otel_row(
                f"tl{i}",
                {
                    "traceloop.span.kind": "tool",
                    "traceloop.entity.name": "fetch_page",
                    "traceloop.entity.input": '{"url": "https://example.org"}',
                    "traceloop.association.properties.session_id": "tl-sess",
                },
                timestamp=now - dt.timedelta(minutes=10, seconds=i),
            )
        )
    for i, tokens in enumerate([500, 2500, 8000]):
        rows.append(
            otel_row(
                f"oillm{i}",
                {
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "gpt-4o",
                    "llm.token_count.prompt": str(tokens),
                    "session.id": "oi-sess",
                },
                timestamp=now - dt.timedelta(minutes=9, seconds=-i),
            )
        )
    insert_spans(store, rows)
    runs = {
        r.detector.name: r
        for r in run_detectors(store, window=3600, write=False, names=["runaway_loop", "context_growth"])
    }
    assert {f.session_id for f in runs["runaway_loop"].findings} == {"oi-sess", "tl-sess"}
    assert [f.session_id for f in runs["context_growth"].findings] == ["oi-sess"]


def test_detect_cli(cli_env):
    subprocess.run([PYTHON, "-m", "agentwatch", "db", "init"], env=cli_env, check=True, capture_output=True)
    out = subprocess.run(
        [PYTHON, "-m", "agentwatch", "detect", "--window", "1h", "--format", "json"],
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["findings"] == [] and data["errors"] == {} and len(data["seconds"]) == len(load_detectors())
    bad = subprocess.run(
        [PYTHON, "-m", "agentwatch", "detect", "--detector", "nope"], env=cli_env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "unknown detector" in bad.stderr


def test_detectors_over_http_never_share_a_session(scenario_store):
    """Observed: 2-5 of 18 detectors failed on each `detect --store http://…` with "Attempt to execute concurrent
    queries within the same session" (clients were handed out round-robin while threads took tasks freely). Over
    the query endpoint, with more threads than clients would ever have been safe with, six runs in a row (each run
    failed then: six is plenty, and each costs a second now that detectors place spans in their runs)."""
    from .running import RunningEndpoint

    store, _ = scenario_store
    endpoint = RunningEndpoint(store)
    try:
        remote = open_store(store=f"http://127.0.0.1:{endpoint.port}", database=store.database)
        failed = []
        for _ in range(6):
            runs = run_detectors(remote, window=3600, end=NOW, write=False, concurrency=4)
            failed += [f"{r.detector.name}: {r.error}" for r in runs if r.error]
        remote.close()
    finally:
        endpoint.stop()
    assert failed == []


def test_detect_refuses_what_the_rules_file_refuses(cli_env):
    """Observed: a mistyped --param was silently ignored (the default used) and --window 0 returned nothing."""
    subprocess.run([PYTHON, "-m", "agentwatch", "db", "init"], env=cli_env, check=True, capture_output=True)
    for args, message in (
        (["--param", "max_repeat=100"], "has no parameter 'max_repeat' (did you mean 'max_repeats'?)"),
        (["--detector", "runaway_loop", "--param", "max_repeats=many"], "not a valid UInt32"),
        (["--window", "0s"], "window: must be longer than zero"),
        # #34 item 3: "--window 15" answered (0 rows): 15 seconds, not what anyone means by it
        (["--window", "15"], "'15' has no unit (e.g. 15m, 1h, 7d)"),
        (["--baseline", "7"], "'7' has no unit (e.g. 15m, 1h, 7d)"),
    ):
        out = subprocess.run([PYTHON, "-m", "agentwatch", "detect", *args], env=cli_env, capture_output=True, text=True)
        assert out.returncode == 2 and message in out.stderr, out.stderr
