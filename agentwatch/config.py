"""agentwatch's settings: one table, each with its environment variable, type, default and doc.

The :class:`Config` dataclass *is* the table: every field carries its environment variable (``AGENTWATCH_*``,
or the standard ``OTEL_*`` name where one exists) and a one-line doc. Values come from, in order: keywords
given to :func:`configure`, the environment, the default.

Each setting belongs to a side. The **agent** side (export, content capture, redaction, guards) is what an
instrumented application reads, through :func:`configure_agent`: it looks at nothing else, and a bad value there is
logged once and replaced by its default, because telemetry must never stop the application from starting. The
**server** side (store, collector, query endpoint, judge) is read with every other setting by :func:`configure`,
where an invalid value fails at start-up with a :class:`~agentwatch.errors.ConfigError` that names it.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_type_hints

from agentwatch.dsn import StoreDsn, default_store_path, parse_store_dsn
from agentwatch.errors import ConfigError

__all__ = ["Config", "Side", "configure", "configure_agent", "get_config", "mask", "settings_table"]

log = logging.getLogger("agentwatch.config")
Side = Literal["agent", "server"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str, *, unit: bool = False) -> float:
    """``'90'``, ``'90s'``, ``'5m'``, ``'1h'``, ``'250ms'`` → seconds. With ``unit``, a bare number is refused: a
    command's ``--window 15`` means 15 minutes or days to whoever typed it, never the 15 seconds it would be."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration (e.g. 30s, 5m, 1h)")
    if unit and match.group(2) is None:
        raise ValueError(f"{str(text).strip()!r} has no unit (e.g. 15m, 1h, 7d)")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def _setting(
    env: str,
    default: Any,
    doc: str,
    *,
    alt: tuple[str, ...] = (),
    check: Callable[[Any], str | None] | None = None,
    parse: Callable[[Any], Any] | None = None,
    secret: bool = False,
    side: Side = "server",
    blank: bool = False,
) -> Any:
    """A field of the settings table. A callable ``default`` is resolved when settings are, not at import.
    A ``secret`` one is never shown: not by ``agentwatch config``, not in ``repr``, logs or error messages.
    ``side`` says who reads it: the instrumented application (agent) or agentwatch's own processes (server).
    ``parse`` reads a raw value in place of the type's own rule (raising ValueError for a bad one).
    ``blank``: a variable set to "" is that value (a listener switched off), not unset."""
    metadata = {
        "env": env,
        "alt": alt,
        "doc": doc,
        "check": check,
        "parse": parse,
        "secret": secret,
        "side": side,
        "blank": blank,
    }
    if callable(default):
        return field(default_factory=default, metadata=metadata)
    return field(default=default, metadata=metadata)


def _default(f: dataclasses.Field[Any]) -> Any:
    return f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[operator]


def _default_store() -> str:
    return f"chdb://{default_store_path()}"


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
# OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is shared with other GenAI instrumentations, which set the
# values the semantic conventions define: where content goes (span, event) is theirs to choose; agentwatch reads
# both, so any of them but NO_CONTENT means "capture".
_CAPTURE_MODES = {"span_only": True, "event_only": True, "span_and_event": True, "no_content": False}


