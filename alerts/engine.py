"""Alert state: one alert per rule × fingerprint, pending → firing → resolved, notified once and re-notified
only after the repeat interval; silences; delivery through an outbox so restarts neither lose nor repeat."""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from agentwatch.alerts.publishers import DeliveryError, Notification, deliver
from agentwatch.alerts.rules import Rule, RuleSet
from agentwatch.detectors import Finding, run_detectors
from agentwatch.errors import ConfigError
from agentwatch.store import Store, map_with_clients

__all__ = ["AlertEngine", "RuleOutcome", "RuleStatus"]

log = logging.getLogger("agentwatch.alerts")

_COLUMNS = [
    "Rule",
    "Fingerprint",
    "State",
    "Severity",
    "Labels",
    "Summary",
    "ActiveSince",
    "FiredAt",
    "ResolvedAt",
    "LastNotifiedAt",
    "NotifyCount",
    "LastError",
    "PendingKind",
    "PendingChannels",
    "NotificationId",
    "DeliveryFailures",
    "Silenced",
    "Value",
    "Detector",
    "Evidence",
    "UpdatedAt",
    "Version",
]
_EPOCH = dt.datetime(1970, 1, 1)


@dataclass
class AlertRow:
    rule: str
    fingerprint: str
    state: str = "pending"
    severity: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    active_since: dt.datetime = _EPOCH
    fired_at: dt.datetime = _EPOCH
    resolved_at: dt.datetime = _EPOCH
    last_notified_at: dt.datetime = _EPOCH
    notify_count: int = 0
    last_error: str = ""
    pending_kind: str = ""
    pending_channels: list[str] = field(default_factory=list)
    notification_id: str = ""
    delivery_failures: int = 0
    silenced: int = 0
    value: float = 0.0
    detector: str = ""
    evidence: list[str] = field(default_factory=list)

    def values(self, now: dt.datetime) -> list[Any]:
        return [
            self.rule,
            self.fingerprint,
            self.state,
            self.severity,
            self.labels,
            self.summary,
            self.active_since,
            self.fired_at,
            self.resolved_at,
            self.last_notified_at,
            self.notify_count,
            self.last_error,
            self.pending_kind,
            self.pending_channels,
            self.notification_id,
            self.delivery_failures,
            self.silenced,
            self.value,
            self.detector,
            self.evidence,
            now,
            time.time_ns(),
        ]


@dataclass
class RuleStatus:
    """What ``agentwatch alerts list`` shows of a rule: when it last ran, how that ended, its alerts by state."""

    last_run: dt.datetime | None = None
    error: str = ""
    alerts: list[str] = field(default_factory=list)  # "2 firing (1 failed deliveries: …)", "1 resolved"


@dataclass
class RuleOutcome:
    rule: str
    findings: int = 0
    firing: int = 0
    pending: int = 0
    notified: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0


def _matches(labels: dict[str, str], matchers: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in matchers.items())


