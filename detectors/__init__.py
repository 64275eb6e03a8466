"""Running the SQL detectors (``sql/detectors/*.sql``) and recording their findings.

A detector file has a header — ``name``, ``failure_mode``, ``severity``, ``schedule``, ``description`` and
``param.NAME: Type = default | doc`` lines — and one query over ``{start}``/``{end}`` (the window) and
``{baseline_start}`` (the baseline runs from there to the window's start), plus its own parameters, all bound.
Each output row is a finding with the columns of :data:`FINDING_COLUMNS`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from agentwatch.config import parse_duration
from agentwatch.errors import AgentwatchError, ConfigError, StoreError
from agentwatch.sqlfiles import SqlFile, list_sql, load_sql
from agentwatch.store import Store, map_with_clients

__all__ = ["FINDING_COLUMNS", "Detector", "DetectorRun", "Finding", "load_detectors", "run_detectors"]

log = logging.getLogger("agentwatch.detectors")

FINDING_COLUMNS = (
    "fingerprint",
    "severity",
    "service_name",
    "session_id",
    "trace_id",
    "agent_name",
    "tool_name",
    "summary",
    "value",
    "evidence",
    "details",
)
SEVERITIES = ("info", "warning", "critical")
FAILURE_MODES = (
    "context_degradation",
    "silent_wrong_answers",
    "tool_schema_drift",
    "runaway_loops_and_cost",
    "permission_explosion",
    "goal_drift",
)
_PARAM = re.compile(r"^(?P<type>[A-Za-z0-9]+)\s*=\s*(?P<default>[^|]+?)\s*(?:\|\s*(?P<doc>.*))?$")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    doc: str

    def parse(self, value: Any) -> Any:
        try:
            if self.type.startswith(("UInt", "Int")):
                number = int(value)
                if self.type.startswith("UInt") and number < 0:
                    raise ValueError("must not be negative")
                return number
            if self.type.startswith("Float"):
                return float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"param {self.name}", f"{value!r} is not a valid {self.type} ({exc})") from None
        return str(value)


@dataclass(frozen=True)
class Detector:
    name: str
    failure_mode: str
    severity: str
    schedule: float
    description: str
    params: dict[str, Param]
    sql: SqlFile

    @property
    def file(self) -> str:
        return f"sql/{self.sql.name}.sql"

    def parameters(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        values = {name: p.default for name, p in self.params.items()}
        for name, value in (overrides or {}).items():
            if name in self.params:
                values[name] = self.params[name].parse(value)
        values["severity"] = (overrides or {}).get("severity", self.severity)
        return values


def _detector(sql: SqlFile) -> Detector:
    header = sql.header
    name = header.get("name", sql.name.split("/")[-1])
    params = {}
    for key, text in header.items():
        if not key.startswith("param."):
            continue
        match = _PARAM.match(text)
        if not match:
            raise AgentwatchError(f"sql/{sql.name}.sql: cannot read parameter line {key}: {text!r}")
        param = Param(key[6:], match["type"], None, match["doc"] or "")
        params[param.name] = Param(param.name, param.type, param.parse(match["default"]), param.doc)
    severity = header.get("severity", "warning")
    failure_mode = header.get("failure_mode", "")
    if severity not in SEVERITIES or failure_mode not in FAILURE_MODES:
        raise AgentwatchError(
            f"sql/{sql.name}.sql: severity must be one of {SEVERITIES} and failure_mode one of {FAILURE_MODES}"
        )
    return Detector(
        name=name,
        failure_mode=failure_mode,
        severity=severity,
        schedule=parse_duration(header.get("schedule", "1m")),
        description=header.get("description", ""),
        params=params,
        sql=sql,
    )


def load_detectors(names: list[str] | None = None) -> list[Detector]:
    """The shipped detectors (all, or those named); an unknown name is a :class:`ConfigError`."""
    available = {n.split("/")[-1]: n for n in list_sql("detectors")}
    if names:
        unknown = [n for n in names if n not in available]
        if unknown:
            raise ConfigError("--detector", f"unknown detector(s) {unknown}; known: {sorted(available)}")
        chosen = [available[n] for n in names]
    else:
        chosen = list(available.values())
    return [_detector(load_sql(name)) for name in chosen]


@dataclass
class Finding:
    detector: str
    failure_mode: str
    severity: str
    fingerprint: str
    service_name: str
    session_id: str
    trace_id: str
    agent_name: str
    tool_name: str
    summary: str
    value: float
    evidence: list[str]
    details: str
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("first_seen", "last_seen"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        with contextlib.suppress(ValueError):
            data["details"] = json.loads(self.details)
        return data


@dataclass
class DetectorRun:
    detector: Detector
    findings: list[Finding] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0


def _run_one(store: Store, detector: Detector, bounds: dict[str, Any], overrides: dict[str, Any]) -> DetectorRun:
    run = DetectorRun(detector)
    started = time.perf_counter()
    try:
        params = {**detector.parameters(overrides), **bounds}
        result = store.query(detector.sql.body, params, sql_name=detector.file)
        columns = tuple(result.column_names)
        if columns and columns != FINDING_COLUMNS:  # (an empty result may come back without its columns)
            raise AgentwatchError(f"{detector.file} returns columns {columns}; expected {FINDING_COLUMNS}")
        for row in result.result_rows:
            values = dict(zip(columns, row, strict=True))
            run.findings.append(
                Finding(
                    detector=detector.name,
                    failure_mode=detector.failure_mode,
                    **{
                        **values,
                        "value": float(values["value"]),
                        "evidence": list(values["evidence"]),
                        "severity": values["severity"] if values["severity"] in SEVERITIES else detector.severity,
                    },
                )
            )
    except (StoreError, AgentwatchError) as exc:
        run.error = str(exc)
        log.error("detector %s failed: %s", detector.name, exc)
    run.seconds = time.perf_counter() - started
    return run


def check_params(detectors: list[Detector], params: dict[str, Any]) -> dict[str, Any]:
    """Refuse a parameter none of ``detectors`` has, or a value its type cannot take: the one check behind
    ``agentwatch detect --param`` and a rules file's ``params``. Returns the values parsed."""
    known = {name: d for d in detectors for name in d.params}
    parsed: dict[str, Any] = {}
    for key, value in params.items():
        if key == "severity":
            if value not in SEVERITIES:
                raise ConfigError("severity", f"{value!r} is not one of {SEVERITIES}")
            parsed[key] = value
            continue
        if key not in known:
            owner = detectors[0].name if len(detectors) == 1 else "none of the detectors run"
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(key, f"{owner} has no parameter {key!r}{hint}; known: {sorted(known)}")
        parsed[key] = known[key].params[key].parse(value)
    return parsed


