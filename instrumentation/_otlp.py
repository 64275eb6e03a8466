"""OTLP span encoding for agentwatch's exporters, about 2.5× faster than the SDK's and byte-for-byte the same message.

The SDK's encoder (``opentelemetry.exporter.otlp.proto.common``) builds every attribute as a fresh ``KeyValue`` and
``AnyValue`` through keyword constructors, then copies them into the span; at a dozen attributes a span that is most
of what recording a tool call costs (measured by ``bench/peers.py``: a tool call's export cost more than its span).
This one fills the request in place (``add()`` and field assignment, which protobuf's C implementation does without
intermediate objects) and encodes each resource and scope once per batch.

Our exporters are the SDK's OTLP exporters; only the encoding step of *their* batches is ours: the exporter module's
``encode_spans`` is wrapped to route a batch marked as agentwatch's here and anything else, e.g. another
library's exporter in the same process, to the SDK unchanged. An SDK whose module has no ``encode_spans`` keeps its
own encoding.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import wrapt
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext

__all__ = ["Batch", "encode_spans", "grpc_exporter", "http_exporter", "key_value"]

log = logging.getLogger("agentwatch.instrumentation")

_FLAGS_HAS_IS_REMOTE = 0x100  # SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_FLAGS_IS_REMOTE = 0x200


class Batch(list):
    """Spans an agentwatch exporter is sending: encoded by :func:`encode_spans`."""


def _set(target: AnyValue, value: Any) -> None:
    """``value`` into ``target`` as the SDK's ``_encode_value`` would put it (bool before int: bool is an int)."""
    kind = type(value)
    if kind is str:
        target.string_value = value
    elif kind is bool:
        target.bool_value = value
    elif kind is int:
        target.int_value = value
    elif kind is float:
        target.double_value = value
    elif value is None:
        target.SetInParent()
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, bytes):
        target.bytes_value = value
    elif isinstance(value, Sequence):
        values = target.array_value.values
        target.array_value.SetInParent()
        for item in value:
            _set(values.add(), item)
    elif isinstance(value, Mapping):
        pairs = target.kvlist_value.values
        target.kvlist_value.SetInParent()
        for key, item in value.items():
            pair = pairs.add()
            pair.key = str(key)
            _set(pair.value, item)
    else:
        raise TypeError(f"Invalid type {type(value)} of value {value}")


def key_value(key: str, value: Any) -> KeyValue:
    """One OTLP attribute, encoded as agentwatch's exporters encode it (the benchmarks build requests with it)."""
    pair = KeyValue(key=key)
    _set(pair.value, value)
    return pair


def _attributes(target: Any, attributes: Mapping[str, Any] | None) -> None:
    if not attributes:
        return
    for key, value in attributes.items():
        pair = target.add()
        pair.key = key
        try:
            _set(pair.value, value)
        except Exception as error:  # as the SDK does: the attribute is dropped, the span is sent
            del target[-1]
            log.exception("Failed to encode key %s: %s", key, error)


def _flags(context: SpanContext | None) -> int:
    if context is not None and context.is_remote:
        return _FLAGS_HAS_IS_REMOTE | _FLAGS_IS_REMOTE
    return _FLAGS_HAS_IS_REMOTE