def _capture_mode(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    if text in _CAPTURE_MODES:
        return _CAPTURE_MODES[text]
    raise ValueError(f"{raw!r} is not a boolean (true/false) nor SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT, NO_CONTENT")


def _identifier_or_empty(value: str) -> str | None:
    if value and not _IDENTIFIER.match(value):
        return "must be a ClickHouse identifier (letters, digits, underscore; not starting with a digit)"
    return None


def _identifier(value: str) -> str | None:
    return "must not be empty" if not value else _identifier_or_empty(value)


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _store(value: str) -> str | None:
    parse_store_dsn(value)  # raises ConfigError naming AGENTWATCH_STORE
    return None


def _address(value: str) -> str | None:
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        return "must be HOST:PORT (e.g. 127.0.0.1:4318), or empty to switch it off"
    return None


def _default_spool() -> str:
    return str(default_store_path().parent / "spool")


def _patterns(value: str) -> str | None:
    """Extra redaction patterns must compile, in the subset both engines share (Python ``re`` in the SDK, RE2 at the
    collector): a pattern that cannot work would send every span to rejected/ or mask nothing."""
    for pattern in (p for p in value.split(";;") if p.strip()):
        if re.search(r"\(\?<?[=!]|\\[1-9]", pattern):
            return f"pattern {pattern!r} uses look-around or a back-reference, which RE2 (the collector) lacks"
        try:
            re.compile(pattern)
        except re.error as exc:
            return f"pattern {pattern!r} is not a valid regular expression ({exc})"
    return None


def _at_least_one(value: int | None) -> str | None:
    return None if value is None or value >= 1 else "must be at least 1 (leave it unset for no limit)"


def _positive_or_unset(value: float | None) -> str | None:
    return None if value is None or value > 0 else "must be greater than 0 (leave it unset for no limit)"


# What the OpenTelemetry specification allows. The Python SDK has no OTLP/JSON exporter, so http/json exports
# protobuf over the same HTTP endpoint, which every OTLP receiver (agentwatch's collector included) accepts.
PROTOCOLS = ("http/protobuf", "http/json", "grpc")


def _log_level(value: str) -> str | None:
    levels = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    return None if value.upper() in levels else f"must be one of {', '.join(levels)}"


@dataclass(frozen=True, kw_only=True)
class Config:
    """Resolved settings. Build it with :func:`configure`; read the current one with :func:`get_config`."""

    # store
    store: str = _setting(
        "AGENTWATCH_STORE",
        _default_store,
        "Where spans and results live: chdb://PATH (embedded) or http(s)://[user:pass@]host:port.",
        check=_store,
        secret=True,  # may hold a password: shown with it masked
    )
    database: str = _setting(
        "AGENTWATCH_DATABASE", "agentwatch", "ClickHouse database holding agentwatch's tables.", check=_identifier
    )
    cluster: str = _setting(
        "AGENTWATCH_CLUSTER",
        "",
        "ClickHouse cluster name: DDL renders ON CLUSTER with Replicated engines when set.",
        check=_identifier_or_empty,
    )
    traces_retention_days: int = _setting(
        "AGENTWATCH_TRACES_RETENTION_DAYS", 30, "Days otel_traces and agent_spans keep rows (TTL).", check=_positive
    )
    evaluations_retention_days: int = _setting(
        "AGENTWATCH_EVALUATIONS_RETENTION_DAYS", 90, "Days evaluations keep rows (TTL).", check=_positive
    )
    findings_retention_days: int = _setting(
        "AGENTWATCH_FINDINGS_RETENTION_DAYS", 180, "Days findings and alerts keep rows (TTL).", check=_positive
    )
    # agent side
    service_name: str = _setting(
        "OTEL_SERVICE_NAME",
        "unknown_service",
        "service.name of the instrumented process.",
        alt=("AGENTWATCH_SERVICE_NAME",),
        side="agent",
    )
    endpoint: str = _setting(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://127.0.0.1:4318",
        "OTLP endpoint spans are exported to.",
        alt=("AGENTWATCH_ENDPOINT",),
        side="agent",
    )
    headers: str = _setting(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "",
        "Extra OTLP export headers, k=v comma-separated (e.g. authorization=Bearer …).",
        secret=True,
        side="agent",
    )
    capture_content: bool = _setting(
        "AGENTWATCH_CAPTURE_CONTENT",
        True,
        "Record prompts, answers, tool arguments and results (secrets redacted). Also takes the GenAI conventions' "
        "SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT (on) and NO_CONTENT (off).",
        alt=("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",),
        parse=_capture_mode,
        side="agent",
    )
    redact_emails: bool = _setting(
        "AGENTWATCH_REDACT_EMAILS", False, "Also mask email addresses in captured content.", side="agent"
    )
    protocol: str = _setting(
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "http/protobuf",
        "OTLP protocol the SDK exports with: http/protobuf, http/json (sent as protobuf) or grpc.",
        check=lambda v: None if v in PROTOCOLS else f"must be one of {', '.join(PROTOCOLS)}",
        side="agent",
    )
    max_content_length: int = _setting(
        "AGENTWATCH_MAX_CONTENT_LENGTH",
        16384,
        "Longest captured content value, in characters; longer is truncated.",
        check=_positive,
        side="agent",
    )
    raise_instrumentation_errors: bool = _setting(
        "AGENTWATCH_RAISE_INSTRUMENTATION_ERRORS",
        False,
        "Raise failures inside agentwatch's instrumentation into the application instead of logging and swallowing "
        "them: for agentwatch's own tests, never in production.",
        side="agent",
    )
    agent_name: str = _setting(
        "AGENTWATCH_AGENT_NAME",
        "",
        "Agent name of runs read from plain LLM loops, outside @agentwatch.agent (empty: the service name).",
        side="agent",
    )
    conversations: bool = _setting(
        "AGENTWATCH_CONVERSATIONS",
        True,
        "Read agent runs, sessions and tool calls from the conversations of plain LLM loops (no decorators).",
        side="agent",
    )
    # agent side: guards (global defaults for every agent run; @agent(guards=...) overrides them)
    max_steps: int | None = _setting(
        "AGENTWATCH_MAX_STEPS",
        None,
        "Most steps one agent run may take (unset: no cap).",
        check=_at_least_one,
        side="agent",
    )
    max_tokens: int | None = _setting(
        "AGENTWATCH_MAX_TOKENS",
        None,
        "Most LLM tokens one agent run may use (unset: no cap).",
        check=_at_least_one,
        side="agent",
    )
    max_cost_usd: float | None = _setting(
        "AGENTWATCH_MAX_COST_USD",
        None,
        "Most an agent run may spend on LLM calls, in USD (unset: no cap).",
        check=_positive_or_unset,
        side="agent",
    )
    max_seconds: float | None = _setting(
        "AGENTWATCH_MAX_SECONDS",
        None,
        "Longest an agent run may take (e.g. 90s, 5m; unset: no cap).",
        check=_positive_or_unset,
        side="agent",
    )
    max_repeats: int | None = _setting(
        "AGENTWATCH_MAX_REPEATS",
        None,
        "Identical tool calls (same tool, same arguments) one run may make (unset: any).",
        check=_at_least_one,
        side="agent",
    )
    approved_actions: str = _setting(
        "AGENTWATCH_APPROVED_ACTIONS", "", "Irreversible tools approved in advance, comma-separated.", side="agent"
    )
    enforce_scope: bool = _setting(
        "AGENTWATCH_ENFORCE_SCOPE",
        False,
        "Refuse tools outside an agent's allowed_tools (ScopeViolationError).",
        side="agent",
    )
    require_approval: bool = _setting(
        "AGENTWATCH_REQUIRE_APPROVAL",
        False,
        "Irreversible tools need an approval (ApprovalRequiredError).",
        side="agent",
    )
    # collector
    ingest_token: str = _setting(
        "AGENTWATCH_INGEST_TOKEN", "", "Bearer token the collector requires from senders (empty: none).", secret=True
    )
    collector_http: str = _setting(
        "AGENTWATCH_COLLECTOR_HTTP",
        "127.0.0.1:4318",
        "OTLP/HTTP listen address (empty: off).",
        check=_address,
        blank=True,
    )
    collector_grpc: str = _setting(
        "AGENTWATCH_COLLECTOR_GRPC",
        "127.0.0.1:4317",
        "OTLP/gRPC listen address (empty: off).",
        check=_address,
        blank=True,
    )
    spool_dir: str = _setting(
        "AGENTWATCH_SPOOL_DIR", _default_spool, "Directory of the collector's write-ahead spool of accepted spans."
    )
    spool_max_bytes: int = _setting(
        "AGENTWATCH_SPOOL_MAX_BYTES", 1 << 30, "Spool size at which the collector answers 503.", check=_positive
    )
    spool_min_free_bytes: int = _setting(
        "AGENTWATCH_SPOOL_MIN_FREE_BYTES",
        64 << 20,
        "Free space kept on the spool's disk: below it the collector answers 503 (0: keep none).",
        check=lambda v: None if v >= 0 else "must be 0 or more",
    )
    rejected_max_bytes: int = _setting(
        "AGENTWATCH_REJECTED_MAX_BYTES",
        64 << 20,
        "Bytes of refused requests kept in the spool's rejected/ folder for inspection; the oldest go first.",
        check=_positive,
    )
    queue_max_spans: int = _setting(
        "AGENTWATCH_QUEUE_MAX_SPANS", 200_000, "Spans accepted but not yet written before 503s.", check=_positive
    )
    batch_max_spans: int = _setting(
        "AGENTWATCH_BATCH_MAX_SPANS", 30_000, "Spans per insert into ClickHouse, at most (and 32 MiB).", check=_positive
    )
    batch_max_age: float = _setting(
        "AGENTWATCH_BATCH_MAX_AGE", 0.2, "Seconds a span waits for its batch to fill (e.g. 200ms).", check=_positive
    )
    max_request_bytes: int = _setting(
        "AGENTWATCH_MAX_REQUEST_BYTES", 64 << 20, "Largest OTLP request, also after decompression.", check=_positive
    )
    request_timeout: float = _setting(
        "AGENTWATCH_REQUEST_TIMEOUT",
        30.0,
        "Seconds a sender has to send one OTLP/HTTP request body; a slower one gets 408 (e.g. 30s).",
        check=_positive,
    )
    max_attribute_length: int = _setting(
        "AGENTWATCH_MAX_ATTRIBUTE_LENGTH",
        65536,
        "Longest stored attribute value in bytes; longer ones are cut and marked.",
        check=_positive,
    )
    redact_patterns: str = _setting(
        "AGENTWATCH_REDACT_PATTERNS",
        "",
        "Extra secret patterns (RE2, ';;'-separated) masked before storage, besides the built-in ones.",
        check=_patterns,
        side="agent",  # the SDK masks them too, before anything leaves the process
    )
    # query endpoint
    query_http: str = _setting(
        "AGENTWATCH_QUERY_HTTP",
        "127.0.0.1:8123",
        "ClickHouse HTTP query endpoint of agentwatch serve over the embedded store (empty: off).",
        check=_address,
        blank=True,
    )
    control_http: str = _setting(
        "AGENTWATCH_CONTROL_HTTP",
        "127.0.0.1:0",
        "Control interface of agentwatch serve over the embedded store, which detect, alerts and evaluate use while "
        "serve holds the store (port 0: a free one, written to the store's control file; empty: off).",
        check=_address,
        blank=True,
    )
    query_user: str = _setting("AGENTWATCH_QUERY_USER", "default", "User the query endpoint accepts.")
    query_password: str = _setting(
        "AGENTWATCH_QUERY_PASSWORD",
        "",
        "Password the query endpoint requires (empty: none, as ClickHouse's default).",
        secret=True,
    )
    allowed_hosts: str = _setting(
        "AGENTWATCH_ALLOWED_HOSTS",
        "",
        "Host names the listeners answer besides localhost, their own and IP addresses, comma-separated (* for any).",
    )
    query_origins: str = _setting(
        "AGENTWATCH_QUERY_ORIGINS",
        "",
        "Web origins (scheme://host:port, comma-separated) whose browser requests the query endpoint accepts; "
        "requests from any other origin are refused (empty: none — Grafana's server-side datasource sends none).",
    )
    query_max_result_rows: int = _setting(
        "AGENTWATCH_QUERY_MAX_RESULT_ROWS", 1_000_000, "Most rows one endpoint query may return.", check=_positive
    )
    query_max_result_bytes: int = _setting(
        "AGENTWATCH_QUERY_MAX_RESULT_BYTES", 64 << 20, "Largest result of one endpoint query.", check=_positive
    )
    query_timeout: float = _setting(
        "AGENTWATCH_QUERY_TIMEOUT", 60.0, "Seconds one endpoint query may run (e.g. 30s, 2m).", check=_positive
    )
    query_concurrency: int = _setting(
        "AGENTWATCH_QUERY_CONCURRENCY",
        max(1, (os.cpu_count() or 2) // 2),
        "Endpoint queries running at once (default: half the cores, so ingestion keeps the other half).",
        check=_positive,
    )
    query_threads: int = _setting(
        "AGENTWATCH_QUERY_THREADS",
        1,
        "Threads one endpoint query may use (a client may ask for fewer).",
        check=_positive,
    )
    query_queue: int = _setting(
        "AGENTWATCH_QUERY_QUEUE",
        8,
        "Endpoint queries that may wait for a turn; more are answered 503 with Retry-After.",
        check=_positive,
    )
    query_queue_timeout: float = _setting(
        "AGENTWATCH_QUERY_QUEUE_TIMEOUT",
        1.0,
        "Seconds a query waits for a turn before it is answered 503 with Retry-After (e.g. 500ms).",
        check=_positive,
    )
    query_max_memory: int = _setting(
        "AGENTWATCH_QUERY_MAX_MEMORY",
        1 << 30,
        "Memory one endpoint query may use, in bytes, so a heavy query cannot starve ingestion.",
        check=_positive,
    )
    # evaluators
    judge: str = _setting(
        "AGENTWATCH_JUDGE",
        "heuristic",
        "Judge the evaluators use: heuristic (offline) or openai.",
        check=lambda v: None if v in ("heuristic", "openai") else "must be heuristic or openai",
    )
    judge_base_url: str = _setting(
        "AGENTWATCH_JUDGE_BASE_URL", "https://api.openai.com/v1", "OpenAI-compatible endpoint of the LLM judge."
    )
    judge_model: str = _setting("AGENTWATCH_JUDGE_MODEL", "gpt-4o-mini", "Model of the LLM judge.")
    judge_api_key: str = _setting(
        "AGENTWATCH_JUDGE_API_KEY",
        "",
        "API key of the LLM judge (falls back to OPENAI_API_KEY).",
        alt=("OPENAI_API_KEY",),
        secret=True,
    )
    judge_concurrency: int = _setting(
        "AGENTWATCH_JUDGE_CONCURRENCY", 4, "LLM judge calls in flight at once.", check=_positive
    )
    judge_tokens_per_hour: int = _setting(
        "AGENTWATCH_JUDGE_TOKENS_PER_HOUR",
        500_000,
        "Token budget of the LLM judge per hour; then it stops.",
        check=_positive,
    )
    judge_timeout: float = _setting(
        "AGENTWATCH_JUDGE_TIMEOUT", 30.0, "Seconds one judge call may take.", check=_positive
    )
    # server side
    log_level: str = _setting("AGENTWATCH_LOG_LEVEL", "INFO", "Log level of agentwatch's own logger.", check=_log_level)
    rules: str = _setting(
        "AGENTWATCH_RULES",
        "",
        "Alert rules file (YAML) for serve, alerts and detect; empty: the shipped rules.",
    )

    @property
    def store_dsn(self) -> StoreDsn:
        return parse_store_dsn(self.store)

    def shown(self, name: str) -> str:
        """The setting as it may be printed: secrets masked (a store DSN keeps all but its password)."""
        value = getattr(self, name)
        if not _fields()[name].metadata["secret"] or value in ("", None):
            return str(value)
        return mask(name, value)

    def __repr__(self) -> str:
        return f"Config({', '.join(f'{name}={self.shown(name)!r}' for name in _fields())})"


def mask(name: str, value: Any) -> str:
    """A secret setting's value as it may be shown."""
    if name == "store":
        try:
            return parse_store_dsn(str(value)).redacted()
        except ConfigError:
            return "•••"
    return "•••"


def _fields() -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(Config)}


def _kind(hint: Any) -> tuple[type, bool]:
    """The type of a setting and whether it may be unset (``int | None``)."""
    if isinstance(hint, types.UnionType):
        inner = [t for t in get_args(hint) if t is not type(None)]
        return inner[0], True
    return hint, False


def _convert(name: str, hint: Any, raw: Any) -> Any:
    kind, optional = _kind(hint)
    if optional and (raw is None or (isinstance(raw, str) and not raw.strip())):
        return None
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(f"{raw!r} is not a boolean (true/false)")
    if kind is int:
        if isinstance(raw, bool) or not re.fullmatch(r"\s*-?\d+\s*", str(raw)):
            raise ValueError(f"{raw!r} is not an integer")
        return int(raw)
    if kind is float:
        return parse_duration(raw) if isinstance(raw, str) else float(raw)
    return str(raw)


def settings_table() -> list[dict[str, Any]]:
    """The settings as rows (name, env, alternatives, type, default, doc, secret, side), e.g. for the README."""
    hints = get_type_hints(Config)
    return [
        {
            "name": f.name,
            "env": f.metadata["env"],
            "alt": f.metadata["alt"],
            "type": _kind(hints[f.name])[0].__name__,
            "default": _default(f),
            "doc": f.metadata["doc"],
            "secret": f.metadata["secret"],
            "side": f.metadata["side"],
        }
        for f in dataclasses.fields(Config)
    ]


def _resolve(f: dataclasses.Field[Any], hint: Any, values: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    """A setting's value: the keyword, else the first of its environment variables set, else its default. Raises
    ConfigError for an invalid one, naming the keyword or variable it came by (a secret's value is never shown)."""
    name = f.name
    label = name
    if name in values and values[name] is not None:
        raw = values[name]
    else:
        raw = _default(f)
        for var in (f.metadata["env"], *f.metadata["alt"]):
            if env.get(var, "") != "" or (f.metadata["blank"] and var in env):
                raw, label = env[var], var
                break
    try:
        parse = f.metadata["parse"]
        value = parse(raw) if parse else _convert(name, hint, raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(label, "is not valid" if f.metadata["secret"] else str(exc)) from None
    check = f.metadata["check"]
    try:
        problem = check(value) if check else None
    except ConfigError as exc:  # a check that raises names the variable; the value may have come another way
        raise ConfigError(label, exc.message) from None
    if problem:
        shown = mask(name, value) if f.metadata["secret"] else repr(value)
        raise ConfigError(label, f"{shown} {problem}")
    return value


def _unknown(values: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(fields))
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(unknown[0], f"is not an agentwatch setting{hint}")


_warned: set[tuple[str, str]] = set()
# AGENTWATCH_* variables agentwatch sets for processes of its own (the demo's fleet), not settings
_INTERNAL = frozenset({"AGENTWATCH_DEMO_LLM", "AGENTWATCH_DEMO_SEED"})


def _warn_unknown_variables(env: Mapping[str, str]) -> None:
    """An AGENTWATCH_* variable that is no setting is a typo as a rule (AGENTWATCH_COLECTOR_HTTP): ignored, it
    would leave the setting it meant at its default without a word. Said once per process, with the closest name."""
    known = {v for f in dataclasses.fields(Config) for v in (f.metadata["env"], *f.metadata["alt"])}
    for name in sorted(env):
        if not name.startswith("AGENTWATCH_") or name in known or name in _INTERNAL:
            continue
        key = ("unknown variable", name)
        if key in _warned:
            continue
        _warned.add(key)
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        log.warning("agentwatch: %s is not an agentwatch setting%s; it is ignored", name, hint)


def configure(*, environ: Mapping[str, str] | None = None, **values: Any) -> Config:
    """Resolve every setting from keywords, then the environment, then defaults; validate; make them current.

    Keywords are the field names of :class:`Config` (``store=``, ``database=`` …). For agentwatch's own processes:
    an invalid value of any side raises :class:`~agentwatch.errors.ConfigError`.
    """
    global _current
    env = os.environ if environ is None else environ
    fields = _fields()
    _unknown(values, fields)
    _warn_unknown_variables(env)
    hints = get_type_hints(Config)
    resolved = {name: _resolve(f, hints[name], values, env) for name, f in fields.items()}
    _current = Config(**resolved)
    return _current


def configure_agent(*, environ: Mapping[str, str] | None = None, **values: Any) -> Config:
    """The settings an instrumented application uses: the agent side only, read leniently.

    Server-side settings are not read at all (they keep their defaults here), so garbage in ``AGENTWATCH_STORE`` or
    ``AGENTWATCH_QUERY_TIMEOUT`` cannot reach the application. An invalid agent-side value from the environment is
    logged once and replaced by its default; an invalid keyword is the caller's own code, and raises ConfigError.
    The result is not made current (``get_config()`` stays the server's).
    """
    env = os.environ if environ is None else environ
    fields = _fields()
    _unknown(values, fields)
    _warn_unknown_variables(env)
    hints = get_type_hints(Config)
    resolved: dict[str, Any] = {}
    for name, f in fields.items():
        if f.metadata["side"] != "agent":
            continue
        try:
            resolved[name] = _resolve(f, hints[name], values, env)
        except ConfigError as exc:
            if name in values and values[name] is not None:
                raise
            resolved[name] = _default(f)
            key = (exc.setting, str(exc))
            if key not in _warned:
                _warned.add(key)
                shown = "•••" if f.metadata["secret"] else repr(resolved[name])
                log.warning("agentwatch: %s; using the default (%s)", exc, shown)
    return Config(**resolved)


def setting_from_env(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One agent-side setting from the environment, leniently (its default when invalid): for the few the
    instrumentation needs before, or without, ``instrument()``."""
    f = _fields()[name]
    try:
        return _resolve(f, get_type_hints(Config)[name], {}, os.environ if environ is None else environ)
    except ConfigError:
        return _default(f)


_current: Config | None = None


def get_config() -> Config:
    """The current settings, resolving them from the environment on first use."""
    return _current if _current is not None else configure()
