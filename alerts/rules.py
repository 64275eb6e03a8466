"""Alert rules: which detector, how often, how long a condition must hold, who hears about it.

A rules file is YAML with ``channels`` (name → type ``webhook``, ``slack`` or ``log`` and its settings) and
``rules`` (a list). It is validated whole before anything is used: an error names the file, the line and the
field, and an invalid file never half-loads.
"""

from __future__ import annotations

import difflib
import os
import re
import string
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from agentwatch.alerts.cron import Cron, CronError
from agentwatch.config import get_config, parse_duration
from agentwatch.errors import AgentwatchError, MissingExtraError

__all__ = ["Channel", "Rule", "RuleSet", "RulesError", "load_rules"]

_SEVERITIES = ("info", "warning", "critical")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")


class RulesError(AgentwatchError):
    """A rules file is invalid; ``line`` and ``field`` say where."""

    def __init__(self, source: str, line: int | None, field_name: str, message: str) -> None:
        self.source = source
        self.line = line
        self.field = field_name
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {field_name}: {message}")


@dataclass(frozen=True)
class Channel:
    name: str
    type: str
    url: str = ""
    secret: str = ""
    timeout: float = 10.0
    retries: int = 3


@dataclass(frozen=True)
class Rule:
    name: str
    detector: str
    params: dict[str, Any] = field(default_factory=dict)
    interval: float | None = 60.0
    cron: Cron | None = None
    window: float = 3600.0
    severity: str = ""
    for_: float = 0.0
    repeat_interval: float = 4 * 3600.0
    labels: dict[str, str] = field(default_factory=dict)
    summary: str = "{summary}"
    channels: tuple[str, ...] = ()

    @property
    def schedule_text(self) -> str:
        return self.cron.expression if self.cron else f"every {int(self.interval or 0)}s"

    def render_summary(self, finding: Any) -> str:
        values = {k: v for k, v in vars(finding).items() if isinstance(v, (str, int, float))}
        values.update(rule=self.name, **self.labels)
        try:
            return string.Formatter().vformat(self.summary, (), _Defaulting(values))
        except (ValueError, IndexError):
            return finding.summary


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    channels: dict[str, Channel]
    source: str


def _yaml() -> Any:
    """PyYAML, or an error naming the extra that brings it (an agent-only install has no rules to read)."""
    try:
        import yaml
    except ImportError:
        raise MissingExtraError("pyyaml", "server", "Reading alert rules") from None
    return yaml


def _lines(node: Any) -> dict[str, int]:
    """Line numbers (1-based) of the keys of a YAML mapping node."""
    yaml = _yaml()

    if isinstance(node, yaml.MappingNode):
        return {k.value: k.start_mark.line + 1 for k, _ in node.value}
    return {}


def _duration(value: Any, source: str, line: int | None, name: str) -> float:
    try:
        seconds = parse_duration(str(value))
    except ValueError as exc:
        raise RulesError(source, line, name, str(exc)) from None
    if seconds < 0:
        raise RulesError(source, line, name, "must not be negative")
    return seconds