def _span(out: Any, span: ReadableSpan) -> None:
    context = span.get_span_context()
    assert context is not None  # a finished SDK span has one
    out.trace_id = context.trace_id.to_bytes(16, "big")
    out.span_id = context.span_id.to_bytes(8, "big")
    if context.trace_state is not None:
        out.trace_state = ",".join(f"{key}={value}" for key, value in context.trace_state.items())
    parent = span.parent
    if parent:
        out.parent_span_id = parent.span_id.to_bytes(8, "big")
    out.name = span.name
    out.kind = span.kind.value + 1  # the SDK's SpanKind counts from 0 (INTERNAL), OTLP's from 1 after UNSPECIFIED
    out.start_time_unix_nano = span.start_time or 0
    out.end_time_unix_nano = span.end_time or 0
    _attributes(out.attributes, span.attributes)
    for event in span.events:
        pb_event = out.events.add()
        pb_event.name = event.name
        pb_event.time_unix_nano = event.timestamp
        _attributes(pb_event.attributes, event.attributes)
        pb_event.dropped_attributes_count = event.dropped_attributes
    for link in span.links:
        pb_link = out.links.add()
        pb_link.trace_id = link.context.trace_id.to_bytes(16, "big")
        pb_link.span_id = link.context.span_id.to_bytes(8, "big")
        _attributes(pb_link.attributes, link.attributes)
        pb_link.dropped_attributes_count = link.dropped_attributes
        pb_link.flags = _flags(link.context)
    status = span.status
    if status is not None:
        out.status.SetInParent()
        out.status.code = status.status_code.value
        if status.description:
            out.status.message = status.description
    out.dropped_attributes_count = span.dropped_attributes
    out.dropped_events_count = span.dropped_events
    out.dropped_links_count = span.dropped_links
    out.flags = _flags(parent)


def encode_spans(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    """The request the SDK's ``encode_spans`` builds for ``spans``, equal field for field (a test holds them equal)."""
    request = ExportTraceServiceRequest()
    resources: dict[Any, tuple[Any, dict[Any, Any]]] = {}
    for span in spans:
        resource = span.resource
        placed = resources.get(resource)
        if placed is None:
            resource_spans = request.resource_spans.add()
            resource_spans.resource.SetInParent()
            _attributes(resource_spans.resource.attributes, resource.attributes)
            if resource.schema_url:
                resource_spans.schema_url = resource.schema_url
            placed = resources[resource] = (resource_spans, {})
        resource_spans, scopes = placed
        scope = span.instrumentation_scope or None
        scope_spans = scopes.get(scope)
        if scope_spans is None:
            scope_spans = scopes[scope] = resource_spans.scope_spans.add()
            scope_spans.scope.SetInParent()
            if scope is not None:
                _scope(scope_spans.scope, scope)
                if scope.schema_url:
                    scope_spans.schema_url = scope.schema_url
        _span(scope_spans.spans.add(), span)
    return request


def _scope(out: InstrumentationScope, scope: Any) -> None:
    out.name = scope.name
    if scope.version:
        out.version = scope.version
    _attributes(out.attributes, scope.attributes)


def _route(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    spans = args[0] if args else kwargs.get("sdk_spans")
    if isinstance(spans, Batch):
        return encode_spans(spans)
    return wrapped(*args, **kwargs)


def _hook(module: ModuleType) -> bool:
    """Route ``module.encode_spans`` (once); False when the module has none (an SDK laid out otherwise)."""
    current = getattr(module, "encode_spans", None)
    if current is None:
        return False
    if not getattr(current, "_agentwatch_routed", False):
        wrapt.wrap_function_wrapper(module, "encode_spans", _route)
        module.encode_spans._agentwatch_routed = True
    return True


def http_exporter(**kwargs: Any) -> Any:
    """The SDK's OTLP/HTTP span exporter, encoding with :func:`encode_spans`."""
    from opentelemetry.exporter.otlp.proto.http import trace_exporter

    class OTLPSpanExporter(trace_exporter.OTLPSpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> Any:
            return super().export(Batch(spans))

    return OTLPSpanExporter(**kwargs) if _hook(trace_exporter) else trace_exporter.OTLPSpanExporter(**kwargs)


def grpc_exporter(**kwargs: Any) -> Any:
    """The SDK's OTLP/gRPC span exporter, encoding with :func:`encode_spans`."""
    from opentelemetry.exporter.otlp.proto.grpc import trace_exporter

    class OTLPSpanExporter(trace_exporter.OTLPSpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> Any:
            return super().export(Batch(spans))

    return OTLPSpanExporter(**kwargs) if _hook(trace_exporter) else trace_exporter.OTLPSpanExporter(**kwargs)
