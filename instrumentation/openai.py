"""The OpenAI SDK (and any OpenAI-compatible endpoint through it): chat completions (sync, async, streamed, tool
calls), the Responses API and embeddings, as GenAI semantic-convention spans.

A streamed call's span stays open until the stream is consumed, closed or collected, and then carries the
usage the stream reported.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agentwatch._version import __version__
from agentwatch.instrumentation import _attributes as A
from agentwatch.instrumentation._content import to_json, to_jsonable
from agentwatch.instrumentation._context import current_run, current_session, next_step
from agentwatch.instrumentation._guarding import after_llm, before_llm, record
from agentwatch.instrumentation._safety import guard
from agentwatch.instrumentation._state import policy

__all__ = ["OpenAIInstrumentor", "provider_name"]

_KNOWN_PROVIDERS = {
    "api.openai.com": "openai",
    "api.deepseek.com": "deepseek",
    "api.groq.com": "groq",
    "api.mistral.ai": "mistral_ai",
    "api.x.ai": "x_ai",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "api.anthropic.com": "anthropic",
    "openrouter.ai": "openrouter",
    "api.together.xyz": "together_ai",
    "api.fireworks.ai": "fireworks_ai",
    "api.perplexity.ai": "perplexity",
    "api.cohere.com": "cohere",
}
_REQUEST_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
}


def provider_name(base_url: str) -> str:
    """``gen_ai.provider.name`` for an endpoint: a well-known value for known hosts (``openai``,
    ``azure.ai.openai``, ``groq`` …), otherwise the host itself, which names a self-hosted OpenAI-compatible
    server better than pretending it is OpenAI."""
    host = (urlsplit(str(base_url)).hostname or "").lower()
    if host.endswith(".openai.azure.com"):
        return "azure.ai.openai"
    return _KNOWN_PROVIDERS.get(host, host or "openai")


def _server(instance: Any) -> tuple[str, str, int | None]:
    return _server_of(str(getattr(getattr(instance, "_client", None), "base_url", "") or "https://api.openai.com/v1"))


@functools.lru_cache(maxsize=64)
def _server_of(base_url: str) -> tuple[str, str, int | None]:
    """Provider, host and port of a client's base URL (a client keeps its URL, so this is worked out once)."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return provider_name(base_url), parts.hostname or "", port


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _arguments(text: Any) -> Any:
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return to_jsonable(text)


def input_messages(messages: Any) -> list[dict[str, Any]]:
    """Chat messages in the semantic conventions' parts form."""
    out = []
    for message in messages or []:
        role = _get(message, "role") or "user"
        content = _get(message, "content")
        parts: list[dict[str, Any]] = []
        if role == "tool":
            parts.append({"type": "tool_call_response", "id": _get(message, "tool_call_id"), "response": content})
        elif isinstance(content, str):
            parts.append({"type": "text", "content": content})
        elif isinstance(content, list):
            for item in content:
                kind = _get(item, "type")
                parts.append({"type": "text", "content": _get(item, "text")} if kind == "text" else {"type": kind})
        for call in _get(message, "tool_calls") or []:
            function = _get(call, "function")
            parts.append(
                {
                    "type": "tool_call",
                    "id": _get(call, "id"),
                    "name": _get(function, "name"),
                    "arguments": _arguments(_get(function, "arguments")),
                }
            )
        out.append({"role": role, "parts": parts})
    return out


