"""``instrument()`` and ``shutdown()``: export spans to the agentwatch collector over OTLP."""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from agentwatch.config import Config, configure_agent
from agentwatch.errors import MissingExtraError
from agentwatch.instrumentation._content import ContentPolicy
from agentwatch.instrumentation._safety import handle_internal_errors
from agentwatch.instrumentation._state import set_policy, set_tracer_provider
from agentwatch.instrumentation._threads import patch_threads, unpatch_threads

if TYPE_CHECKING:  # the SDK loads when instrument() runs: importing agentwatch (and its server side) stays light
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

__all__ = ["PROVIDERS", "Instrumentation", "instrument", "shutdown"]

log = logging.getLogger("agentwatch.instrumentation")
_lock = threading.Lock()
_current: Instrumentation | None = None


@dataclass
class Instrumentation:
    """What ``instrument()`` set up, so ``shutdown()`` can undo exactly that."""

    config: Config
    provider: TracerProvider
    processor: SpanProcessor | None
    owns_provider: bool
    instrumentors: list[Any]

    def flush(self, timeout_millis: int = 30_000) -> bool:
        if self.processor is not None:
            return self.processor.force_flush(timeout_millis)
        return self.provider.force_flush(timeout_millis)


def _headers(text: str) -> dict[str, str]:
    headers = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = pair.partition("=")
        headers[key.strip().lower()] = value.strip()
    return headers


def _exporter(config: Config) -> Any:
    from agentwatch.instrumentation._otlp import grpc_exporter, http_exporter

    headers = _headers(config.headers)
    endpoint = config.endpoint.rstrip("/")
    if config.protocol == "http/json":  # the Python SDK has no JSON exporter; the same endpoint takes protobuf
        log.info("agentwatch exports OTLP as http/protobuf: the OpenTelemetry Python SDK has no http/json exporter")
    if config.protocol == "grpc":
        try:
            import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401
        except ImportError:
            raise MissingExtraError("opentelemetry-exporter-otlp-proto-grpc", "grpc", "Exporting over gRPC") from None
        return grpc_exporter(
            endpoint=endpoint.removeprefix("http://").removeprefix("https://"),
            insecure=endpoint.startswith("http://"),
            headers=headers or None,
        )
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    return http_exporter(endpoint=endpoint, headers=headers or None)


def instrument(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    headers: str | None = None,
    capture_content: bool | None = None,
    max_content_length: int | None = None,
    redact_emails: bool | None = None,
    protocol: str | None = None,
    providers: Collection[str] | None = None,
    threads: bool = True,
    tracer_provider: TracerProvider | None = None,
    span_processor: SpanProcessor | None = None,
) -> Instrumentation:
    """Instrument this process: LLM clients found, agent/tool/step spans, export to the collector.

    Settings not given come from the environment (``AGENTWATCH_*``, ``OTEL_*``; the agent side only, see
    :func:`agentwatch.config.configure_agent`). An SDK TracerProvider that is already global is reused (our exporter
    is added to it), otherwise one is created and made global. Calling it again returns the first setup unchanged.
    ``providers`` names the LLM SDKs to instrument (:data:`PROVIDERS`; default: every one installed, ``()`` for
    none). ``span_processor`` replaces the OTLP exporter (e.g. for tests).
    """
    global _current
    with _lock:
        if _current is not None:
            return _current
        config = configure_agent(
            service_name=service_name,
            endpoint=endpoint,
            headers=headers,
            capture_content=capture_content,
            max_content_length=max_content_length,
            redact_emails=redact_emails,
            protocol=protocol,
        )
        from agentwatch.instrumentation import _state
        from agentwatch.instrumentation.guards import guards_from_config

        _state.default_guards = guards_from_config(config)  # global guard defaults (None: guards off)
        _state.conversations = config.conversations
        _state.raise_errors = config.raise_instrumentation_errors
        set_policy(
            ContentPolicy(
                capture=config.capture_content,
                max_length=config.max_content_length,
                redact_emails=config.redact_emails,
                extra_patterns=config.redact_patterns,
            )
        )
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = tracer_provider or trace.get_tracer_provider()
        owns = False
        if not isinstance(provider, TracerProvider):  # the API's proxy: nobody configured the SDK yet
            provider = TracerProvider(resource=Resource.create({"service.name": config.service_name}))
            trace.set_tracer_provider(provider)
            owns = True
        processor = span_processor or BatchSpanProcessor(_exporter(config))
        provider.add_span_processor(processor)
        set_tracer_provider(provider)
        _state.agent_name = config.agent_name or str(provider.resource.attributes.get("service.name") or "")
        instrumentors = _instrument_providers(PROVIDERS if providers is None else providers, provider)
        if threads:
            patch_threads()
        _current = Instrumentation(config, provider, processor, owns, instrumentors)
        atexit.register(_flush_at_exit)
        log.debug("agentwatch instrumentation on: exporting to %s (%s)", config.endpoint, config.protocol)
        return _current


