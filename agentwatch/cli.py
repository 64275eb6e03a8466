"""The ``agentwatch`` command line. Every command has ``--help``; those that touch the store take ``--store``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from agentwatch._version import __version__
from agentwatch.config import Config, configure
from agentwatch.errors import AgentwatchError, ConfigError, Terminated, raise_terminated

__all__ = ["build_parser", "main"]

log = logging.getLogger("agentwatch")
_CHATTY_LOGGERS = ("httpx", "httpx2", "httpcore", "openai", "anthropic", "urllib3")

# settings the command line sets by keyword (configure(store=args.store)), by the option that set them
_OPTIONS = {"store": "--store", "database": "--database", "judge": "--judge"}

Handler = Callable[[argparse.Namespace, Config], int]


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store address, chdb://PATH or http(s)://host:port (env AGENTWATCH_STORE)")
    parser.add_argument("--database", help="ClickHouse database (env AGENTWATCH_DATABASE, default agentwatch)")


def _config(args: argparse.Namespace) -> Config:
    return configure(store=getattr(args, "store", None), database=getattr(args, "database", None))


# -- commands --------------------------------------------------------------------------------------
def cmd_version(args: argparse.Namespace, config: Config) -> int:
    print(f"agentwatch {__version__}")
    return 0


def cmd_llm_server(args: argparse.Namespace, config: Config) -> int:
    """A scripted model on loopback that speaks OpenAI's and Anthropic's APIs: agentwatch tried without an API key.
    It answers each request by echoing its last line; SIGTERM or Ctrl-C stops it (exit 0)."""
    from agentwatch.testing import LLMServer

    if not 0 <= args.port <= 65535:
        raise ConfigError("--port", f"{args.port} is not a port (0-65535)")
    try:
        server = LLMServer(host=args.host, port=args.port).start()
    except OSError as exc:
        raise ConfigError("--port", f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    print(
        f"scripted LLM server: OpenAI base_url {server.base_url}, Anthropic base_url {server.root_url} "
        "(any model, any API key); Ctrl-C stops it",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, Terminated):
        return 0
    finally:
        server.stop()


def cmd_config(args: argparse.Namespace, config: Config) -> int:
    from agentwatch.config import settings_table
    from agentwatch.output import render_rows

    fmt = "markdown" if args.markdown else args.format
    table = settings_table()
    if fmt == "json":
        shown = [
            {k: row[k] for k in ("env", "alt", "type", "side", "secret", "doc")}
            | {"default": None if row["secret"] else row["default"], "value": config.shown(row["name"])}
            for row in table
        ]
        print(json.dumps(shown, indent=2, default=str))
    elif fmt == "markdown":
        print("| setting | side | type | default | meaning |\n|---|---|---|---|---|")
        for row in table:
            env = " / ".join(f"`{v}`" for v in (row["env"], *row["alt"]))
            print(f"| {env} | {row['side']} | {row['type']} | `{row['default']}` | {row['doc']} |")
    else:
        rows = [
            (row["env"], row["side"], row["type"], row["default"], config.shown(row["name"]), row["doc"])
            for row in table
        ]
        print(render_rows(["env", "side", "type", "default", "current", "doc"], rows, max_width=70))
    return 0


def cmd_db_init(args: argparse.Namespace, config: Config) -> int:
    from agentwatch.migrate import Migrator
    from agentwatch.store import open_store

    with open_store(config, create=True) as store:
        migrator = Migrator(store, config)
        applied = migrator.apply()
        where = f"{store.dsn.redacted()} (database {store.database})"
        if applied:
            print(f"Applied {len(applied)} migration(s) to {where}:")
            for m in applied:
                print(f"  {m.version:04d}  {m.name}")
        else:
            print(f"Schema of {where} is up to date; nothing to apply.")
    return 0


def cmd_db_status(args: argparse.Namespace, config: Config) -> int:
    from agentwatch.migrate import Migrator
    from agentwatch.output import render_rows
    from agentwatch.store import open_store

    with open_store(config) as store:
        status = Migrator(store, config).status()
        rows = [(s.migration.version, s.migration.name, s.state, s.applied_at) for s in status]
        print(f"Store {store.dsn.redacted()}, database {store.database}")
        print(render_rows(["version", "name", "state", "applied_at"], rows))
        pending = [s for s in status if s.state != "applied"]
        if pending:
            print(f"{len(pending)} migration(s) not applied as shipped; run: agentwatch db init")
    return 0


def _parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError("--param", f"{pair!r} is not NAME=VALUE")
        params[key] = value
    return params


_TRAILING_FORMAT = re.compile(r"\s+FORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_CLIENT_FORMATS = {
    "vertical": "vertical",
    "json": "json",
    "jsoneachrow": "json",
    "csv": "csv",
    "csvwithnames": "csv",
    "pretty": "table",
    "prettycompact": "table",
    "tabseparated": "table",
}


def _open_for_reading(config: Config):
    """The store; while agentwatch serve holds the embedded store, its read-only query endpoint instead."""
    from agentwatch.errors import StoreLockedError
    from agentwatch.store import open_store

    try:
        return open_store(config)
    except StoreLockedError as locked:
        if not locked.query_url:
            raise
        print(f"(read through the query endpoint of agentwatch serve, PID {locked.pid})", file=sys.stderr)
        url = locked.query_url
        if config.query_password:
            scheme, _, rest = url.partition("://")
            url = f"{scheme}://{config.query_user}:{config.query_password}@{rest}"
        return open_store(config, store=url)


def _check_query(name: str, params: dict[str, str]) -> None:
    """A shipped query exists and gets the parameters its header declares, before anything is run: ClickHouse's
    "Substitution `days` is not set" says neither which query nor how to give it."""
    import difflib

    from agentwatch.sqlfiles import list_sql, load_sql

    shipped = [n.removeprefix("queries/") for n in list_sql("queries")]
    if name not in shipped:
        close = difflib.get_close_matches(name, shipped, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError("--query", f"{name!r} is not a shipped query{hint}; the shipped ones: {', '.join(shipped)}")
    header = load_sql(f"queries/{name}").header
    declared = re.findall(r"(\w+)\s*\(", header.get("params", ""))
    missing = [p for p in declared if p not in params]
    if missing:
        usage = header.get("usage", "")
        raise ConfigError(
            "--param",
            f"query {name} needs {', '.join(f'--param {p}=…' for p in missing)} "
            f"(its parameters: {header.get('params', '')})" + (f"; for example: {usage}" if usage else ""),
        )
    unknown = [p for p in params if p not in declared]
    if unknown:
        raise ConfigError(
            "--param", f"query {name} takes no {', '.join(unknown)} (its parameters: {', '.join(declared)})"
        )


def cmd_sql(args: argparse.Namespace, config: Config) -> int:
    from agentwatch.output import render_rows

    params = _parse_params(args.param or [])
    if bool(args.statement) == bool(args.query):
        raise ConfigError("sql", "give either a statement or --query NAME")
    statement, fmt = args.statement, args.format
    ending = _TRAILING_FORMAT.search(statement or "")
    if ending:  # "… FORMAT Vertical" as in clickhouse-client: the output format, not part of the query sent
        if ending.group(1).lower() not in _CLIENT_FORMATS:
            raise ConfigError("FORMAT", f"{ending.group(1)} is not one of {sorted(set(_CLIENT_FORMATS))}")
        statement, fmt = statement[: ending.start()], _CLIENT_FORMATS[ending.group(1).lower()]
    if args.query:
        _check_query(args.query, params)
    with _open_for_reading(config) as store:
        if args.query:
            result = store.run_sql(f"queries/{args.query}", params)
        else:
            result = store.query(statement, params or None)
        rows = result.result_rows
        print(render_rows(list(result.column_names), rows, fmt, args.max_width, terminal=sys.stdout.isatty()))
    return 0


def cmd_collector(args: argparse.Namespace, config: Config) -> int:
    from agentwatch.collector import run_collector
    from agentwatch.migrate import Migrator
    from agentwatch.store import open_store

    overrides = {
        k: v
        for k, v in {"collector_http": args.http, "collector_grpc": args.grpc, "spool_dir": args.spool_dir}.items()
        if v is not None
    }
    if overrides:
        config = configure(store=args.store, database=args.database, **overrides)
    with open_store(config, create=True) as store:
        Migrator(store, config).apply()
        run_collector(config, store)
    return 0


def _operate(config: Config, name: str, request: dict) -> dict:
    """Run a command that writes on the store, or, when agentwatch serve holds the embedded store, through serve's
    control interface: the same command either way (agentwatch.operations)."""
    from agentwatch.errors import StoreLockedError
    from agentwatch.operations import run_operation
    from agentwatch.store import open_store

    try:
        store = open_store(config)
    except StoreLockedError as locked:
        from agentwatch.control import send

        answer = send(locked, name, request)
        print(f"(run by agentwatch serve, PID {locked.pid}, which holds the store)", file=sys.stderr)
        return answer
    with store:
        return run_operation(name, store, request)


def _duration(value: str, flag: str) -> float:
    """A command-line duration ("90s", "15m", "2h", "7d") in seconds; a bad one is refused naming its flag."""
    from agentwatch.config import parse_duration

    try:
        return parse_duration(value, unit=True)
    except ValueError as exc:
        raise ConfigError(flag, str(exc)) from None


def cmd_detect(args: argparse.Namespace, config: Config) -> int:
    import json

    from agentwatch.output import render_rows

    window, baseline = _duration(args.window, "--window"), _duration(args.baseline, "--baseline")
    answer = _operate(
        config,
        "detect",
        {
            "window": window,
            "baseline": baseline,
            "detectors": args.detector or None,
            "params": _parse_params(args.param or []),
            "write": not args.no_write,
        },
    )
    if args.format == "json":
        print(json.dumps(answer, indent=2))
    else:
        rows = [
            (f["severity"], f["detector"], f["session_id"] or f["agent_name"] or f["tool_name"], f["summary"])
            for f in answer["findings"]
        ]
        print(render_rows(["severity", "detector", "subject", "summary"], rows, max_width=args.max_width))
        for name, error in answer["errors"].items():
            print(f"detector {name} failed: {error}", file=sys.stderr)
    return 1 if answer["errors"] else 0


def cmd_evaluate(args: argparse.Namespace, config: Config) -> int:

    if args.judge:
        config = configure(store=args.store, database=args.database, judge=args.judge)
    if not 0 < args.sample <= 1:
        raise ConfigError("--sample", f"{args.sample} must be in (0, 1]")
    shard, _, shards = (args.shard or "0/1").partition("/")
    if not (shard.isdigit() and shards.isdigit() and int(shard) < int(shards)):
        raise ConfigError("--shard", f"{args.shard!r} must be I/N with 0 <= I < N")
    since_seconds = _duration(args.since, "--since")
    answer = _operate(
        config,
        "evaluate",
        {
            "since": since_seconds,
            "sample": args.sample,
            "shard": int(shard),
            "shards": int(shards),
            "judge": config.judge,
        },
    )
    print(
        f"{answer['judge']}: {answer['answers']} answers in {answer['seconds']:.1f}s — {answer['scored']} scored "
        f"({answer['cached']} from cache), {answer['skipped']} skipped, {answer['errors']} errors"
    )
    if answer["answers"] == 0 and answer.get("already_evaluated"):
        print(
            f"nothing new since {args.since} ago: its {answer['already_evaluated']} answer(s) were already evaluated "
            f"by {answer['judge']} (agentwatch serve's evaluator, or an earlier run)"
        )
    if answer["budget_exhausted"]:
        print("the judge's token budget for this hour is spent; the rest waits for the next run", file=sys.stderr)
    for message in answer["error_messages"]:
        print(f"  error: {message}", file=sys.stderr)
    return 0


def cmd_alerts_run(args: argparse.Namespace, config: Config) -> int:
    from agentwatch.alerts import load_rules
    from agentwatch.output import render_rows

    rules = str(Path(args.rules).resolve()) if args.rules else None
    load_rules(rules)  # a broken rules file is refused here, before anything runs
    outcomes = _operate(config, "alerts_run", {"rules": rules})["outcomes"]
    rows = [(o["rule"], o["findings"], o["firing"], o["pending"], o["notified"], o["problems"]) for o in outcomes]
    print(
        render_rows(["rule", "findings", "firing", "pending", "notified", "problems"], rows, max_width=args.max_width)
    )
    return 1 if any(o["error"] for o in outcomes) else 0


def cmd_alerts_list(args: argparse.Namespace, config: Config) -> int:
    import datetime as dt

    from agentwatch.alerts import AlertEngine, RuleStatus, load_rules, next_run
    from agentwatch.output import render_rows

    ruleset = load_rules(args.rules)
    with _open_for_reading(config) as store:
        engine = AlertEngine(store, ruleset)
        status = engine.rule_status()
        silences = engine.silences(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    rows = []
    for rule in ruleset.rules:
        seen = status.get(rule.name, RuleStatus())
        rows.append(
            (
                rule.name,
                rule.detector,
                rule.schedule_text,
                seen.last_run or "never",
                next_run(rule, seen.last_run) if seen.last_run else "now",
                ", ".join(seen.alerts) or "-",
                seen.error,
            )
        )
    print(
        render_rows(
            ["rule", "detector", "schedule", "last run", "next run", "alerts", "last error"],
            rows,
            max_width=args.max_width,
        )
    )
    for silence in silences:
        print(f"silence {silence['id']}: {silence['matchers']} until {silence['ends']} {silence['comment']}")
    return 0


def cmd_alerts_silence(args: argparse.Namespace, config: Config) -> int:
    import datetime as dt

    from agentwatch.alerts import load_rules

    matchers = _parse_params(args.match or [])
    if not matchers:
        raise ConfigError("--match", "give at least one label matcher, e.g. --match rule=runaway_loop")
    until = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(
        seconds=_duration(args.duration, "--for")
    )
    rules = str(Path(args.rules).resolve()) if args.rules else None
    load_rules(rules)
    answer = _operate(
        config,
        "alerts_silence",
        {"matchers": matchers, "until": until.isoformat(), "comment": args.comment or "", "rules": rules},
    )
    print(
        f"silence {answer['id']}: alerts matching {matchers} are not notified until {until.isoformat()}Z "
        f"({answer.get('matching', 0)} firing now; lift it with: agentwatch alerts unsilence {answer['id']})"
    )
    return 0


def cmd_alerts_unsilence(args: argparse.Namespace, config: Config) -> int:
    rules = str(Path(args.rules).resolve()) if args.rules else None
    answer = _operate(config, "alerts_unsilence", {"id": args.id, "rules": rules})
    if not answer["lifted"]:
        print(
            f"agentwatch: no silence {args.id!r} is on (agentwatch alerts list shows those that are)", file=sys.stderr
        )
        return 1
    print(f"silence {args.id} lifted: its alerts are notified again")
    return 0


def cmd_grafana_alerts(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from agentwatch.alerts import load_rules
    from agentwatch.dashboards.grafana import write_alert_provisioning

    target = write_alert_provisioning(load_rules(args.rules), Path(args.out), args.datasource_uid)
    print(f"wrote {target}")
    return 0


def cmd_grafana_export(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from agentwatch.alerts import load_rules
    from agentwatch.dashboards.grafana import DASHBOARDS_PATH, PLUGIN, export

    out = Path(args.out).resolve()
    written = export(config, out, load_rules(args.rules), query_url=args.query_url, server_url=args.server_url)
    print(f"wrote {len(written)} files under {out}")
    print(
        "run Grafana with them (on the same host as agentwatch serve):\n"
        f"  docker run --rm --network host -e GF_INSTALL_PLUGINS={PLUGIN} \\\n"
        f"    -v {out}/provisioning:/etc/grafana/provisioning -v {out}/dashboards:{DASHBOARDS_PATH} grafana/grafana\n"
        "then open http://127.0.0.1:3000 (admin/admin), folder agentwatch."
    )
    return 0


def cmd_audit(args: argparse.Namespace, config: Config) -> int:
    import datetime as dt
    from pathlib import Path

    from agentwatch.audit import render, run_audit

    window = _duration(args.window, "--window")
    if window <= 0:
        raise ConfigError("--window", "must be greater than 0")
    end = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    start = end - dt.timedelta(seconds=window)
    with _open_for_reading(config) as store:
        audit = run_audit(store, start=start, end=end, agent=args.agent)
    text = render(audit, args.format)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out} ({args.format}): fleet {audit.overall}, {len(audit.agents)} agent(s)")
    else:
        print(text)
    if args.agent and not audit.agents:
        print(f"agent {args.agent!r} was not seen in the last {args.window}", file=sys.stderr)
        return 3
    failing = audit.failing(args.fail_on) if args.fail_on else []
    if failing:
        names = ", ".join(a.agent for a in failing)
        print(f"audit: {names} {'not ready' if args.fail_on == 'not_ready' else 'at risk or worse'}", file=sys.stderr)
        return 1
    return 0


def cmd_grafana_preview(args: argparse.Namespace, config: Config) -> int:
    import datetime as dt
    from pathlib import Path

    from agentwatch.dashboards.preview import default_range, render_dashboards

    end = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    since = dt.timedelta(seconds=_duration(args.since, "--since")) if args.since else None
    chosen = {"session": args.session} if args.session else {}
    with _open_for_reading(config) as store:
        start = end - since if since else default_range(store, end)
        for path in render_dashboards(store, Path(args.out), start, end, chosen):
            print(f"wrote {path}")
    return 0


def cmd_serve(args: argparse.Namespace, config: Config, *, collector: bool = True) -> int:
    from agentwatch.alerts import load_rules
    from agentwatch.serve import Parts, run_server

    overrides = {
        k: v
        for k, v in {
            "collector_http": getattr(args, "http", None),
            "collector_grpc": getattr(args, "grpc", None),
            "spool_dir": getattr(args, "spool_dir", None),
            "query_http": getattr(args, "query_http", None),
        }.items()
        if v is not None
    }
    if overrides:
        config = configure(store=args.store, database=args.database, **overrides)
    shard, _, shards = (args.shard or "0/1").partition("/")
    if not (shard.isdigit() and shards.isdigit() and int(shard) < int(shards)):
        raise ConfigError("--shard", f"{args.shard!r} must be I/N with 0 <= I < N")
    parts = Parts(
        collector=collector and not args.no_collector,
        evaluator=not args.no_evaluator,
        alerts=not args.no_alerts,
        query=collector and not getattr(args, "no_query", False),
        shard=int(shard),
        shards=int(shards),
    )
    ruleset = load_rules(args.rules) if parts.alerts else None
    run_server(config, parts, ruleset, ready=lambda server: log.info("ready: %s", server.health()))
    return 0


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from agentwatch.demo.run import run_demo

    listen = {"collector_http": args.http, "collector_grpc": args.grpc, "query_http": args.query_http}
    return run_demo(seed=args.seed, store=args.store, keep=args.keep, timeout=args.timeout, listen=listen)


# -- parser ----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentwatch",
        description="Observability and evaluation for AI agents: spans into ClickHouse, evaluators, detectors, alerts.",
    )
    parser.add_argument("--log-level", help="log level (env AGENTWATCH_LOG_LEVEL)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser("version", help="print the version")
    p.set_defaults(handler=cmd_version)

    p = commands.add_parser(
        "llm-server", help="a scripted OpenAI/Anthropic-compatible model on loopback: try agentwatch without an API key"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0: any free port)")
    p.set_defaults(handler=cmd_llm_server)

    p = commands.add_parser("config", help="show every setting: environment variable, default, current value")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table", help="output format")
    p.add_argument("--markdown", action="store_true", help="same as --format markdown (the README's table)")
    p.set_defaults(handler=cmd_config)

    db = commands.add_parser("db", help="schema of the store")
    db_commands = db.add_subparsers(dest="db_command", metavar="COMMAND")
    p = db_commands.add_parser("init", help="create the database and apply pending migrations (safe to rerun)")
    _store_options(p)
    p.set_defaults(handler=cmd_db_init)
    p = db_commands.add_parser("status", help="show which migrations are applied")
    _store_options(p)
    p.set_defaults(handler=cmd_db_status)
    db.set_defaults(handler=_help_of(db))

    p = commands.add_parser(
        "collector",
        help="receive OTLP traces (HTTP and gRPC) and write them to the store",
        description="Runs until SIGTERM/SIGINT, then stops accepting and flushes its spool.",
    )
    p.add_argument("--http", help="OTLP/HTTP address, HOST:PORT or '' for off (env AGENTWATCH_COLLECTOR_HTTP)")
    p.add_argument("--grpc", help="OTLP/gRPC address, HOST:PORT or '' for off (env AGENTWATCH_COLLECTOR_GRPC)")
    p.add_argument("--spool-dir", help="write-ahead spool directory (env AGENTWATCH_SPOOL_DIR)")
    _store_options(p)
    p.set_defaults(handler=cmd_collector)

    p = commands.add_parser(
        "detect",
        help="run the SQL detectors over a recent window and record their findings",
        description="Exits non-zero only when a detector fails, not when it finds something.",
    )
    p.add_argument("--window", default="1h", help="how far back to look (e.g. 15m, 1h, 1d)")
    p.add_argument("--baseline", default="7d", help="the baseline before the window (e.g. 1d, 7d)")
    p.add_argument("--detector", action="append", metavar="NAME", help="run only this detector (repeatable)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="override a detector parameter")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--max-width", type=int, default=100, help="widest table cell before it is cut")
    p.add_argument("--no-write", action="store_true", help="print findings without recording them")
    _store_options(p)
    p.set_defaults(handler=cmd_detect)

    p = commands.add_parser(
        "audit",
        help="answer the six production-readiness questions for every agent, from the store",
        description="Each agent gets a verdict per question (ready, at risk, not ready, unknown) with the evidence "
        "behind it; an unknown answer makes the agent not ready. Exit status 1 with --fail-on when an agent fails, "
        "3 when --agent names one not seen.",
    )
    p.add_argument("--agent", help="audit only this agent")
    p.add_argument("--window", default="7d", help="how far back to look (e.g. 1h, 1d, 7d)")
    p.add_argument("--format", choices=("table", "json", "markdown", "html"), default="table")
    p.add_argument("--out", metavar="FILE", help="write the report to FILE instead of printing it")
    p.add_argument(
        "--fail-on",
        choices=("not_ready", "at_risk"),
        help="exit 1 when an agent is not ready (or at risk or worse): gate a deploy on a staging run",
    )
    _store_options(p)
    p.set_defaults(handler=cmd_audit)

    p = commands.add_parser("evaluate", help="score recent answers for grounding, relevance and calibration")
    p.add_argument("--since", default="1h", help="how far back to look (e.g. 30m, 1h, 1d)")
    p.add_argument("--judge", choices=("heuristic", "openai"), help="judge (env AGENTWATCH_JUDGE)")
    p.add_argument("--sample", type=float, default=1.0, help="share of traces to evaluate, by trace id (0-1]")
    p.add_argument("--shard", help="I/N: evaluate only this worker's share of traces")
    _store_options(p)
    p.set_defaults(handler=cmd_evaluate)

    alerts = commands.add_parser("alerts", help="alert rules: run them, list them, silence alerts")
    alert_commands = alerts.add_subparsers(dest="alerts_command", metavar="COMMAND")
    for name, handler, text in (
        ("run", cmd_alerts_run, "run every rule once and deliver notifications"),
        ("list", cmd_alerts_list, "rules, their last and next run, and their alerts"),
        ("silence", cmd_alerts_silence, "stop notifications for alerts matching labels"),
        ("unsilence", cmd_alerts_unsilence, "lift a silence before it ends (its id: agentwatch alerts list)"),
    ):
        p = alert_commands.add_parser(name, help=text)
        p.add_argument("--rules", help="rules file (env AGENTWATCH_RULES; default: the shipped rules)")
        p.add_argument("--max-width", type=int, default=80, help=argparse.SUPPRESS)
        if name == "silence":
            p.add_argument("--match", action="append", metavar="LABEL=VALUE", help="label matcher (repeatable)")
            p.add_argument("--for", dest="duration", default="2h", help="how long (e.g. 30m, 2h, 1d)")
            p.add_argument("--comment", help="why")
        if name == "unsilence":
            p.add_argument("id", help="the silence's id")
        _store_options(p)
        p.set_defaults(handler=handler)
    alerts.set_defaults(handler=_help_of(alerts))

    grafana = commands.add_parser("grafana", help="Grafana provisioning files")
    grafana_commands = grafana.add_subparsers(dest="grafana_command", metavar="COMMAND")
    p = grafana_commands.add_parser("alerts", help="write Grafana alert rules equivalent to the agentwatch rules")
    p.add_argument("--out", required=True, help="directory to write into")
    p.add_argument("--rules", help="rules file (env AGENTWATCH_RULES; default: the shipped rules)")
    p.add_argument("--datasource-uid", default="agentwatch-clickhouse", help="uid of the ClickHouse datasource")
    p.set_defaults(handler=cmd_grafana_alerts)
    p = grafana_commands.add_parser(
        "export", help="write the dashboards and provisioning files (datasources, dashboards, alert rules)"
    )
    p.add_argument("--out", required=True, help="directory to write into")
    p.add_argument(
        "--query-url", help="agentwatch serve's query endpoint as Grafana reaches it (default from settings)"
    )
    p.add_argument("--server-url", help="a ClickHouse server's HTTP URL for the second datasource")
    p.add_argument("--rules", help="rules file (env AGENTWATCH_RULES; default: the shipped rules)")
    _store_options(p)
    p.set_defaults(handler=cmd_grafana_export)
    p = grafana_commands.add_parser("preview", help="render every dashboard from the store to PNG")
    p.add_argument("--out", required=True, help="directory to write the PNGs into")
    p.add_argument(
        "--since", help="time range, back from now (e.g. 6h, 2d); default: from the store's first span, 24h at most"
    )
    p.add_argument("--session", help="session for the Session dashboard (default: the most recent)")
    _store_options(p)
    p.set_defaults(handler=cmd_grafana_preview)
    grafana.set_defaults(handler=_help_of(grafana))

    for name, text in (
        ("serve", "the whole pipeline in one process: collector, evaluators, detectors and alerts"),
        ("worker", "evaluators, detectors and alerts without a collector (the OTel Collector feeds the store)"),
    ):
        p = commands.add_parser(name, help=text, description="Runs until SIGTERM/SIGINT; then flushes and stops.")
        if name == "serve":
            p.add_argument("--http", help="OTLP/HTTP address or '' for off (env AGENTWATCH_COLLECTOR_HTTP)")
            p.add_argument("--grpc", help="OTLP/gRPC address or '' for off (env AGENTWATCH_COLLECTOR_GRPC)")
            p.add_argument("--spool-dir", help="write-ahead spool directory (env AGENTWATCH_SPOOL_DIR)")
            p.add_argument("--no-collector", action="store_true", help="do not receive spans")
            p.add_argument(
                "--query-http", help="ClickHouse HTTP query endpoint address or '' for off (env AGENTWATCH_QUERY_HTTP)"
            )
            p.add_argument("--no-query", action="store_true", help="do not serve the read-only query endpoint")
        p.add_argument("--no-evaluator", action="store_true", help="do not score answers")
        p.add_argument("--no-alerts", action="store_true", help="do not run detectors and alert rules")
        p.add_argument("--rules", help="alert rules file (env AGENTWATCH_RULES; default: the shipped rules)")
        p.add_argument("--shard", help="I/N: this worker's share of the evaluations (several workers, one store)")
        _store_options(p)
        p.set_defaults(
            handler=cmd_serve if name == "serve" else (lambda a, c: cmd_serve(a, c, collector=False)),
            no_collector=name == "worker",
        )

    p = commands.add_parser("demo", help="see agentwatch catch all six failure modes, live, in under a minute")
    p.add_argument("--seed", type=int, default=7, help="makes the run repeatable")
    p.add_argument("--keep", action="store_true", help="keep serving afterwards, to explore")
    p.add_argument("--timeout", type=float, default=50.0, help="seconds to wait for every failure to be caught")
    for flag, variable, what in (
        ("--http", "AGENTWATCH_COLLECTOR_HTTP", "OTLP/HTTP"),
        ("--grpc", "AGENTWATCH_COLLECTOR_GRPC", "OTLP/gRPC (empty: off)"),
        ("--query-http", "AGENTWATCH_QUERY_HTTP", "the ClickHouse HTTP query endpoint (empty: off)"),
    ):
        p.add_argument(
            flag, metavar="HOST:PORT", help=f"address of {what}; default: env {variable} if set, else a free port"
        )
    _store_options(p)
    p.set_defaults(handler=cmd_demo)

    p = commands.add_parser(
        "sql",
        help="run ad-hoc SQL, or a shipped investigation query, against the store",
        description='Values go in bound parameters: agentwatch sql "SELECT * FROM agent_spans '
        'WHERE SessionId = {s:String}" --param s=abc',
    )
    p.add_argument("statement", nargs="?", help="the SQL to run")
    p.add_argument("--query", help="name of a query in sql/queries/ to run instead")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="bind {NAME:Type} (repeatable)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    p.add_argument("--max-width", type=int, default=60, help="widest table cell before it is cut")
    _store_options(p)
    p.set_defaults(handler=cmd_sql)
    return parser


def _help_of(parser: argparse.ArgumentParser) -> Handler:
    """The handler of a command group given without its subcommand: its help, exit 2."""

    def show(_args: argparse.Namespace, _config: Config) -> int:
        parser.print_help()
        return 2

    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Exit codes: 0 done, 1 an error (or a check that failed), 2 a usage or configuration mistake, 130 Ctrl-C,
    143 SIGTERM before the command finished (servers stop cleanly on SIGTERM once serving and exit 0)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, raise_terminated)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "command", None) != "grafana":  # a store, a spool, a report: readable by their owner only
        os.umask(0o077)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        config = _config(args)
        level = (args.log_level or config.log_level).upper()
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        if logging.getLevelName(level) > logging.DEBUG:
            for chatty in _CHATTY_LOGGERS:  # one INFO line per HTTP request (every judge call): debug detail
                logging.getLogger(chatty).setLevel(logging.WARNING)
        return handler(args, config)
    except ConfigError as exc:
        option = _OPTIONS.get(exc.setting)  # a keyword the command line gave: name its option, not a variable
        shown = f"{option}: {exc.message}" if option and getattr(args, exc.setting, None) is not None else exc
        print(f"agentwatch: configuration error: {shown}", file=sys.stderr)
        return 2
    except AgentwatchError as exc:
        print(f"agentwatch: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Terminated:
        return 143
    except BrokenPipeError:  # `agentwatch sql … | head`: the reader has what it wanted; not an error to report
        _quiet_stdout()
        return 141  # as a shell reports a command ended by SIGPIPE


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so Python's flush at exit does not fail a second time on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
