"""Decoding OTLP trace requests at the door: content types, gzip, size limits, JSON → protobuf, validation.

The collector never builds rows in Python: it checks a request (a upb parse, ~1M spans/s), counts its spans and
the ones it will reject, and hands the protobuf bytes to ClickHouse, which maps them (sql/ingest/).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from agentwatch.inflate import BodyTooLarge, MalformedBody, inflate

__all__ = [
    "CLAMPED_ATTRIBUTE",
    "END_CLAMPED_ATTRIBUTE",
    "DecodedRequest",
    "IngestError",
    "TimeWindow",
    "decode_request",
    "encode_response",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class IngestError(Exception):
    """A request the collector refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason  # label of the spans_rejected metric


@dataclass(frozen=True)
class DecodedRequest:
    payload: bytes  # a serialized ExportTraceServiceRequest
    spans: int  # spans in the request
    rejected: int  # spans ClickHouse will skip (invalid ids)
    json: bool  # answer in JSON
    clamped: int = 0  # spans whose start time was outside the kept window, moved to the receive time

    @property
    def message(self) -> str:
        """What the sender is told in ``partial_success`` (empty when all is well)."""
        notes = []
        if self.rejected:
            notes.append(f"{self.rejected} span(s) with an invalid trace or span id were rejected")
        if self.clamped:
            notes.append(
                f"{self.clamped} span(s) started outside the time the store keeps (0, far future, or older than "
                f"the retention), or had an end or event time it cannot hold; stored clamped (a start at the receive "
                f"time), the originals in {CLAMPED_ATTRIBUTE} and {END_CLAMPED_ATTRIBUTE}"
            )
        return "; ".join(notes)

    @property
    def accepted(self) -> int:
        return self.spans - self.rejected


def _gunzip(body: bytes, limit: int) -> bytes:
    try:
        return inflate(body, limit)
    except MalformedBody as exc:
        raise IngestError(400, str(exc), "malformed") from None
    except BodyTooLarge as exc:
        raise IngestError(413, str(exc), "too_large") from None


CLAMPED_ATTRIBUTE = "agentwatch.timestamp.original"
_MAX_KEPT_DURATION = 86_400 * 10**9  # a clamped span keeps its duration when it is below a day


@dataclass(frozen=True)
class TimeWindow:
    """Start times the store keeps: older rows would vanish at once by TTL, and far-future ones never expire
    (one request spread over many days also makes one insert touch more partitions than ClickHouse allows)."""

    oldest_ns: int
    newest_ns: int
    now_ns: int


END_CLAMPED_ATTRIBUTE = "agentwatch.end_time.original"
_INT64_MAX = (1 << 63) - 1
# a KeyValue whose value is an array whose first element is itself an array or a map, as protobuf writes it:
# value (0x12) len, array_value (0x2a) len, values (0x0a) len, array_value | kvlist_value — candidates are found by
# this pattern and confirmed by their lengths (see _has_nested), so ids and text that happen to hold these bytes
# do not send a request down the slow path
_NESTED = re.compile(
    rb"\x2a([\x80-\xff]{0,4}[\x00-\x7f])\x0a([\x80-\xff]{0,4}[\x00-\x7f])[\x2a\x32]([\x80-\xff]{0,4}[\x00-\x7f])",
    re.DOTALL,
)


def _varint(data: bytes) -> int:
    value = 0
    for shift, byte in enumerate(data):
        value |= (byte & 0x7F) << (7 * shift)
    return value


def _has_nested(payload: bytes) -> bool:
    """Whether any attribute value of the request is an array holding arrays or maps: a candidate of the pattern is
    confirmed by its lengths (each part fits in the one around it, and the KeyValue's value (0x12) before it holds
    exactly the array)."""
    for match in _NESTED.finditer(payload):
        array, element, inner = match.group(1), match.group(2), match.group(3)
        size = _varint(array)
        if not (1 + len(element) + _varint(element) <= size and 1 + len(inner) + _varint(inner) <= _varint(element)):
            continue
        at = match.start()
        for width in range(1, 6):  # the value's length, just before: 0x12, then a varint of `width` bytes
            head = payload[at - width - 1 : at]
            well_formed = len(head) == width + 1 and head[0] == 0x12 and all(b & 0x80 for b in head[1:-1])
            if well_formed and head[-1] < 0x80 and _varint(head[1:]) == 1 + len(array) + size:
                return True
    return False


def _original(holder: Any, key: str, value: int) -> None:
    """Keep an original time beside the clamped one (as text: a uint64 past int64 would not fit an int_value)."""
    attribute = holder.attributes.add()
    attribute.key = key
    attribute.value.string_value = str(value)