class _Call:
    """One LLM call's span and what it has seen so far (a stream reports in pieces)."""

    def __init__(self, span: Span, operation: str, run: Any = None, model: str = "") -> None:
        self.span = span
        self.operation = operation
        self.run = run  # the agent run whose budget this call draws on
        self.request_model = model
        self.ended = False
        self.response_id: str | None = None
        self.model: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.choices: dict[int, dict[str, Any]] = {}

    def choice(self, index: int) -> dict[str, Any]:
        return self.choices.setdefault(index, {"text": [], "tool_calls": {}, "finish_reason": None})

    def absorb_completion(self, response: Any) -> None:
        self.response_id = _get(response, "id")
        self.model = _get(response, "model")
        usage = _get(response, "usage")
        if usage is not None:
            self.input_tokens = _get(usage, "prompt_tokens", _get(usage, "input_tokens"))
            self.output_tokens = _get(usage, "completion_tokens", _get(usage, "output_tokens"))
        for choice in _get(response, "choices") or []:
            index = _get(choice, "index", 0) or 0
            state = self.choice(index)
            message = _get(choice, "message") or _get(choice, "delta")
            if message is not None:
                text = _get(message, "content")
                if text:
                    state["text"].append(text)
                for position, call in enumerate(_get(message, "tool_calls") or []):
                    key = _get(call, "index", position)
                    slot = state["tool_calls"].setdefault(key, {"id": None, "name": None, "arguments": []})
                    function = _get(call, "function")
                    slot["id"] = _get(call, "id") or slot["id"]
                    slot["name"] = _get(function, "name") or slot["name"]
                    if _get(function, "arguments"):
                        slot["arguments"].append(_get(function, "arguments"))
            if _get(choice, "finish_reason"):
                state["finish_reason"] = _get(choice, "finish_reason")

    def output_messages(self) -> list[dict[str, Any]]:
        messages = []
        for _, state in sorted(self.choices.items()):
            parts: list[dict[str, Any]] = []
            if state["text"]:
                parts.append({"type": "text", "content": "".join(state["text"])})
            for _, call in sorted(state["tool_calls"].items()):
                parts.append(
                    {
                        "type": "tool_call",
                        "id": call["id"],
                        "name": call["name"],
                        "arguments": _arguments("".join(call["arguments"])),
                    }
                )
            messages.append({"role": "assistant", "parts": parts, "finish_reason": state["finish_reason"] or ""})
        return messages

    def finish(self, output: list[dict[str, Any]] | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        with guard("ending an LLM span"):
            span = self.span
            if self.response_id:
                span.set_attribute("gen_ai.response.id", self.response_id)
            if self.model:
                span.set_attribute(A.RESPONSE_MODEL, self.model)
            if self.input_tokens is not None:
                span.set_attribute(A.INPUT_TOKENS, int(self.input_tokens))
            if self.output_tokens is not None:
                span.set_attribute(A.OUTPUT_TOKENS, int(self.output_tokens))
            cost = after_llm(
                self.run, self.model or self.request_model, int(self.input_tokens or 0), int(self.output_tokens or 0)
            )
            if cost:
                span.set_attribute("agentwatch.usage.cost_usd", round(cost, 8))
            messages = output if output is not None else self.output_messages()
            reasons = [m.get("finish_reason") for m in messages if m.get("finish_reason")]
            if reasons:
                span.set_attribute(A.FINISH_REASONS, reasons)
            if messages and policy().capture:
                _set_content(span, A.OUTPUT_MESSAGES, to_json(messages))
        self.span.end()

    def fail(self, exc: BaseException) -> None:
        if self.ended:
            return
        self.ended = True
        with guard("recording an LLM error"):
            self.span.set_attribute(A.ERROR_TYPE, type(exc).__qualname__)
            status = getattr(exc, "status_code", None)
            if status == 429 and self.run is not None and self.run.guard is not None:
                self.run.guard.rate_limited += 1
            if isinstance(status, int):
                self.span.set_attribute("http.response.status_code", status)
            self.span.record_exception(exc)
            self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:1000]))
        self.span.end()


def _set_content(span: Span, key: str, text: str) -> None:
    cleaned, redacted, cut = policy().clean(text)
    span.set_attribute(key, cleaned)
    if redacted:
        span.set_attribute(A.CONTENT_REDACTED, redacted)
    if cut:
        span.set_attribute(A.CONTENT_TRUNCATED, [key])


class _Stream(wrapt.ObjectProxy):  # type: ignore[misc]
    """The SDK's stream, passed through chunk by chunk; the span ends when the stream does (or is dropped)."""

    def __init__(self, stream: Any, call: _Call, absorb: Any) -> None:
        super().__init__(stream)
        self._self_call = call
        self._self_absorb = absorb

    def _self_chunk(self, chunk: Any) -> Any:
        with guard("reading a streamed chunk"):
            self._self_absorb(self._self_call, chunk)
        return chunk

    def __del__(self) -> None:
        self._self_call.finish()