# The LLM SDKs agentwatch instruments: name → (the package that must be installed, its instrumentor), as the
# opentelemetry_instrumentor entry points name them.
PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("openai", "agentwatch.instrumentation.openai:OpenAIInstrumentor"),
    "anthropic": ("anthropic", "agentwatch.instrumentation.anthropic:AnthropicInstrumentor"),
    "litellm": ("litellm", "agentwatch.instrumentation.litellm:LiteLLMInstrumentor"),
}


def _instrument_providers(names: Collection[str], provider: TracerProvider) -> list[Any]:
    """Instrument each named provider whose SDK is installed (found without importing it; an SDK that is not there
    is skipped, one too old is skipped by the instrumentor's dependency check)."""
    unknown = sorted(set(names) - set(PROVIDERS))
    if unknown:
        raise ValueError(f"unknown LLM provider(s) {', '.join(unknown)}; known: {', '.join(PROVIDERS)}")
    instrumentors: list[Any] = []
    for name in names:
        package, target = PROVIDERS[name]
        if importlib.util.find_spec(package) is None:
            continue
        with handle_internal_errors(f"instrumenting {name}"):
            module, _, cls = target.partition(":")
            instrumentor = getattr(importlib.import_module(module), cls)()
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument(tracer_provider=provider, skip_dep_check=False)
                if instrumentor.is_instrumented_by_opentelemetry:
                    instrumentors.append(instrumentor)
    return instrumentors


def _flush_at_exit() -> None:
    try:
        shutdown(timeout_millis=5_000)
    except Exception as exc:  # at exit there is nobody to tell but the log
        log.warning("agentwatch could not flush at exit: %r", exc)


def _bounded(what: Callable[[], object], timeout_millis: int) -> bool:
    """Run a shutdown step in a daemon thread, waiting at most ``timeout_millis``: the SDK's own flush ignores its
    timeout and retries an unreachable collector for its full export timeout per batch, which would hold the
    application's exit hostage."""
    worker = threading.Thread(target=what, name="agentwatch-shutdown", daemon=True)
    worker.start()
    worker.join(timeout_millis / 1000)
    return not worker.is_alive()


def shutdown(timeout_millis: int = 30_000) -> None:
    """Export what is buffered (waiting at most ``timeout_millis``) and undo ``instrument()``; safe to call
    more than once."""
    global _current
    with _lock:
        current, _current = _current, None
    if current is None:
        return
    from agentwatch.instrumentation import _conversation

    _conversation.end_all()  # runs of plain loops still open: their spans end before the flush
    for instrumentor in current.instrumentors:
        instrumentor.uninstrument()
    unpatch_threads()
    set_tracer_provider(None)
    from agentwatch.instrumentation import _state

    _state.default_guards = None
    _state.agent_name = ""
    _state.conversations = True
    target = current.provider if current.owns_provider else current.processor
    if target is not None and not _bounded(target.shutdown, timeout_millis):
        log.warning(
            "agentwatch gave up exporting buffered spans after %d ms (is the collector at %s reachable?)",
            timeout_millis,
            current.config.endpoint,
        )


def current() -> Instrumentation | None:
    return _current
