"""``agentwatch demo``: serve on a fresh embedded store, a fleet of simulated agents, and a table of what was
caught next to what was injected. Deterministic with a seed; exits non-zero when a failure mode was missed."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentwatch.alerts import parse_rules
from agentwatch.audit import label
from agentwatch.config import configure
from agentwatch.demo.scenarios import SCENARIOS, Scenario
from agentwatch.errors import ConfigError, Terminated, raise_terminated
from agentwatch.listen import free_port, local_url
from agentwatch.output import render_rows
from agentwatch.serve import Parts, Server
from agentwatch.testing import LLMServer, RecordingServer, Reply

__all__ = ["run_demo"]


def responder(path: str, body: dict[str, Any]) -> Reply:
    """The simulated LLM: answers from the tool results in the prompt; ``sim-confident`` gets them wrong."""
    model = body.get("model", "")
    text = str((body.get("messages") or [{}])[-1].get("content", ""))
    if model == "sim-research":
        return Reply(text="Here is the running summary of the incident reports so far.")
    if "Tool results:" not in text:
        return Reply(text="Done.")
    facts = json.loads(text.split("Tool results:", 1)[1])
    if model == "sim-confident":
        return Reply(
            text=f"Your order {facts.get('order_id', '')} is definitely at our Denver warehouse and will "
            f"arrive in {int(facts.get('eta_days', 1)) + 6} days."
        )
    described = ", ".join(
        f"{key.replace('_', ' ')} {value}" for key, value in facts.items() if isinstance(value, (str, int, float))
    )
    return Reply(text=f"Here is what I found: {described}.")


def _rules(webhook_url: str, extra_webhook: str | None, *, fast: bool = True) -> str:
    channels = f"channels:\n  demo:\n    type: webhook\n    url: {webhook_url}\n    retries: 1\n"
    if extra_webhook:
        channels += f"  extra:\n    type: webhook\n    url: {extra_webhook}\n    retries: 1\n"
    if not fast:
        return channels + "defaults: {window: 1h}\n"
    return channels + "defaults: {schedule: 2s, window: 1h}  # every detector's own rule, every 2 s\n"


def preview_hint(store: str) -> str:
    """The follow-up command that renders the dashboards; first the extra to install when it is missing."""
    command = f"agentwatch grafana preview --store {store} --out agentwatch-dashboards   # the dashboards as PNGs"
    try:
        available = importlib.util.find_spec("matplotlib") is not None
    except ValueError:  # in sys.modules as None: blocked
        available = False
    return command if available else "pip install 'agentwatch[preview]'   # then: " + command


def _owner(finding: dict[str, Any]) -> Scenario | None:
    session, agents = finding["session_id"], set(filter(None, str(finding["agent_name"]).split(",")))
    for scenario in SCENARIOS:
        if session == scenario.session or (not session and agents and agents <= set(scenario.agents)):
            return scenario
    return None


def _print_audit(store: Any, since: dt.datetime, out: Any) -> bool:
    """The audit of the demo's fleet; True when it says what the scenarios make true: healthy agents ready, each
    broken one not ready on the question of its failure."""
    from agentwatch.audit import render_table, run_audit

    end = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(minutes=1)
    audit = run_audit(store, start=since, end=end)
    print("\nReadiness of the fleet (agentwatch audit): the six questions to answer before production\n", file=out)
    print(render_table(audit, detail=False), file=out)
    agents = {a.agent: a for a in audit.agents}
    as_expected = True
    lines = []
    for scenario in SCENARIOS:
        for name in scenario.agents:
            agent = agents.get(name)
            if agent is None:
                lines.append(f"  {name:<14} not seen")
                as_expected = False
            elif not scenario.failure_mode:
                as_expected &= agent.overall == "ready"
                lines.append(f"  {name:<14} {label(agent.overall)} (healthy)")
            else:
                [answer] = [x for x in agent.answers if x.question.failure_mode == scenario.failure_mode]
                as_expected &= answer.verdict == "not_ready"
                lines.append(
                    f"  {name:<14} {label(answer.verdict)} on {answer.question.number}. {answer.question.key}: "
                    f"{answer.reason}"
                )
    print("\nEach agent on the question of its scenario:", file=out)
    print("\n".join(dict.fromkeys(lines)), file=out)
    return as_expected


def run_demo(
    *,
    seed: int = 7,
    store: str | None = None,
    keep: bool = False,
    timeout: float = 50.0,
    webhook: str | None = None,
    out: Any = sys.stdout,
    listen: Mapping[str, str | None] | None = None,
) -> int:
    """``listen``: addresses by setting (``collector_http``, ``collector_grpc``, ``query_http``); one not given is
    taken from its environment variable when that is set (empty: off), else a free loopback port, so the demo
    never collides with a running ``agentwatch serve`` on the defaults."""
    started = time.monotonic()
    if threading.current_thread() is threading.main_thread():  # SIGTERM stops it as cleanly as Ctrl-C does
        signal.signal(signal.SIGTERM, raise_terminated)
    started_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=1)
    work = Path(tempfile.mkdtemp(prefix="agentwatch-demo-"))
    addresses = _listen_addresses(listen or {})
    config = configure(
        store=store or f"chdb://{work / 'store'}",
        spool_dir=str(work / "spool"),
        batch_max_age=0.1,
        collector_http=addresses["collector_http"],
        collector_grpc=addresses["collector_grpc"],
        query_http=addresses["query_http"],
    )
    hook = RecordingServer("/alerts")  # receives the demo's alerts
    ruleset = parse_rules(_rules(hook.url, webhook), "demo rules")
    server = Server(config, Parts(evaluate_every=1.0), ruleset)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    starting = asyncio.run_coroutine_threadsafe(server.start(), loop)
    try:
        starting.result(60)
        query_url = local_url(config.query_http, server.query.port) if server.query else ""
        # the simulated LLM's context window, so the audit can say how much of it each call used
        server.opened.insert(
            "model_context_windows",
            [("sim-", 16_000, dt.datetime(2026, 1, 1))],
            ["Model", "ContextTokens", "UpdatedAt"],
        )
        otlp = local_url(config.collector_http, server.collector.http_port)
        grpc = f"port {server.collector.grpc_port}" if server.collector.grpc_port else "off"
        print(
            f"agentwatch serve: store {config.store}, OTLP/HTTP on {otlp}, OTLP/gRPC {grpc}, "
            f"ClickHouse HTTP query endpoint {query_url or 'off'}",
            file=out,
        )
        with LLMServer(responder) as llm:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWATCH_", "OTEL_"))}
            env.update(
                OTEL_EXPORTER_OTLP_ENDPOINT=otlp,
                OTEL_SERVICE_NAME="demo-agents",
                AGENTWATCH_DEMO_LLM=llm.base_url,
                AGENTWATCH_DEMO_SEED=str(seed),
            )
            print("running the agent fleet (import agentwatch.auto, a simulated LLM, real tools)…", file=out)
            # started in the demo's own folder: `python -m` puts the working folder first on sys.path, and a
            # checkout named agentwatch there (working from the folder that holds it) would be imported instead
            fleet = subprocess.run(
                [sys.executable, "-m", "agentwatch.demo.fleet"],
                env=env,
                cwd=work,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if fleet.returncode != 0:
                print(f"the fleet failed:\n{fleet.stderr}", file=out)
                return 2
        injected = [s for s in SCENARIOS if s.failure_mode]
        findings: list[dict[str, Any]] = []
        interactive, last_caught = bool(getattr(out, "isatty", lambda: False)()), -1
        while True:
            rows = server.opened.query(
                "SELECT Detector, FailureMode, Fingerprint, SessionId, AgentName, ToolName, argMax(Summary, LastSeen) "
                "FROM findings GROUP BY Detector, FailureMode, Fingerprint, SessionId, AgentName, ToolName"
            )
            findings = [
                dict(
                    zip(
                        ["detector", "failure_mode", "fingerprint", "session_id", "agent_name", "tool_name", "summary"],
                        r,
                        strict=True,
                    )
                )
                for r in rows.result_rows
            ]
            alerted = {(p["detector"], p["fingerprint"]) for p in hook.payloads()}
            caught = {
                s.key
                for s in injected
                if any(
                    (o := _owner(f)) is not None
                    and o.key == s.key
                    and f["failure_mode"] == s.failure_mode
                    and (f["detector"], f["fingerprint"]) in alerted
                    for f in findings
                )
            }
            spans = server.opened.query("SELECT count() FROM agent_spans").result_rows[0][0]
            evaluated = server.opened.query("SELECT uniqExact(TraceId) FROM evaluations").result_rows[0][0]
            elapsed = time.monotonic() - started
            line = (
                f"  {elapsed:4.0f}s  spans {spans:>5}  answers evaluated {evaluated:>3}  findings {len(findings):>3}  "
                f"alerts {len(hook.payloads()):>3}  failure modes caught {len(caught)}/{len(injected)}"
            )
            if interactive:  # one line, rewritten in place
                print(f"\r{line}", end="", file=out, flush=True)
            elif len(caught) != last_caught:  # redirected: a line when something changed, not a pile of \r
                print(line, file=out, flush=True)
            last_caught = len(caught)
            if len(caught) == len(injected) or elapsed > timeout:
                break
            time.sleep(1.0)
        time.sleep(2.5)  # one more detector turn: late findings from the same sessions show up in the table too
        alerted = {(p["detector"], p["fingerprint"]) for p in hook.payloads()}
        print("\n" if interactive else "", file=out)
        table = []
        for scenario in SCENARIOS:
            mine = [f for f in findings if (o := _owner(f)) is not None and o.key == scenario.key]
            if not mine:
                table.append(
                    (
                        scenario.failure_mode or "(healthy)",
                        scenario.session,
                        scenario.description,
                        "-" if not scenario.failure_mode else "MISSED",
                        "",
                        "",
                    )
                )
            for f in sorted(mine, key=lambda f: (f["failure_mode"] != scenario.failure_mode, f["detector"])):
                table.append(
                    (
                        scenario.failure_mode or "(healthy)",
                        scenario.session,
                        scenario.description,
                        f"{f['detector']} ({f['failure_mode']})",
                        "yes" if (f["detector"], f["fingerprint"]) in alerted else "no",
                        f["summary"],
                    )
                )
        print(
            render_rows(["injected", "session", "what happened", "caught by", "alert", "summary"], table, max_width=58),
            file=out,
        )
        healthy_findings = [f for f in findings if (o := _owner(f)) is not None and not o.failure_mode]
        missed = [s for s in injected if s.key not in caught]
        print(
            f"\n{len(injected) - len(missed)} of {len(injected)} failure modes caught and alerted; "
            f"{len(healthy_findings)} finding(s) on healthy sessions; {time.monotonic() - started:.0f}s.",
            file=out,
        )
        audited = _print_audit(server.opened, started_at, out)
        preview = preview_hint(config.store)
        print(
            f"""