class AlertEngine:
    def __init__(self, store: Store, ruleset: RuleSet) -> None:
        self.store = store
        self.ruleset = ruleset

    # -- state ------------------------------------------------------------------------------------
    def _load(self, rule: str) -> dict[str, AlertRow]:
        result = self.store.query(
            f"SELECT {', '.join(_COLUMNS[:-2])} FROM alerts FINAL WHERE Rule = {{r:String}}", {"r": rule}
        )
        rows = {}
        for values in result.result_rows:
            row = AlertRow(*values)
            row.labels, row.pending_channels, row.evidence = (
                dict(row.labels),
                list(row.pending_channels),
                list(row.evidence),
            )
            rows[row.fingerprint] = row
        return rows

    def _save(self, rows: list[AlertRow], now: dt.datetime) -> None:
        if rows:
            self.store.insert("alerts", [r.values(now) for r in rows], _COLUMNS)

    def active_silences(self, now: dt.datetime) -> list[dict[str, str]]:
        """The matchers of the silences in force at ``now`` (begun, not yet over)."""
        return [s["matchers"] for s in self.silences(now) if s["starts"] <= now]

    def label_keys(self) -> set[str]:
        """The labels an alert of these rules can carry (what a silence may match on)."""
        keys = {"rule", "detector", "severity", "failure_mode", "agent_name", "tool_name", "session_id"}
        return keys.union(*(rule.labels for rule in self.ruleset.rules))

    def matching(self, matchers: dict[str, str]) -> int:
        """Firing alerts whose labels match every matcher."""
        keys = {"keys": list(matchers), "values": list(matchers.values())}
        return int(self.store.run_sql("alerts/firing_matching", keys).result_rows[0][0])

    def silences(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Silences not yet over at ``now`` (the latest version of each), by id."""
        return [
            {"id": i, "matchers": dict(m), "starts": starts, "ends": ends, "comment": comment}
            for i, m, starts, ends, comment in self.store.run_sql("alerts/silences", {"now": now}).result_rows
        ]

    def rule_status(self) -> dict[str, RuleStatus]:
        """Each rule's last run, its error and its alerts by state, read from the store (rules that never ran or
        raised no alert are absent)."""
        status: dict[str, RuleStatus] = {}
        for row in self.store.run_sql("alerts/last_runs").named_results():
            status[row["rule"]] = RuleStatus(row["last_run"], row["error"])
        for row in self.store.run_sql("alerts/states").named_results():
            failed, error = row["failed_deliveries"], row["error"]
            note = f" ({failed} failed deliveries{f': {error}' if error else ''})" if failed or error else ""
            status.setdefault(row["rule"], RuleStatus()).alerts.append(f"{row['alerts']} {row['state']}{note}")
        return status

    def unsilence(self, silence_id: str, now: dt.datetime | None = None) -> bool:
        """End a silence now; False if there is no such silence still on."""
        now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        current = [s for s in self.silences(now) if s["id"] == silence_id]
        if not current:
            return False
        s = current[0]
        self.store.insert(
            "alert_silences",
            [[silence_id, s["matchers"], s["starts"], now, s["comment"], "", now]],
            ["Id", "Matchers", "StartsAt", "EndsAt", "Comment", "CreatedBy", "UpdatedAt"],
        )
        return True

    def silence(
        self,
        matchers: dict[str, str],
        until: dt.datetime,
        comment: str = "",
        by: str = "",
        *,
        starts: dt.datetime | None = None,
    ) -> str:
        """Stop notifications for alerts whose labels match every matcher, from ``starts`` (now) until ``until``.
        A label no alert of these rules carries is refused: such a silence would match nothing, silently."""
        known = self.label_keys()
        for key in matchers:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError("--match", f"no alert carries the label {key!r}{hint}; labels: {sorted(known)}")
        now = starts or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        silence_id = uuid.uuid4().hex[:12]
        self.store.insert(
            "alert_silences",
            [[silence_id, matchers, now, until, comment, by, now]],
            ["Id", "Matchers", "StartsAt", "EndsAt", "Comment", "CreatedBy", "UpdatedAt"],
        )
        return silence_id

    # -- one rule ---------------------------------------------------------------------------------
    def evaluate(self, rule: Rule, now: dt.datetime) -> RuleOutcome:
        outcome = RuleOutcome(rule.name)
        started = time.perf_counter()
        try:
            runs = run_detectors(
                self.store,
                window=rule.window,
                end=now,
                names=[rule.detector],
                params=rule.params,
                concurrency=1,
                now=now,
            )
            if runs[0].error:
                raise RuntimeError(runs[0].error)
            findings = {f.fingerprint: f for f in runs[0].findings}
            outcome.findings = len(findings)
            self._transition(rule, findings, now, outcome)
        except Exception as exc:  # a rule's failure is recorded and never stops the others
            outcome.error = str(exc)
            log.error("alert rule %s failed: %s", rule.name, exc)
        outcome.seconds = time.perf_counter() - started
        self.store.insert(
            "alert_rule_runs",
            [[rule.name, now, outcome.seconds, outcome.findings, outcome.error]],
            ["Rule", "RanAt", "Seconds", "Findings", "Error"],
        )
        return outcome

    def _labels(self, rule: Rule, finding: Finding) -> dict[str, str]:
        labels = {
            "rule": rule.name,
            "detector": rule.detector,
            "severity": rule.severity or finding.severity,
            "failure_mode": finding.failure_mode,
        }
        for key in ("agent_name", "tool_name", "session_id"):
            if getattr(finding, key):
                labels[key] = getattr(finding, key)
        labels.update(rule.labels)
        return labels

    def _transition(self, rule: Rule, findings: dict[str, Finding], now: dt.datetime, outcome: RuleOutcome) -> None:
        current = self._load(rule.name)
        silences = self.active_silences(now)
        changed: list[AlertRow] = []
        for fingerprint, finding in findings.items():
            row = current.get(fingerprint)
            if row is None or row.state == "resolved":
                row = AlertRow(
                    rule.name,
                    fingerprint,
                    active_since=now,
                    detector=rule.detector,
                    notification_id=row.notification_id if row else "",
                )
            row.severity = rule.severity or finding.severity
            row.labels = self._labels(rule, finding)
            row.summary = rule.render_summary(finding)
            row.value, row.evidence = finding.value, finding.evidence[:20]
            row.silenced = int(any(_matches(row.labels, s) for s in silences))
            if row.state == "pending" and (now - row.active_since).total_seconds() >= rule.for_:
                row.state, row.fired_at = "firing", now
                self._queue(row, "firing", rule)
            elif (
                row.state == "firing"
                and not row.pending_kind
                and not row.silenced
                and (now - row.last_notified_at).total_seconds() >= rule.repeat_interval
            ):
                self._queue(row, "firing", rule)
            changed.append(row)
            outcome.firing += row.state == "firing"
            outcome.pending += row.state == "pending"
        for fingerprint, row in current.items():
            if fingerprint in findings or row.state == "resolved":
                continue
            was_firing = row.state == "firing"
            row.state, row.resolved_at = "resolved", now
            if was_firing:
                row.silenced = int(any(_matches(row.labels, s) for s in silences))
                self._queue(row, "resolved", rule)
            else:
                row.pending_kind, row.pending_channels = "", []
            changed.append(row)
        for row in changed:  # a silenced alert keeps its state but is not notified
            if row.silenced and row.pending_kind:
                row.pending_kind, row.pending_channels = "", []
        self._save(changed, now)  # the outbox: recorded before anything is sent
        self._send([r for r in changed if r.pending_kind], now, outcome)

    def _queue(self, row: AlertRow, kind: str, rule: Rule) -> None:
        row.pending_kind = kind
        row.pending_channels = list(rule.channels)
        row.notification_id = uuid.uuid4().hex

    # -- delivery ---------------------------------------------------------------------------------
    def _notification(self, row: AlertRow) -> Notification:
        return Notification(
            id=row.notification_id,
            status=row.pending_kind,
            rule=row.rule,
            detector=row.detector,
            fingerprint=row.fingerprint,
            severity=row.severity,
            labels=row.labels,
            summary=row.summary,
            value=row.value,
            evidence=row.evidence,
            starts_at=row.active_since.isoformat(),
            ends_at=row.resolved_at.isoformat() if row.pending_kind == "resolved" else None,
            session_id=row.labels.get("session_id", ""),
            agent_name=row.labels.get("agent_name", ""),
            tool_name=row.labels.get("tool_name", ""),
        )

    def _send(self, rows: list[AlertRow], now: dt.datetime, outcome: RuleOutcome | None = None) -> None:
        if not rows:
            return
        jobs = [(row, name) for row in rows for name in row.pending_channels if name in self.ruleset.channels]
        with ThreadPoolExecutor(max(1, min(8, len(jobs)))) as pool:  # a failing channel does not hold the others
            results = list(pool.map(lambda job: self._deliver_one(*job), jobs))
        errors: dict[int, list[str]] = {}
        delivered: dict[int, set[str]] = {}
        for (row, name), error in zip(jobs, results, strict=True):
            if error:
                errors.setdefault(id(row), []).append(error)
            else:
                delivered.setdefault(id(row), set()).add(name)
        for row in rows:
            kind = row.pending_kind
            row.pending_channels = [c for c in row.pending_channels if c not in delivered.get(id(row), set())]
            if delivered.get(id(row)):
                row.last_notified_at = now
                row.notify_count += 1
                if outcome is not None:
                    outcome.notified.append(f"{kind}:{row.fingerprint}")
            if errors.get(id(row)):
                row.delivery_failures += 1
                row.last_error = "; ".join(errors[id(row)])
                if outcome is not None:
                    outcome.failures.extend(errors[id(row)])
            else:
                row.last_error = ""
            if not row.pending_channels:
                row.pending_kind = ""
        self._save(rows, now)

    def _deliver_one(self, row: AlertRow, channel_name: str) -> str:
        try:
            deliver(self.ruleset.channels[channel_name], self._notification(row))
            return ""
        except DeliveryError as exc:
            log.warning("alert %s could not be delivered: %s", row.rule, exc)
            return str(exc)

    def deliver_pending(self, now: dt.datetime) -> int:
        """Send what an earlier run recorded but could not (or did not get to) deliver: the outbox."""
        rows = []
        for values in self.store.query(
            f"SELECT {', '.join(_COLUMNS[:-2])} FROM alerts FINAL WHERE PendingKind != ''"
        ).result_rows:
            row = AlertRow(*values)
            row.labels, row.pending_channels, row.evidence = (
                dict(row.labels),
                list(row.pending_channels),
                list(row.evidence),
            )
            rows.append(row)
        self._send(rows, now)
        return len(rows)

    # -- everything ---------------------------------------------------------------------------------
    def run_all(self, now: dt.datetime | None = None, rules: list[Rule] | None = None) -> list[RuleOutcome]:
        now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        self.deliver_pending(now)
        chosen = rules if rules is not None else list(self.ruleset.rules)
        return map_with_clients(
            self.store, lambda client, rule: AlertEngine(client, self.ruleset).evaluate(rule, now), chosen, 2
        )