_RULE_FIELDS = frozenset(
    (
        "name",
        "detector",
        "enabled",
        "params",
        "schedule",
        "window",
        "severity",
        "for",
        "repeat_interval",
        "labels",
        "summary",
        "channels",
    )
)
# what ``defaults`` may set for every rule (a rule's own value wins; labels are merged)
_DEFAULTABLE = frozenset(("enabled", "schedule", "window", "for", "repeat_interval", "labels", "summary", "channels"))


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    """Validate a whole rules document and return it, or raise the first :class:`RulesError`."""
    yaml = _yaml()

    from agentwatch.detectors import check_params, load_detectors

    try:
        document = yaml.safe_load(text) or {}
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RulesError(source, mark.line + 1 if mark else None, "yaml", str(exc).splitlines()[0]) from None
    if not isinstance(document, dict):
        raise RulesError(source, 1, "(document)", "must be a mapping with 'channels' and 'rules'")
    top_lines = _lines(root)
    unknown = set(document) - {"channels", "rules", "defaults"}
    if unknown:
        key = sorted(unknown)[0]
        raise RulesError(source, top_lines.get(key), key, "unknown top-level key (expected channels, defaults, rules)")
    nodes = {k.value: v for k, v in root.value} if root is not None else {}
    channels: dict[str, Channel] = {}
    channel_nodes = {k.value: v for k, v in getattr(nodes.get("channels"), "value", [])}
    for name, spec in (document.get("channels") or {}).items():
        lines = _lines(channel_nodes.get(name))
        line = _lines(nodes.get("channels")).get(name)
        if not isinstance(spec, dict):
            raise RulesError(source, line, f"channels.{name}", "must be a mapping")
        kind = spec.get("type")
        if kind not in ("webhook", "slack", "log"):
            raise RulesError(
                source, lines.get("type", line), f"channels.{name}.type", f"{kind!r} is not one of webhook, slack, log"
            )
        url = str(spec.get("url", ""))
        variable = url[2:-1] if url.startswith("${") and url.endswith("}") else ""
        if variable:
            url = os.environ.get(variable, "")
        if kind != "log" and not url.startswith(("http://", "https://")):
            problem = f"${{{variable}}}: {variable} is not set" if variable and not url else "needs an http(s) URL"
            if variable and url:
                problem = f"needs an http(s) URL (${{{variable}}} holds something else)"
            raise RulesError(source, lines.get("url", line), f"channels.{name}.url", problem)
        secret = str(spec.get("secret", ""))
        if secret.startswith("${") and secret.endswith("}"):
            secret = os.environ.get(secret[2:-1], "")
        retries = spec.get("retries", 3)
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10:
            raise RulesError(
                source, lines.get("retries", line), f"channels.{name}.retries", "must be a whole number from 0 to 10"
            )
        channels[name] = Channel(
            name,
            kind,
            url,
            secret,
            _duration(spec.get("timeout", "10s"), source, lines.get("timeout"), f"channels.{name}.timeout"),
            retries,
        )
    detectors = {d.name: d for d in load_detectors()}
    defaults = document.get("defaults") or {}
    default_lines = _lines(nodes.get("defaults"))
    if not isinstance(defaults, dict):
        raise RulesError(source, top_lines.get("defaults"), "defaults", "must be a mapping")
    for key in sorted(set(defaults) - _DEFAULTABLE):
        raise RulesError(
            source, default_lines.get(key), f"defaults.{key}", f"unknown field (known: {sorted(_DEFAULTABLE)})"
        )
    rules: list[Rule] = []
    rule_nodes = getattr(nodes.get("rules"), "value", [])
    raw_rules = document.get("rules") or []
    if not isinstance(raw_rules, list):
        raise RulesError(source, top_lines.get("rules"), "rules", "must be a list")
    # every detector is a rule (its header's schedule and severity); the file overrides, adds and switches off
    listed: list[tuple[int | None, dict[str, Any], Any]] = []
    overridden: set[str] = set()
    for number, spec in enumerate(raw_rules):
        node = rule_nodes[number] if number < len(rule_nodes) else None
        if (
            isinstance(spec, dict)
            and spec.get("name") in detectors
            and spec.get("detector", spec["name"]) == spec["name"]
        ):
            spec = {"detector": spec["name"], **spec}
            overridden.add(spec["name"])
        listed.append((number, spec, node))
    listed += [(None, {"name": name, "detector": name}, None) for name in sorted(detectors) if name not in overridden]
    seen: set[str] = set()
    for index, spec, node in listed:
        lines = _lines(node)
        line = node.start_mark.line + 1 if node is not None else None
        where = f"rules[{index}]" if index is not None else f"(the default rule of {spec['name']})"
        if not isinstance(spec, dict):
            raise RulesError(source, line, where, "must be a mapping")
        extra = set(spec) - _RULE_FIELDS
        if extra:
            key = sorted(extra)[0]
            raise RulesError(
                source, lines.get(key, line), f"{where}.{key}", f"unknown field (known: {sorted(_RULE_FIELDS)})"
            )
        # a rule the file lists is on unless it says otherwise; a detector's own rule follows defaults.enabled
        enabled = spec.get("enabled", True if index is not None else defaults.get("enabled", True))
        if not isinstance(enabled, bool):
            raise RulesError(source, lines.get("enabled", line), f"{where}.enabled", "must be true or false")
        if not enabled:
            seen.add(str(spec.get("name")))
            continue
        name = spec.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise RulesError(source, lines.get("name", line), f"{where}.name", "needs a name of letters, digits, ._:-")
        if name in seen:
            raise RulesError(source, lines.get("name", line), f"{where}.name", f"{name!r} is used twice")
        seen.add(name)
        labels_given = spec.get("labels")
        spec = {**{k: v for k, v in defaults.items() if k != "enabled"}, **spec}
        if isinstance(labels_given, dict) and isinstance(defaults.get("labels"), dict):
            spec["labels"] = {**defaults["labels"], **labels_given}
        detector = detectors.get(spec.get("detector") or "")
        if detector is None:
            asked = spec.get("detector")
            close = difflib.get_close_matches(str(asked if asked is not None else name), sorted(detectors), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {sorted(detectors)}"
            if asked is None:  # a rule named after no detector, and naming none
                raise RulesError(
                    source,
                    lines.get("name", line),
                    f"{where}.name",
                    f"{name!r} is no detector{hint}; a rule named otherwise says which with detector:",
                )
            raise RulesError(
                source, lines.get("detector", line), f"{where}.detector", f"unknown detector {asked!r}{hint}"
            )
        params = spec.get("params") or {}
        if not isinstance(params, dict):
            raise RulesError(source, lines.get("params", line), f"{where}.params", "must be a mapping")
        try:
            check_params([detector], params)
        except AgentwatchError as exc:
            key = getattr(exc, "setting", "").removeprefix("param ")
            raise RulesError(source, lines.get("params", line), f"{where}.params.{key}", str(exc)) from None
        schedule = str(spec.get("schedule", f"{int(detector.schedule)}s"))
        interval, cron = None, None
        if len(schedule.split()) == 5:
            try:
                cron = Cron(schedule)
            except CronError as exc:
                raise RulesError(source, lines.get("schedule", line), f"{where}.schedule", str(exc)) from None
        else:
            interval = _duration(schedule, source, lines.get("schedule", line), f"{where}.schedule")
            if interval <= 0:
                raise RulesError(source, lines.get("schedule", line), f"{where}.schedule", "must be positive")
        severity = spec.get("severity", "")
        if severity and severity not in _SEVERITIES:
            raise RulesError(
                source, lines.get("severity", line), f"{where}.severity", f"{severity!r} is not one of {_SEVERITIES}"
            )
        labels = spec.get("labels") or {}
        if not isinstance(labels, dict) or not all(isinstance(v, (str, int, float)) for v in labels.values()):
            raise RulesError(source, lines.get("labels", line), f"{where}.labels", "must map names to strings")
        labels = {"failure_mode": detector.failure_mode, **labels}
        routed = spec.get("channels", list(channels))
        if isinstance(routed, str):
            routed = [routed]
        missing = [c for c in routed if c not in channels]
        if missing:
            raise RulesError(
                source,
                lines.get("channels", line),
                f"{where}.channels",
                f"unknown channel(s) {missing}; defined: {sorted(channels)}",
            )
        summary = spec.get("summary", "{summary}")
        if not isinstance(summary, str):
            raise RulesError(source, lines.get("summary", line), f"{where}.summary", "must be a string")
        rules.append(
            Rule(
                name=name,
                detector=detector.name,
                params=dict(params),
                interval=interval,
                cron=cron,
                window=_duration(spec.get("window", "1h"), source, lines.get("window", line), f"{where}.window"),
                severity=severity,
                for_=_duration(spec.get("for", "0s"), source, lines.get("for", line), f"{where}.for"),
                repeat_interval=_duration(
                    spec.get("repeat_interval", "4h"),
                    source,
                    lines.get("repeat_interval", line),
                    f"{where}.repeat_interval",
                ),
                labels={str(k): str(v) for k, v in labels.items()},
                summary=summary,
                channels=tuple(routed),
            )
        )
    return RuleSet(tuple(rules), channels, source)


def load_rules(path: str | Path | None = None) -> RuleSet:
    """The rules at ``path`` (or ``AGENTWATCH_RULES``), else the documented default set shipped with agentwatch."""
    path = path or get_config().rules or None
    if path is None:
        text = resources.files("agentwatch.alerts").joinpath("default_rules.yaml").read_text("utf-8")
        return parse_rules(text, "agentwatch/alerts/default_rules.yaml")
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise RulesError(str(path), None, "(file)", f"cannot read: {exc.strerror}") from None
    return parse_rules(text, str(path))
