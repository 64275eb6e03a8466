"""What the instrumentation derives from arguments and results: JSON, canonical arguments and their hash, the JSON
shape, the suspicious-result flags and the cheap look for secrets in front of the redaction regex."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pytest

from agentwatch.instrumentation import _content
from agentwatch.instrumentation._content import (
    ContentPolicy,
    arguments_hash,
    canonical_arguments,
    json_shape,
    result_flags,
    to_json,
)
from agentwatch.redaction import BUILTIN_HINTS


@dataclass
class Order:
    id: int
    items: list[str]


ODD_VALUES = [
    {"b": [1, 2.5, None, True, "é ✓"], "a": {"x": math.inf, "y": -math.inf}},
    {1: "int key", "set": {3}, "tuple": (1, 2), "bytes": b"abc"},
    {"order": Order(7, ["book"])},
    [],
    "plain text",
    12,
]


def test_the_encoders_are_kept_c_encoders():
    assert json.encoder.c_make_encoder is not None  # CPython: the check at import must have kept the fast path
    for encoder in (_content._compact, _content._compact_repr, _content._canonical, _content._canonical_repr):
        assert encoder.__name__ == "kept"


def _oracle(value: object, sort_keys: bool) -> str:
    """What ``json.dumps`` writes with the same options, and the same fallback for what it cannot encode."""
    options = {"ensure_ascii": False, "separators": (",", ":"), "sort_keys": sort_keys}
    try:
        return json.dumps(value, default=_content._default, **options)
    except (TypeError, ValueError):
        return json.dumps(_content.to_jsonable(value), default=repr, **options)


@pytest.mark.parametrize("value", ODD_VALUES)
def test_the_kept_encoders_write_what_json_dumps_writes(value):
    assert to_json(value) == (value if isinstance(value, str) else _oracle(value, sort_keys=False))
    assert canonical_arguments(value)[0] == _oracle(value, sort_keys=True)


def test_to_json_is_compact_keeps_non_ascii_and_survives_cycles():
    assert to_json({"q": "café", "n": [1, 2]}) == '{"q":"café","n":[1,2]}'
    assert to_json("already text") == "already text"
    cyclic: list = []
    cyclic.append(cyclic)
    assert to_json(cyclic).startswith("[[")  # cut off by depth, never an exception
    assert json.loads(to_json({"order": Order(1, ["a"])})) == {"order": {"id": 1, "items": ["a"]}}


def test_canonical_arguments_do_not_depend_on_key_order():
    first_text, first_hash = canonical_arguments({"b": 1, "a": {"y": 2, "x": 1}})
    second_text, second_hash = canonical_arguments({"a": {"x": 1, "y": 2}, "b": 1})
    assert first_text == second_text == '{"a":{"x":1,"y":2},"b":1}'
    assert first_hash == second_hash == arguments_hash({"a": {"x": 1, "y": 2}, "b": 1})
    assert len(first_hash) == 16 and int(first_hash, 16) >= 0
    assert arguments_hash({"b": 2}) != arguments_hash({"b": 1})


def test_json_shape():
    assert json_shape({"total_hits": 2, "documents": [{"id": 1}, {"id": 2}]}) == (
        "documents:array,documents[].id:number,documents[]:object,total_hits:number"
    )
    assert json_shape([[1]]) == "$:array,$[]:array,$[][]:number"
    assert json_shape("text") == "$:string"
    assert json_shape({"empty": [], "none": None, "flag": False}) == "empty:array,flag:boolean,none:null"
    order_shape = "order.id:number,order.items:array,order.items[]:string,order:object"
    assert json_shape({"order": Order(1, ["a"])}) == order_shape
    assert json_shape({"a.b": 1, "a": {"b": 2}}) == "a.b:number,a:object"  # the same entry twice is one entry
    deep = {"l1": {"l2": {"l3": {"l4": {"l5": {"l6": 1}}}}}}
    assert "l1.l2.l3.l4.l5.l6:number" not in json_shape(deep)  # bounded depth
    assert len(json_shape({f"k{i}": i for i in range(500)}).split(",")) == 200  # bounded entries


def test_result_flags():
    assert result_flags({"total_hits": 3, "results": []}) == ["empty_with_hits"]
    assert result_flags({"total_hits": 3, "results": [], "documents": [1]}) == []
    assert result_flags({"count": True, "items": []}) == []  # a boolean is not a count
    assert result_flags({"total": 0, "items": []}) == []
    assert result_flags({"error": "quota exceeded"}) == ["error_payload"]
    assert result_flags({"error": None, "data": [1]}) == []
    for nothing in (False, "", {}, []):
        assert result_flags({"error": nothing}) == []
    assert result_flags(["not", "a", "dict"]) == []


@pytest.mark.parametrize("length", [10, 511, 512, 5000])
@pytest.mark.parametrize("hint", [*BUILTIN_HINTS, None])
def test_the_look_for_secrets_finds_every_hint_in_short_and_long_text(length, hint):
    text = "x" * length + ("" if hint is None else hint.upper())
    assert _content._may_hold_secret(text) is (hint is not None)


def test_redaction_applies_in_long_text():
    policy = ContentPolicy(max_length=100_000)
    text = "filler " * 200 + "api_key=abcd1234efgh"
    cleaned, redacted, cut = policy.clean(text)
    assert redacted == 1 and "abcd1234efgh" not in cleaned and not cut


def test_capture_cuts_before_it_redacts_and_still_sees_a_secret_across_the_cut():
    policy = ContentPolicy(max_length=100)
    key = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
    far = "x" * 100 + " token " * 10_000 + key  # a secret far past the cut is never read: nothing to redact
    text, redacted, cut = policy.clean(far)
    assert (redacted, cut) == (0, True) and text == "x" * 100 + "…[truncated]"
    straddling = "y" * 89 + " " + key + " tail"  # starts before the cut, ends after it
    text, redacted, cut = policy.clean(straddling)
    assert redacted == 1 and cut and "Ab3d" not in text and text.startswith("y" * 89 + " [REDAC")


def test_the_attribute_module_lists_every_name_it_defines():
    """Its __all__ was computed before any name existed, so it was empty (observed)."""
    from agentwatch.instrumentation import _attributes as A

    defined = {name for name in vars(A) if name.isupper()}
    assert defined and set(A.__all__) == defined
    assert all(isinstance(getattr(A, name), str) for name in A.__all__)


def test_a_private_key_cut_before_its_end_marker_keeps_no_key_material():
    """A tool result of 15,000 characters and then a 6,419-character PKCS#8 key: the capture is cut at 16,384
    characters, past the BEGIN marker and before the END marker; nothing of the key is kept."""
    import base64
    import os

    body = base64.b64encode(os.urandom(4700)).decode()
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    pem += "\n-----END PRIVATE KEY-----"
    assert len(pem) > 6000
    cleaned, redacted, cut = ContentPolicy().clean("x" * 15000 + pem)
    assert cut and redacted == 1
    assert not any(line in cleaned for line in body[:2000].split("\n") if len(line) > 8)
    assert body[:16] not in cleaned and body[64:80] not in cleaned
