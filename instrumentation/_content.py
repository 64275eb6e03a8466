"""What the instrumentation records of arguments, results and messages.

With content capture on, values are serialized to JSON, secrets redacted and long text cut. With it off nothing
of the content leaves the process, but its *structure* still does: the JSON shape of a tool result, its size and
a hash of the arguments, so the structural detectors (schema drift, loops) keep working.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import blake2b
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from agentwatch.redaction import BUILTIN_HINTS, BUILTIN_PATTERNS, PATTERN_HINTS, REDACTED, combined_pattern

__all__ = [
    "ContentPolicy",
    "arguments_hash",
    "canonical_arguments",
    "is_error_payload",
    "json_shape",
    "parse_arguments",
    "result_flags",
    "to_json",
    "to_jsonable",
]

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
        return _compiled(self.extra_patterns, self.redact_emails, None)

    def clean(self, text: str) -> tuple[str, int, bool]:
        """``text`` cut to ``max_length`` and redacted: (text, secrets redacted, was cut).

        Cut first, so the cost is bounded by ``max_length`` whatever the value's size (a 100 MB result is never
        scanned); the redaction sees a margin past the cut, so a secret that straddles it is still recognised
        whole, and the cut is made again after redaction.
        """
        cut = len(text) > self.max_length
        if cut:
            text = text[: self.max_length + _REDACT_MARGIN]
        redacted = 0
        bare = _BASE64_RUN in text.translate(_BASE64_CHARS)  # a bare secret key may be in it (no hint says so)
        if self.extra_patterns or self.redact_emails:
            names = None if bare else _WITHOUT_BARE
            text, redacted = _compiled(self.extra_patterns, self.redact_emails, names).subn(REDACTED, text)
        elif bare or _may_hold_secret(text):  # only the built-in patterns the text may hold (same matches, faster)
            names = _candidates(text.lower()) + (("aws_secret_bare",) if bare else ())
            text, redacted = _compiled("", False, names).subn(REDACTED, text)
        if cut or len(text) > self.max_length:
            return text[: self.max_length] + "…[truncated]", redacted, True
        return text, redacted, False


# a run of 40 base64 characters, looked for by translating them all to "a" (C speed, ~1 ns a character: the
# pattern itself in Python's re costs ~50 ns a character), so the bare-key pattern runs only where it can match
_BASE64_CHARS = str.maketrans(dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+", "a"))
_BASE64_RUN = "a" * 40
_WITHOUT_BARE = tuple(name for name in BUILTIN_PATTERNS if name != "aws_secret_bare")
_REDACT_MARGIN = 4096  # characters past the cut that redaction still reads (a PEM private key fits)
_HINT = re.compile("|".join(map(re.escape, BUILTIN_HINTS)))


def _may_hold_secret(text: str) -> bool:
    lowered = text.lower()
    if len(lowered) < 512:  # short text: one scan for all hints beats a substring search per hint (~2x)
        return _HINT.search(lowered) is not None
    return any(hint in lowered for hint in BUILTIN_HINTS)  # long text: the other way round


def _candidates(lowered: str) -> tuple[str, ...]:
    return tuple(name for name, hints in PATTERN_HINTS.items() if any(hint in lowered for hint in hints))


_PATTERNS: dict[tuple[str, bool, tuple[str, ...] | None], re.Pattern[str]] = {}


def _compiled(extra: str, emails: bool, builtin: tuple[str, ...] | None) -> re.Pattern[str]:
    key = (extra, emails, builtin)
    if key not in _PATTERNS:
        _PATTERNS[key] = re.compile(combined_pattern(extra, emails=emails, builtin=builtin))
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


def _encoder(*, sort_keys: bool, default: Callable[[Any], Any]) -> Callable[[Any], str]:
    """A compact JSON encoder built once. ``json.dumps`` or ``JSONEncoder.encode`` with any option builds the C
    encoder anew on every call, which costs more than encoding a small tool result, so the C encoder is kept (without
    the circular-reference bookkeeping: a cycle ends in RecursionError, which callers treat as unencodable)."""
    python = json.JSONEncoder(
        ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, default=default, check_circular=False
    )
    if c_make_encoder is None:  # not CPython
        return python.encode
    try:
        fast = c_make_encoder(None, default, encode_basestring, None, ":", ",", sort_keys, False, True)
        sample = {"b": [1, 2.5, None, True, "é"], "a": {"x": float("inf")}}
        if "".join(fast(sample, 0)) != python.encode(sample):
            return python.encode
    except (TypeError, ValueError):  # another signature than CPython 3.10-3.13's
        return python.encode
    join = "".join

    def kept(value: Any) -> str:
        return join(fast(value, 0))

    return kept


_UNENCODABLE = (TypeError, ValueError, RecursionError)  # non-string keys, cycles, what ``default`` refuses
_compact = _encoder(sort_keys=False, default=_default)
_compact_repr = _encoder(sort_keys=False, default=repr)
_canonical = _encoder(sort_keys=True, default=_default)
_canonical_repr = _encoder(sort_keys=True, default=repr)


def to_json(value: Any) -> str:
    """Compact JSON of ``value``; a plain string stays as it is."""
    if isinstance(value, str):
        return value
    try:
        return _compact(value)
    except _UNENCODABLE:
        return _compact_repr(to_jsonable(value))


def parse_arguments(text: Any) -> Any:
    """Tool-call arguments (or a tool result) as JSON values when they parse, else as they came."""
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return to_jsonable(text)


def canonical_arguments(arguments: Any) -> tuple[str, str]:
    """A tool call's arguments as canonical JSON (sorted keys), and their hash: 16 hex chars of it, a stable identity
    recorded even with capture off, so repeated identical calls can be counted without storing the arguments."""
    try:
        canonical = _canonical(arguments)
    except _UNENCODABLE:
        canonical = _canonical_repr(to_jsonable(arguments))
    return canonical, blake2b(canonical.encode(), digest_size=8).hexdigest()


def arguments_hash(arguments: Any) -> str:
    """The hash of ``canonical_arguments``."""
    return canonical_arguments(arguments)[1]


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
# the JSON type of the exact built-in types, looked up rather than tested for (the walk runs on every tool result)
_TYPE_NAMES = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    dict: "object",
    list: "array",
    tuple: "array",
}


def _walk(node: Any, path: str, depth: int, entries: list[str]) -> None:
    if len(entries) >= _MAX_SHAPE_ENTRIES or depth > _MAX_SHAPE_DEPTH:
        return
    if type(node) not in _PLAIN_TYPES and not isinstance(node, _PLAIN):
        node = to_jsonable(node)
    if isinstance(node, dict):
        children: Iterable[tuple[Any, Any]] = node.items()
        prefix = f"{path}." if path else ""
    elif isinstance(node, (list, tuple)) and node:
        children = ((None, node[0]),)  # an array's shape is its first element's
        prefix = f"{path}[]"
    else:
        return
    for key, child in children:
        if len(entries) >= _MAX_SHAPE_ENTRIES:
            return
        child_path = prefix if key is None else f"{prefix}{key}"
        name = _TYPE_NAMES.get(type(child))
        if name is None:  # a subclass, dataclass, model…: its own walk converts it
            entries.append(f"{child_path}:{_type(child)}")
            _walk(child, child_path, depth + 1, entries)
        else:
            entries.append(f"{child_path}:{name}")
            if name == "object" or name == "array":
                _walk(child, child_path, depth + 1, entries)


def json_shape(value: Any) -> str:
    """The JSON shape of a value: sorted ``path:type`` entries, comma-separated.

    Top-level keys appear as ``key:type`` exactly as the SQL fallback in agent_spans_mv computes them; nested
    object keys as ``key.sub:type`` and the elements of arrays as ``key[]:type`` / ``key[].sub:type`` (first
    element). A non-object root is ``$:type`` (``$[]…`` for its elements).
    """
    if not isinstance(value, _PLAIN):
        value = to_jsonable(value)
    entries: list[str] = []
    if isinstance(value, dict):
        _walk(value, "", 0, entries)
    else:
        entries.append(f"$:{_type(value)}")
        _walk(value, "$", 0, entries)
    return ",".join(sorted(set(entries)))  # a key "a.b" next to a nested {"a": {"b"}} would repeat an entry


def result_flags(value: Any) -> list[str]:
    """Suspicious result patterns: ``empty_with_hits`` (a hit count > 0 next to an empty result list),
    ``error_payload`` (a returned ``{"error": …}`` instead of a raised exception)."""
    if not isinstance(value, dict) or ("error" not in value and _HIT_KEYS.isdisjoint(value)):
        return []  # the common case, decided without a Python loop
    flags: list[str] = []
    hits = None
    for key in _HIT_COUNT_KEYS:
        count = value.get(key)
        if isinstance(count, (int, float)) and not isinstance(count, bool):
            hits = count
            break
    if hits and hits > 0:
        lists = [listed for key in _HIT_LIST_KEYS if isinstance(listed := value.get(key), list)]
        if lists and not any(lists):
            flags.append("empty_with_hits")
    if is_error_payload(value):
        flags.append("error_payload")
    return flags


def is_error_payload(value: Any) -> bool:
    """A returned ``{"error": …}`` that says something went wrong: anything but null, false, "", {} or [] — the rule
    agent_spans_mv applies to results the SDK did not record (``0`` is an error to both; ``0 in (False,)`` made it
    none here before, tests/integration/test_rules_once.py pins the two together)."""
    if not isinstance(value, dict) or "error" not in value:
        return False
    error = value["error"]
    return not (error is None or error is False or (isinstance(error, (str, dict, list)) and not error))