def _check(request: ExportTraceServiceRequest, window: TimeWindow | None) -> tuple[int, int, int]:
    """(spans, rejected, clamped): times the columns cannot hold sensibly are clamped, the originals kept as
    attributes — a start outside ``window`` moves to its ``now``; an end past the window or before the start
    becomes the start (``agentwatch.end_time.original``); an event time outside the window becomes the span's start
    (the event's ``agentwatch.timestamp.original``)."""
    spans = rejected = clamped = 0
    if window is not None:
        oldest, newest, now = window.oldest_ns, window.newest_ns, window.now_ns
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans += 1
                if len(span.trace_id) != 16 or len(span.span_id) != 8:
                    rejected += 1
                    continue
                if window is None:
                    continue
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                if oldest <= start <= newest and start <= end <= newest and not span.events:
                    continue  # the common case, decided with as few field reads as possible
                changed = False
                if not oldest <= start <= newest:
                    original, duration = start, end - start if 0 <= end - start < _MAX_KEPT_DURATION else 0
                    span.start_time_unix_nano = start = now
                    span.end_time_unix_nano = end = now + duration
                    attribute = span.attributes.add()
                    attribute.key = CLAMPED_ATTRIBUTE
                    attribute.value.int_value = min(original, _INT64_MAX)
                    changed = True
                elif end > newest or (end and end < start):
                    span.end_time_unix_nano = start
                    _original(span, END_CLAMPED_ATTRIBUTE, end)
                    changed = True
                for event in span.events:
                    stamp = event.time_unix_nano
                    if not oldest <= stamp <= newest:
                        event.time_unix_nano = start
                        _original(event, CLAMPED_ATTRIBUTE, stamp)
                        changed = True
                clamped += changed
    return spans, rejected, clamped


def _json_of(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_json_of(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _json_of(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None if kind is None else getattr(value, kind)


def _nested(value: Any) -> bool:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return any(v.WhichOneof("value") in ("array_value", "kvlist_value") for v in value.array_value.values)
    if kind == "kvlist_value":
        return any(kv.value.WhichOneof("value") in ("array_value", "kvlist_value") for kv in value.kvlist_value.values)
    return False


def _flatten_nested(request: ExportTraceServiceRequest) -> int:
    """Attribute values nested deeper than the store's one level (an array of arrays, a map in an array) become
    their JSON text, so nothing of them is lost; returns how many."""
    flattened = 0
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                holders = [span.attributes, *(event.attributes for event in span.events)]
                for attributes in holders:
                    for attribute in attributes:
                        if _nested(attribute.value):
                            attribute.value.string_value = json.dumps(_json_of(attribute.value), separators=(",", ":"))
                            flattened += 1
    return flattened


_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_ids_to_base64(obj: Any) -> None:
    """OTLP/JSON writes ids as hex, protobuf's JSON mapping wants base64: convert in place. A bad id becomes
    empty, so the span is rejected (and counted) instead of failing the whole request."""
    for resource_spans in obj.get("resourceSpans", obj.get("resource_spans", [])) or []:
        for scope_spans in resource_spans.get("scopeSpans", resource_spans.get("scope_spans", [])) or []:
            for span in scope_spans.get("spans", []) or []:
                for holder in [span, *(span.get("links") or [])]:
                    for key in _ID_FIELDS:
                        if key in holder:
                            try:
                                raw = bytes.fromhex(holder[key]) if isinstance(holder[key], str) else b""
                            except ValueError:
                                raw = b""
                            holder[key] = base64.b64encode(raw).decode()


def decode_request(
    body: bytes, content_type: str, content_encoding: str, max_bytes: int, window: TimeWindow | None = None
) -> DecodedRequest:
    """Check and normalise one ``/v1/traces`` body; raise :class:`IngestError` with the status to answer."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in (PROTOBUF, JSON):
        raise IngestError(
            415, f"unsupported content type {media or '(none)'!r}; send {PROTOBUF} or {JSON}", "unsupported_media_type"
        )
    if len(body) > max_bytes:
        raise IngestError(413, f"request body exceeds {max_bytes} bytes", "too_large")
    encoding = content_encoding.strip().lower()
    if encoding == "gzip":
        body = _gunzip(body, max_bytes)
    elif encoding not in ("", "identity"):
        raise IngestError(
            415, f"unsupported content encoding {encoding!r}; send gzip or none", "unsupported_media_type"
        )
    request = ExportTraceServiceRequest()
    if media == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RecursionError) as exc:
            raise IngestError(400, f"malformed protobuf: {exc or 'cannot parse'}", "malformed") from None
        payload = body
    else:
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("the body is not a JSON object")
            _hex_ids_to_base64(data)
            json_format.ParseDict(data, request, ignore_unknown_fields=True)
        except (ValueError, json_format.ParseError, RecursionError, TypeError, AttributeError) as exc:
            raise IngestError(400, f"malformed JSON: {exc}", "malformed") from None
        payload = request.SerializeToString()
    spans, rejected, clamped = _check(request, window)
    nested = _flatten_nested(request) if _has_nested(payload) else 0
    if clamped or nested:  # rare: the request is written again with the moved times or the flattened values
        payload = request.SerializeToString()
    return DecodedRequest(payload=payload, spans=spans, rejected=rejected, json=media == JSON, clamped=clamped)


def encode_response(as_json: bool, rejected: int = 0, message: str = "") -> bytes:
    """An ExportTraceServiceResponse, with ``partial_success`` when spans were rejected or there is a warning
    (OTLP allows a message with ``rejected_spans`` 0)."""
    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if as_json:
        return json.dumps(json_format.MessageToDict(response)).encode()
    return response.SerializeToString()


def status_body(as_json: bool, code: int, message: str) -> bytes:
    """A google.rpc.Status body, as OTLP/HTTP answers errors."""
    if as_json:
        return json.dumps({"code": code, "message": message}).encode()
    from google.rpc import status_pb2

    return status_pb2.Status(code=code, message=message).SerializeToString()
