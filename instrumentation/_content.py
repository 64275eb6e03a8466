"""What the instrumentation records of arguments, results and messages.

With content capture on, values are serialized to JSON, secrets redacted and long text cut. With it off nothing
of the content leaves the process, but its *structure* still does: the JSON shape of a tool result, its size and
a hash of the arguments, so the structural detectors (schema drift, loops) keep working.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from agentwatch.redaction import BUILTIN_HINTS, REDACTED, combined_pattern

__all__ = ["ContentPolicy", "arguments_hash", "json_shape", "result_flags", "to_json", "to_jsonable"]

_HIT_COUNT_KEYS = ("total_hits", "total", "hits_total", "num_results", "count", "total_count", "found")
_HIT_LIST_KEYS = ("results", "documents", "docs", "items", "hits", "data", "records", "matches")
_HIT_KEYS = frozenset(_HIT_COUNT_KEYS)
_MAX_SHAPE_ENTRIES = 200
_MAX_SHAPE_DEPTH = 4


@dataclass(frozen=True)
class ContentPolicy:
    """How much content to capture; resolved once by ``instrument()``."""

    capture: bool = True
    max_length: int = 16384
    redact_emails: bool = False
    extra_patterns: str = ""

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.extra_patterns, self.redact_emails)

    def clean(self, text: str) -> tuple[str, int, bool]:
        """``text`` redacted and cut to ``max_length``: (text, secrets redacted, was cut)."""
        redacted = 0
        if self.extra_patterns or self.redact_emails or _may_hold_secret(text):
            text, redacted = self.pattern.subn(REDACTED, text)
        if len(text) > self.max_length:
            return text[: self.max_length] + "…[truncated]", redacted, True
        return text, redacted, False


def _may_hold_secret(text: str) -> bool:
    lowered = text.lower()
    return any(hint in lowered for hint in BUILTIN_HINTS)


_PATTERNS: dict[tuple[str, bool], re.Pattern[str]] = {}


def _compiled(extra: str, emails: bool) -> re.Pattern[str]:
    key = (extra, emails)
    if key not in _PATTERNS:
        _PATTERNS[key] = re.compile(combined_pattern(extra, emails=emails))
    return _PATTERNS[key]


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """A JSON-compatible version of common Python values: dataclasses, pydantic models, sets, bytes, objects."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if _depth > 20:
        return repr(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, _depth + 1) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value), _depth + 1)
    dump = getattr(value, "model_dump", None)  # pydantic v2
    if callable(dump):
        try:
            return to_jsonable(dump(mode="json"), _depth + 1)
        except Exception:
            pass
    return repr(value)


def _default(value: Any) -> Any:
    """``json.dumps`` hook for what JSON lacks; the C encoder handles the rest without a Python walk."""
    converted = to_jsonable(value)
    return converted if not isinstance(converted, str) or converted is not value else repr(value)


# Encoders built once: ``json.dumps`` with any option builds a new encoder per call, which costs more than
# encoding a small tool result.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default)
_COMPACT_REPR = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_default)
_CANONICAL_REPR = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=repr)


def to_json(value: Any) -> str:
    """Compact JSON of ``value``; a plain string stays as it is."""
    if isinstance(value, str):
        return value
    try:
        return _COMPACT.encode(value)
    except (TypeError, ValueError):  # non-string keys, cycles…
        return _COMPACT_REPR.encode(to_jsonable(value))


def arguments_hash(arguments: Any) -> str:
    """A stable identity of a tool call's arguments (canonical JSON → 16 hex chars), recorded even with capture off,
    so repeated identical calls can be counted without storing the arguments."""
    try:
        canonical = _CANONICAL.encode(arguments)
    except (TypeError, ValueError):
        canonical = _CANONICAL_REPR.encode(to_jsonable(arguments))
    return hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "array"
    if dataclasses.is_dataclass(value) or callable(getattr(value, "model_dump", None)):
        return "object"
    return "string"


_PLAIN = (dict, list, str, int, float, bool, type(None))
_PLAIN_TYPES = frozenset(_PLAIN)


def _walk(node: Any, path: str, depth: int, entries: set[str]) -> None:
    if len(entries) >= _MAX_SHAPE_ENTRIES or depth > _MAX_SHAPE_DEPTH:
        return
    if type(node) not in _PLAIN_TYPES and not isinstance(node, _PLAIN):
        node = to_jsonable(node)
    if isinstance(node, dict):
        for key, child in node.items():
            child_path = f"{path}.{key}" if path else str(key)
            entries.add(f"{child_path}:{_type(child)}")
            if isinstance(child, (dict, list, tuple)) or type(child) not in _PLAIN_TYPES:
                _walk(child, child_path, depth + 1, entries)
    elif isinstance(node, (list, tuple)) and node:
        first = node[0]
        element = f"{path}[]"
        entries.add(f"{element}:{_type(first)}")
        if isinstance(first, (dict, list, tuple)) or type(first) not in _PLAIN_TYPES:
            _walk(first, element, depth + 1, entries)


def json_shape(value: Any) -> str:
    """The JSON shape of a value: sorted ``path:type`` entries, comma-separated.

    Top-level keys appear as ``key:type`` exactly as the SQL fallback in agent_spans_mv computes them; nested
    object keys as ``key.sub:type`` and the elements of arrays as ``key[]:type`` / ``key[].sub:type`` (first
    element). A non-object root is ``$:type`` (``$[]…`` for its elements).
    """
    if not isinstance(value, _PLAIN):
        value = to_jsonable(value)
    entries: set[str] = set()
    if isinstance(value, dict):
        _walk(value, "", 0, entries)
    else:
        entries.add(f"$:{_type(value)}")
        _walk(value, "$", 0, entries)
    return ",".join(sorted(entries))


def result_flags(value: Any) -> list[str]:
    """Suspicious result patterns: ``empty_with_hits`` (a hit count > 0 next to an empty result list),
    ``error_payload`` (a returned ``{"error": …}`` instead of a raised exception)."""
    flags: list[str] = []
    if not isinstance(value, dict) or ("error" not in value and _HIT_KEYS.isdisjoint(value)):
        return flags  # the common case, decided without a Python loop
    counts = (value.get(k) for k in _HIT_COUNT_KEYS)
    hits = next((c for c in counts if isinstance(c, (int, float)) and not isinstance(c, bool)), None)
    lists = [value[k] for k in _HIT_LIST_KEYS if isinstance(value.get(k), list)]
    if hits and hits > 0 and lists and all(len(v) == 0 for v in lists):
        flags.append("empty_with_hits")
    if value.get("error") not in (None, False, "", {}, []):
        flags.append("error_payload")
    return flags