def run_detectors(
    store: Store,
    *,
    window: float = 3600.0,
    end: dt.datetime | None = None,
    baseline: float = 7 * 86400.0,
    names: list[str] | None = None,
    params: dict[str, Any] | None = None,
    write: bool = True,
    concurrency: int = 2,
    now: dt.datetime | None = None,
) -> list[DetectorRun]:
    """Run detectors over ``[end - window, end)`` with a baseline of ``baseline`` seconds before it; record their
    findings (``write``). Detectors run concurrently, each worker with its own store client."""
    detectors = load_detectors(names)
    if window <= 0:
        raise ConfigError("window", f"must be longer than zero, not {window:g}s (a window of nothing finds nothing)")
    check_params(detectors, params or {})
    end = end or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    start = end - dt.timedelta(seconds=window)
    bounds = {"start": start, "end": end, "baseline_start": start - dt.timedelta(seconds=baseline)}
    runs = map_with_clients(store, lambda client, d: _run_one(client, d, bounds, params or {}), detectors, concurrency)
    if write:
        record_findings(store, [f for r in runs for f in r.findings], start, end, now=now)
    return runs


# the findings table's columns, as record_findings writes a detector's rows (FINDING_COLUMNS) with their run
_FINDINGS_TABLE = [
    "Detector",
    "Fingerprint",
    "FailureMode",
    "Severity",
    "FirstSeen",
    "LastSeen",
    "WindowStart",
    "WindowEnd",
    "ServiceName",
    "SessionId",
    "TraceId",
    "AgentName",
    "ToolName",
    "Summary",
    "Value",
    "Evidence",
    "Details",
]


def record_findings(
    store: Store, findings: list[Finding], start: dt.datetime, end: dt.datetime, *, now: dt.datetime | None = None
) -> int:
    """Write findings, one per detector × fingerprint: FirstSeen is kept from the first time, and a finding found
    again unchanged over the same window adds no row. Returns the rows written."""
    if not findings:
        return 0
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    keys = sorted({f"{f.detector}\x00{f.fingerprint}" for f in findings})
    existing = {
        f"{d}\x00{fp}": (first, window_end, summary, value, evidence)
        for d, fp, first, window_end, summary, value, evidence in store.query(
            "SELECT Detector, Fingerprint, argMax(FirstSeen, LastSeen), max(WindowEnd), argMax(Summary, LastSeen), "
            "argMax(Value, LastSeen), argMax(Evidence, LastSeen) FROM findings "
            "WHERE concat(Detector, char(0), Fingerprint) IN {keys:Array(String)} GROUP BY Detector, Fingerprint",
            {"keys": keys},
        ).result_rows
    }
    rows = []
    for f in findings:
        key = f"{f.detector}\x00{f.fingerprint}"
        previous = existing.get(key)
        f.first_seen = previous[0] if previous else now
        f.last_seen = now
        if (
            previous
            and previous[1] >= end
            and (previous[2], previous[3], list(previous[4])) == (f.summary, f.value, f.evidence)
        ):
            f.last_seen = previous[1] if isinstance(previous[1], dt.datetime) else now
            continue  # the same finding over the same window: nothing new to say
        rows.append(
            [
                f.detector,
                f.fingerprint,
                f.failure_mode,
                f.severity,
                f.first_seen,
                now,
                start,
                end,
                f.service_name,
                f.session_id,
                f.trace_id,
                f.agent_name,
                f.tool_name,
                f.summary,
                f.value,
                f.evidence,
                f.details,
            ]
        )
    if rows:
        store.insert("findings", rows, _FINDINGS_TABLE)
    return len(rows)