Where to look next: the demo's store goes when it ends; `agentwatch demo --keep` keeps it (at {config.store})
and serves it, for these:
  agentwatch sql --store {config.store} "SELECT Detector, Severity, Summary FROM findings FINAL"
  agentwatch sql --store {config.store} "SELECT SessionId, Operation, ToolName, ResultShape FROM agent_spans \\
      WHERE SessionId = 'demo-schema-drift' ORDER BY Timestamp"
  agentwatch detect --store {config.store} --window 1h
  agentwatch alerts list --store {config.store}
  {preview}""",
            file=out,
        )
        if keep:
            # the demo's rules ran every 2 s to finish quickly; serving on, each detector keeps its own schedule
            assert server.scheduler is not None  # the demo runs its alert rules
            server.scheduler.rules = list(parse_rules(_rules(hook.url, webhook, fast=False), "demo rules").rules)
            server.parts = dataclasses.replace(server.parts, evaluate_every=Parts().evaluate_every)
            print(
                f"\n--keep: serving until Ctrl-C: OTLP on {otlp}, ClickHouse HTTP (read-only, "
                f"for Grafana and SQL) on {query_url}:\n"
                f'  agentwatch sql --store {query_url} "SELECT count() FROM agent_spans"',
                file=out,
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return 1 if missed or healthy_findings or not audited else 0
    except (KeyboardInterrupt, Terminated) as stop:
        print("\ninterrupted: stopping agentwatch serve", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130
    finally:
        _stop(server, loop, hook, starting)
        _clean_up(work, keep, own_store=store is None)


_LISTENERS = {
    "collector_http": "AGENTWATCH_COLLECTOR_HTTP",
    "collector_grpc": "AGENTWATCH_COLLECTOR_GRPC",
    "query_http": "AGENTWATCH_QUERY_HTTP",
}


def _listen_addresses(listen: Mapping[str, str | None]) -> dict[str, str]:
    """Each listener's address: the option, else its variable when set (empty: off), else a free loopback port."""
    chosen = {}
    for name, variable in _LISTENERS.items():
        value = listen.get(name)
        if value is None:
            value = os.environ.get(variable)
        chosen[name] = f"127.0.0.1:{free_port()}" if value is None else value
    if not chosen["collector_http"]:
        raise ConfigError("collector_http", "the demo's agents send their spans over OTLP/HTTP: it cannot be off")
    return chosen


def _clean_up(work: Path, keep: bool, *, own_store: bool) -> None:
    """The demo's folder (its store, 4-20 MB, and spool) goes when the demo ends, however it ends; with --keep it
    stays, and the demo says where."""
    if keep and own_store:
        print(f"the demo's store stays at {work / 'store'} (rm -r {work} removes it)", file=sys.stderr)
        return
    shutil.rmtree(work, ignore_errors=True)


def _stop(server: Server, loop: asyncio.AbstractEventLoop, hook: RecordingServer, starting: Any) -> None:
    """Stop what the demo started, whichever way it ends (done, failed early, Ctrl-C even while serve was still
    starting): a process that exits with the engine's threads still at work crashes in chDB's shutdown. A second
    Ctrl-C does not cut this short."""
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
    try:
        with contextlib.suppress(Exception):  # a start cut short by the signal finishes before the stop
            starting.result(60)
        try:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(60)
        except Exception as exc:  # stopping is best effort; what is left is said
            print(f"agentwatch serve did not stop cleanly: {exc!r}", file=sys.stderr)
        if server.store is not None:
            server.store.close()
        loop.call_soon_threadsafe(loop.stop)
        hook.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