class _SyncStream(_Stream):
    def __iter__(self) -> _SyncStream:
        return self

    def __next__(self) -> Any:
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            self._self_call.finish()
            raise
        except BaseException as exc:
            self._self_call.fail(exc)
            raise
        return self._self_chunk(chunk)

    def __enter__(self) -> _SyncStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc)
        finally:
            self._self_call.finish()

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_call.finish()


class _AsyncStream(_Stream):
    def __aiter__(self) -> _AsyncStream:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_call.finish()
            raise
        except BaseException as exc:
            self._self_call.fail(exc)
            raise
        return self._self_chunk(chunk)

    async def __aenter__(self) -> _AsyncStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc)
        finally:
            self._self_call.finish()

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_call.finish()


def _absorb_chunk(call: _Call, chunk: Any) -> None:
    call.absorb_completion(chunk)


def _absorb_response_event(call: _Call, event: Any) -> None:
    if _get(event, "type") == "response.completed":
        _absorb_response(call, _get(event, "response"))


def _absorb_response(call: _Call, response: Any) -> None:
    call.response_id = _get(response, "id")
    call.model = _get(response, "model")
    usage = _get(response, "usage")
    if usage is not None:
        call.input_tokens = _get(usage, "input_tokens")
        call.output_tokens = _get(usage, "output_tokens")
    state = call.choice(0)
    for item in _get(response, "output") or []:
        kind = _get(item, "type")
        if kind == "message":
            for part in _get(item, "content") or []:
                if _get(part, "text"):
                    state["text"].append(_get(part, "text"))
        elif kind == "function_call":
            state["tool_calls"][len(state["tool_calls"])] = {
                "id": _get(item, "call_id"),
                "name": _get(item, "name"),
                "arguments": [_get(item, "arguments") or ""],
            }
    status = _get(response, "status")
    state["finish_reason"] = "stop" if status == "completed" else status


class OpenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the ``openai`` package; ``opentelemetry-instrument`` finds it by its entry point."""

    _targets = (
        ("openai.resources.chat.completions", "Completions.create", "chat", False),
        ("openai.resources.chat.completions", "AsyncCompletions.create", "chat", True),
        ("openai.resources.responses", "Responses.create", "responses", False),
        ("openai.resources.responses", "AsyncResponses.create", "responses", True),
        ("openai.resources.embeddings", "Embeddings.create", "embeddings", False),
        ("openai.resources.embeddings", "AsyncEmbeddings.create", "embeddings", True),
    )

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai >= 1.0",)

    def _instrument(self, **kwargs: Any) -> None:
        self._tracer = trace.get_tracer("agentwatch.openai", __version__, kwargs.get("tracer_provider"))
        for module, name, kind, is_async in self._targets:
            wrapper = self._async_wrapper(kind) if is_async else self._sync_wrapper(kind)
            wrapt.wrap_function_wrapper(module, name, wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        import importlib

        for module, name, _, _ in self._targets:
            owner, method = name.split(".")
            unwrap(getattr(importlib.import_module(module), owner), method)

    # -- span start -------------------------------------------------------------------------------
    def _start(self, kind: str, instance: Any, kwargs: dict[str, Any]) -> _Call:
        provider, host, port = _server(instance)
        model = kwargs.get("model") or ""
        operation = "embeddings" if kind == "embeddings" else "chat"
        attributes: dict[str, Any] = {
            A.OPERATION: operation,
            A.PROVIDER: provider,
            A.REQUEST_MODEL: str(model),
            "server.address": host,
        }
        if port:
            attributes["server.port"] = port
        for param, attribute in _REQUEST_PARAMS.items():
            value = kwargs.get(param)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attributes[attribute] = value
        stop = kwargs.get("stop")
        if stop:
            attributes["gen_ai.request.stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if isinstance(kwargs.get("n"), int) and kwargs["n"] != 1:
            attributes["gen_ai.request.choice.count"] = kwargs["n"]
        response_format = kwargs.get("response_format")
        if response_format:
            kind_name = _get(response_format, "type")
            attributes["gen_ai.output.type"] = "json" if kind_name in ("json_object", "json_schema") else "text"
        if kwargs.get("stream"):
            attributes["gen_ai.request.stream"] = True
        run = current_run()
        session = current_session()
        if session:
            attributes[A.CONVERSATION_ID] = session
        if run is not None:
            attributes[A.AGENT_NAME] = run.name
        attributes[A.STEP_INDEX] = next_step()
        span = self._tracer.start_span(f"{operation} {model}".strip(), kind=SpanKind.CLIENT, attributes=attributes)
        if run is not None and run.guard is not None:
            budget = run.guard.guards.budget
            record(span, "budget", "allowed", budget and budget.max_tokens, run.guard.tokens)
        if policy().capture:
            if kind == "chat":
                messages = input_messages(kwargs.get("messages"))
            elif kind == "responses":
                raw = kwargs.get("input")
                messages = (
                    [{"role": "user", "parts": [{"type": "text", "content": raw}]}]
                    if isinstance(raw, str)
                    else input_messages(raw)
                )
                if kwargs.get("instructions"):
                    messages.insert(
                        0, {"role": "system", "parts": [{"type": "text", "content": kwargs["instructions"]}]}
                    )
            else:
                messages = []
            if messages:
                _set_content(span, A.INPUT_MESSAGES, to_json(messages))
        return _Call(span, operation, run, str(model))

    def _finish(self, kind: str, call: _Call, result: Any, streamed: bool) -> Any:
        if streamed:
            absorb = _absorb_response_event if kind == "responses" else _absorb_chunk
            return (
                _AsyncStream(result, call, absorb)
                if hasattr(result, "__anext__")
                else _SyncStream(result, call, absorb)
            )
        with guard("reading an LLM response"):
            if kind == "chat":
                call.absorb_completion(result)
            elif kind == "responses":
                _absorb_response(call, result)
            else:
                usage = _get(result, "usage")
                call.model = _get(result, "model")
                call.input_tokens = _get(usage, "prompt_tokens") if usage is not None else None
                data = _get(result, "data") or []
                if data:
                    call.span.set_attribute("gen_ai.embeddings.dimension.count", len(_get(data[0], "embedding")))
        call.finish([] if kind == "embeddings" else None)
        return result

    # -- wrappers ---------------------------------------------------------------------------------
    @staticmethod
    def _backoff(kwargs: dict[str, Any]) -> float:
        """The guards of the current agent run, checked before the call is made (raising, on purpose); returns the
        seconds to wait first after rate limits, which the wrapper waits in its own way (sleep or await)."""
        if not is_instrumentation_enabled():
            return 0.0
        run = current_run()
        if run is None or run.guard is None:
            return 0.0
        model = str(kwargs.get("model", ""))
        return before_llm(run, model, {A.OPERATION: "chat", A.AGENT_NAME: run.name, A.REQUEST_MODEL: model})

    def _open(self, kind: str, instance: Any, kwargs: dict[str, Any]) -> _Call | None:
        """The call's span, or None when it is not to be traced (instrumentation suppressed, e.g. for agentwatch's
        own judge, or failed)."""
        if not is_instrumentation_enabled():
            return None
        call = None
        with guard("starting an LLM span"):
            call = self._start(kind, instance, kwargs)
        return call

    def _sync_wrapper(self, kind: str) -> Any:
        def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
            delay = self._backoff(kwargs)
            if delay:
                time.sleep(delay)
            call = self._open(kind, instance, kwargs)
            if call is None:
                return wrapped(*args, **kwargs)
            token = otel_context.attach(trace.set_span_in_context(call.span))
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                call.fail(exc)
                raise
            finally:
                otel_context.detach(token)
            return self._finish(kind, call, result, bool(kwargs.get("stream")))

        return wrapper

    def _async_wrapper(self, kind: str) -> Any:
        async def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
            delay = self._backoff(kwargs)
            if delay:
                await asyncio.sleep(delay)  # not time.sleep: the event loop's other tasks go on meanwhile
            call = self._open(kind, instance, kwargs)
            if call is None:
                return await wrapped(*args, **kwargs)
            token = otel_context.attach(trace.set_span_in_context(call.span))
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                call.fail(exc)
                raise
            finally:
                otel_context.detach(token)
            return self._finish(kind, call, result, bool(kwargs.get("stream")))

        return wrapper
