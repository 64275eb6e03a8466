"""The seam every LLM provider plugs into: one model call's span, whatever the SDK.

A provider (``openai.py``, ``anthropic.py``, ``litellm.py``) is a list of targets (methods patched by dotted path)
and extractors: what a call's arguments say (:class:`Request`), what a whole response or one streamed piece says
(written into :class:`LLMCall`). Everything else lives here, once: the guards checked before the call (and the
rate-limit back-off, slept or awaited), the span with the GenAI request attributes, the agent/session/step it
belongs to, content capture with redaction and truncation, the stream proxies that end the span when the stream
ends, usage, cost and finish reasons at the end, ``error.type`` on failure.

A call made while another is being recorded in the same context (LiteLLM calling the OpenAI SDK, an SDK's own
tracing) is the same call: it is passed through and recorded once, by the outermost provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import sys
import time
from collections.abc import Callable, Collection, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from agentwatch._version import __version__
from agentwatch.errors import AgentGuardError
from agentwatch.instrumentation import _attributes as A
from agentwatch.instrumentation import _conversation as conversation
from agentwatch.instrumentation import _state
from agentwatch.instrumentation._checkpoints import after_llm, before_llm, block, record
from agentwatch.instrumentation._content import parse_arguments, to_json
from agentwatch.instrumentation._context import current_run, current_session, next_step
from agentwatch.instrumentation._conversation import PlainRun, Turn
from agentwatch.instrumentation._safety import handle_internal_errors
from agentwatch.instrumentation._state import policy
from agentwatch.instrumentation._tokens import count_tokens, message_text

__all__ = [
    "LLMCall",
    "LLMInstrumentor",
    "Provider",
    "RawResponse",
    "Request",
    "StreamManager",
    "Target",
    "client_url",
    "get",
    "numeric_params",
    "parse_arguments",
    "recording",
    "server_of",
]

_recording: ContextVar[bool] = ContextVar("agentwatch_llm_recording", default=False)


def recording() -> bool:
    """Whether an LLM call is being recorded in this context (a nested call is the same call)."""
    return _recording.get()


def get(obj: Any, key: str, default: Any = None) -> Any:
    """A field of an SDK object or of its dict form (responses, chunks and requests come as either)."""
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


_urls: dict[int, tuple[Any, str]] = {}


def client_url(resource: Any, default: str) -> str:
    """The base URL of the client an SDK resource (``client.chat.completions``) belongs to, as text. Turning the
    SDK's URL object into text is slow, so it is done once per URL object (a client keeps its URL; a new URL is a new
    object)."""
    url = getattr(getattr(resource, "_client", None), "base_url", None)
    if url is None:
        return default
    known = _urls.get(id(url))
    if known is None or known[0] is not url:
        if len(_urls) > 256:
            _urls.clear()
        known = _urls[id(url)] = (url, str(url))
    return known[1]


@functools.lru_cache(maxsize=64)
def server_of(base_url: str) -> tuple[str, int]:
    """``server.address`` and ``server.port`` of a client's base URL (a client keeps its URL: worked out once)."""
    parts = urlsplit(base_url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def numeric_params(kwargs: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """``gen_ai.request.*`` attributes of the numeric arguments a call was given (``names``: argument → attribute)."""
    found: dict[str, Any] = {}
    for param, attribute in names.items():
        value = kwargs.get(param)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found[attribute] = value
    return found


@dataclass(frozen=True)
class Target:
    """What to patch: ``module``, ``"Class.method"`` (or a module-level ``"function"``), the provider's name for the
    kind of call, sync or async."""

    module: str
    method: str
    kind: str
    is_async: bool = False


@dataclass
class Request:
    """What a provider read from a call's arguments."""

    model: str
    provider: str
    operation: str = "chat"
    server: tuple[str, int | None] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)  # gen_ai.request.* the call set
    streamed: bool = False
    messages: Callable[[], list[dict[str, Any]]] | None = None  # built only when needed (content capture, estimates)
    turn: Callable[[], Turn | None] | None = None  # what the request says of its conversation (tool results…)


class LLMCall:
    """One LLM call's span and what it has seen so far (a stream reports in pieces)."""

    def __init__(self, span: Span, operation: str, run: Any = None, model: str = "") -> None:
        self.span = span
        self.operation = operation
        self.run = run  # the agent run whose budget this call draws on
        self.request_model = model
        self.ended = False
        self.plain: PlainRun | None = None  # the run derived from the conversation, outside decorated agents
        self.parent: Any = None  # the context the call was made in (where the tool calls it asks for go)
        self.position: int | None = None  # the index its answer will have in the conversation
        self.request: Request | None = None
        self.messages: list[dict[str, Any]] | None = None  # the request's messages, when built
        self.response_id: str | None = None
        self.model: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_tokens: int | None = None
        self.cache_creation_tokens: int | None = None
        self.choices: dict[int, dict[str, Any]] = {}
        self.redacted = 0  # secrets masked, over every content attribute of the span
        self.truncated: list[str] = []  # content attributes cut

    # -- what the response says -------------------------------------------------------------------
    def choice(self, index: int = 0) -> dict[str, Any]:
        return self.choices.setdefault(index, {"text": [], "tool_calls": {}, "finish_reason": None})

    def add_text(self, text: str | None, index: int = 0) -> None:
        if text:
            self.choice(index)["text"].append(text)

    def add_tool_call(
        self,
        key: Any,
        *,
        call_id: str | None = None,
        name: str | None = None,
        arguments: str | None = None,
        index: int = 0,
    ) -> None:
        """A tool call, or a piece of one (streams send the id and name first, then the arguments in pieces)."""
        slot = self.choice(index)["tool_calls"].setdefault(key, {"id": None, "name": None, "arguments": []})
        slot["id"] = call_id or slot["id"]
        slot["name"] = name or slot["name"]
        if arguments:
            slot["arguments"].append(arguments)

    def set_finish_reason(self, reason: str | None, index: int = 0) -> None:
        if reason:
            self.choice(index)["finish_reason"] = reason

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
                        "arguments": parse_arguments("".join(call["arguments"])),
                    }
                )
            messages.append({"role": "assistant", "parts": parts, "finish_reason": state["finish_reason"] or ""})
        return messages

    # -- content ----------------------------------------------------------------------------------
    def set_content(self, key: str, text: str) -> str:
        """Captured content, redacted and cut to length; the span's bookkeeping sums over its content attributes, as
        an agent or tool span's does: secrets masked so far, every key cut so far. Returns what was recorded."""
        cleaned, redacted, cut = policy().clean(text)
        self.span.set_attribute(key, cleaned)
        if redacted:
            self.redacted += redacted
            self.span.set_attribute(A.CONTENT_REDACTED, self.redacted)
        if cut and key not in self.truncated:
            self.truncated.append(key)
            self.span.set_attribute(A.CONTENT_TRUNCATED, list(self.truncated))
        return cleaned

    def estimate_usage(self) -> None:
        """A stream that reported no usage (its request did not ask for it): tokens estimated from the text, marked
        as such, so cost and the token budget are not blind to it."""
        request = self.request
        if request is None or not request.streamed or self.input_tokens is not None or self.output_tokens is not None:
            return
        if self.messages is None and request.messages is not None:
            self.messages = request.messages()
        out = [t for state in self.choices.values() for t in state["text"]]
        out += [a for state in self.choices.values() for c in state["tool_calls"].values() for a in c["arguments"]]
        self.input_tokens = count_tokens(message_text(self.messages or []))
        self.output_tokens = count_tokens("".join(out))
        self.span.set_attribute(A.USAGE_ESTIMATED, True)

    def tool_calls(self) -> list[tuple[str, str, str]]:
        """(id, name, arguments) of every tool call the response asked for."""
        return [
            (str(c["id"]), str(c["name"]), "".join(c["arguments"]))
            for _, state in sorted(self.choices.items())
            for _, c in sorted(state["tool_calls"].items())
            if c["id"] and c["name"]
        ]

    # -- the end ----------------------------------------------------------------------------------
    def finish(self, output: list[dict[str, Any]] | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        with handle_internal_errors("ending an LLM span"):
            span = self.span
            self.estimate_usage()
            if self.response_id:
                span.set_attribute(A.RESPONSE_ID, self.response_id)
            if self.model:
                span.set_attribute(A.RESPONSE_MODEL, self.model)
            if self.input_tokens is not None:
                span.set_attribute(A.INPUT_TOKENS, int(self.input_tokens))
            if self.output_tokens is not None:
                span.set_attribute(A.OUTPUT_TOKENS, int(self.output_tokens))
            if self.cache_read_tokens is not None:
                span.set_attribute(A.CACHE_READ_TOKENS, int(self.cache_read_tokens))
            if self.cache_creation_tokens is not None:
                span.set_attribute(A.CACHE_CREATION_TOKENS, int(self.cache_creation_tokens))
            cost = after_llm(
                self.run, self.model or self.request_model, int(self.input_tokens or 0), int(self.output_tokens or 0)
            )
            if cost:
                span.set_attribute(A.COST, round(cost, 8))
            messages = output if output is not None else self.output_messages()
            reasons = [m.get("finish_reason") for m in messages if m.get("finish_reason")]
            if reasons:
                span.set_attribute(A.FINISH_REASONS, reasons)
            if messages and policy().capture:
                self.set_content(A.OUTPUT_MESSAGES, to_json(messages))
        self.span.end()
        if self.operation == "chat" and (self.plain is not None or self.parent is not None):
            with handle_internal_errors("following the conversation"):
                calls = self.tool_calls()
                if calls or self.plain is not None:
                    text = "".join(self.choices[0]["text"]) if 0 in self.choices else ""
                    conversation.responded(self.run, self.plain, self.parent, self.position, calls, text)

    def fail(self, exc: BaseException) -> None:
        if self.ended:
            return
        self.ended = True
        with handle_internal_errors("recording an LLM error"):
            self.span.set_attribute(A.ERROR_TYPE, type(exc).__qualname__)
            status = getattr(exc, "status_code", None)
            if status == 429 and self.run is not None and self.run.guard is not None:
                self.run.guard.rate_limited += 1
            if isinstance(status, int):
                self.span.set_attribute(A.HTTP_STATUS_CODE, status)
            self.span.record_exception(exc)
            self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:1000]))
        self.span.end()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The call's span is current (the SDK's HTTP request is its child) and nested calls are the same call."""
        token = otel_context.attach(trace.set_span_in_context(self.span))
        flag = _recording.set(True)
        try:
            yield
        finally:
            _recording.reset(flag)
            otel_context.detach(token)


# -- streams ----------------------------------------------------------------------------------------
Absorb = Callable[[LLMCall, Any], None]


class _Stream(wrapt.ObjectProxy):
    """The SDK's stream, passed through piece by piece; the span ends when the stream does (or is dropped)."""

    def __init__(self, stream: Any, call: LLMCall, absorb: Absorb) -> None:
        super().__init__(stream)
        self._self_call = call
        self._self_absorb = absorb

    def _self_piece(self, piece: Any) -> Any:
        with handle_internal_errors("reading a streamed chunk"):
            self._self_absorb(self._self_call, piece)
        return piece

    def __del__(self) -> None:
        self._self_call.finish()


class SyncStream(_Stream):
    def __iter__(self) -> SyncStream:
        return self

    def __next__(self) -> Any:
        try:
            piece = self.__wrapped__.__next__()
        except StopIteration:
            self._self_call.finish()
            raise
        except BaseException as exc:
            self._self_call.fail(exc)
            raise
        return self._self_piece(piece)

    def __enter__(self) -> SyncStream:
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


class AsyncStream(_Stream):
    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> Any:
        try:
            piece = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_call.finish()
            raise
        except BaseException as exc:
            self._self_call.fail(exc)
            raise
        return self._self_piece(piece)

    async def __aenter__(self) -> AsyncStream:
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


def wrap_stream(stream: Any, call: LLMCall, absorb: Absorb, *, is_async: bool | None = None) -> Any:
    """The stream proxy for ``stream``; ``is_async`` for a stream class that is both (LiteLLM's), else it is told."""
    if is_async is None:
        is_async = hasattr(stream, "__anext__")
    return AsyncStream(stream, call, absorb) if is_async else SyncStream(stream, call, absorb)


def _is_raw(result: Any) -> bool:
    """An SDK's raw response object (``LegacyAPIResponse`` of openai and anthropic), not the parsed response."""
    return hasattr(result, "http_response") and callable(getattr(result, "parse", None))


class RawResponse(wrapt.ObjectProxy):
    """A streamed raw response: ``parse()`` gives the stream, wrapped so the span ends with it."""

    def __init__(self, raw: Any, call: LLMCall, follow: Callable[[Any], Any]) -> None:
        super().__init__(raw)
        self._self_call = call
        self._self_follow = follow
        self._self_parsed: Any = None

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        if self._self_parsed is None:
            self._self_parsed = self._self_follow(self.__wrapped__.parse(*args, **kwargs))
        return self._self_parsed

    def __del__(self) -> None:
        if self._self_parsed is None:  # never parsed: nothing more will be seen of it
            self._self_call.finish()


class StreamManager(wrapt.ObjectProxy):
    """A stream helper's context manager (``with client.messages.stream(...) as s``): the request is made when it is
    entered, inside the call's span; ``hook`` gets what was entered and routes its pieces through the call; the span
    ends when the manager exits (or is dropped)."""

    def __init__(self, manager: Any, call: LLMCall, hook: Callable[[Any, LLMCall], Any]) -> None:
        super().__init__(manager)
        self._self_call = call
        self._self_hook = hook

    def _self_entered(self, stream: Any) -> Any:
        with handle_internal_errors("following a stream helper"):
            stream = self._self_hook(stream, self._self_call)
        return stream

    def __enter__(self) -> Any:
        try:
            with self._self_call.active():
                stream = self.__wrapped__.__enter__()
        except BaseException as exc:
            self._self_call.fail(exc)
            raise
        return self._self_entered(stream)

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc)
        finally:
            self._self_call.finish()

    async def __aenter__(self) -> Any:
        try:
            with self._self_call.active():
                stream = await self.__wrapped__.__aenter__()
        except BaseException as exc:
            self._self_call.fail(exc)
            raise
        return self._self_entered(stream)

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc)
        finally:
            self._self_call.finish()

    def __del__(self) -> None:
        self._self_call.finish()


# -- providers --------------------------------------------------------------------------------------
class Provider:
    """A provider: its targets and how to read its calls. Subclasses fill these in."""

    name: ClassVar[str] = ""
    targets: ClassVar[tuple[Target, ...]] = ()
    dependencies: ClassVar[tuple[str, ...]] = ()

    def request(self, kind: str, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        raise NotImplementedError

    def absorb(self, kind: str, call: LLMCall, response: Any) -> list[dict[str, Any]] | None:
        """Read a whole response into ``call``; return output messages only to override the ones it collected."""
        raise NotImplementedError

    def absorb_piece(self, kind: str, call: LLMCall, piece: Any) -> None:
        """Read one streamed piece into ``call``."""
        raise NotImplementedError

    def result(self, kind: str, call: LLMCall, result: Any, request: Request) -> Any:
        """What the application gets back: streams wrapped so the span ends with them, else the response, read. A
        raw response (``with_raw_response``, as langchain-openai and CrewAI call the SDK) is read through its
        ``parse()``, which the SDK caches, so the application parses the same object."""
        if _is_raw(result):
            if request.streamed:
                return RawResponse(result, call, lambda parsed: self.result(kind, call, parsed, request))
            parsed = result.parse()
            self.result(kind, call, parsed, request)
            return result
        if request.streamed:
            return wrap_stream(result, call, lambda c, piece: self.absorb_piece(kind, c, piece))
        output = None
        with handle_internal_errors("reading an LLM response"):
            output = self.absorb(kind, call, result)
        call.finish(output)
        return result

    def patch(self) -> None:
        """Patches besides the targets (e.g. keeping an SDK's own span from recording a call twice)."""

    def unpatch(self) -> None:
        """Undo :meth:`patch`."""


class LLMInstrumentor(BaseInstrumentor):
    """An OpenTelemetry instrumentor for one provider; ``opentelemetry-instrument`` finds each by its entry point."""

    provider: ClassVar[Provider]

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.provider.dependencies

    def _instrument(self, **kwargs: Any) -> None:
        """Patch each target module when the application imports it (at once if it already has): instrumenting
        never imports an SDK the application does not use (``anthropic`` alone takes seconds to import)."""
        self._tracer = trace.get_tracer(f"agentwatch.{self.provider.name}", __version__, kwargs.get("tracer_provider"))
        self._generation = getattr(self, "_generation", 0) + 1
        self._patched: set[str] = set()
        for module in dict.fromkeys(t.module for t in self.provider.targets):
            wrapt.register_post_import_hook(functools.partial(self._patch, self._generation, module), module)

    def _patch(self, generation: int, name: str, module: Any) -> None:
        if generation != self._generation or name in self._patched:  # undone (or redone) since it was registered
            return
        with handle_internal_errors(f"instrumenting {name}"):
            for target in self.provider.targets:
                if target.module == name:
                    wrapt.wrap_function_wrapper(module, target.method, _wrapper(self.provider, target, self))
            if not self._patched:
                self.provider.patch()
            self._patched.add(name)

    def _uninstrument(self, **kwargs: Any) -> None:
        self._generation += 1
        for target in self.provider.targets:
            if target.module in self._patched:
                module = importlib.import_module(target.module)
                owner, _, method = target.method.rpartition(".")
                unwrap(getattr(module, owner) if owner else module, method)
        if self._patched:
            self.provider.unpatch()
        self._patched = set()

    @property
    def tracer(self) -> Tracer:
        return self._tracer


def _start(provider: Provider, tracer: Tracer, request: Request, plain: PlainRun | None, turn: Turn | None) -> LLMCall:
    attributes: dict[str, Any] = {
        A.OPERATION: request.operation,
        A.PROVIDER: request.provider,
        A.REQUEST_MODEL: request.model,
    }
    if request.server is not None:
        host, port = request.server
        attributes[A.SERVER_ADDRESS] = host
        if port:
            attributes[A.SERVER_PORT] = port
    attributes.update(request.attributes)
    if request.streamed:
        attributes[A.REQUEST_STREAM] = True
    if not policy().capture:
        attributes[A.CONTENT_CAPTURE] = False
    run = plain.run if plain is not None else current_run()
    session = run.session_id if run is not None else current_session()
    if session:
        attributes[A.CONVERSATION_ID] = session
    if run is not None:
        attributes[A.AGENT_NAME] = run.name
    attributes[A.STEP_INDEX] = run.next_step() if run is not None else next_step()
    name = f"{request.operation} {request.model}".strip()
    context = plain.context if plain is not None else None
    span = tracer.start_span(name, context=context, kind=SpanKind.CLIENT, attributes=attributes)
    call = LLMCall(span, request.operation, run, request.model)
    call.request = request
    if turn is not None:
        call.position = turn.length
        call.plain = plain
        call.parent = context if context is not None else otel_context.get_current()
    if run is not None and run.guard is not None:
        budget = run.guard.guards.budget
        record(span, "budget", "allowed", budget and budget.max_tokens, run.guard.tokens)
    if request.messages is not None and policy().capture:
        call.messages = messages = request.messages()
        if messages:
            recorded = call.set_content(A.INPUT_MESSAGES, to_json(messages))
            if plain is not None and plain.fresh:  # the run's input is what its first call was asked
                plain.span.set_attribute(A.INPUT_MESSAGES, recorded)
    if plain is not None:
        plain.fresh = False
    return call


Prepared = tuple[Request, Turn | None, PlainRun | None, AgentGuardError | None]


def _prepare(provider: Provider, kind: str, instance: Any, args: tuple, kwargs: dict) -> Prepared | None:
    """What the call's arguments say, and which run it belongs to (the conversation's tool results are recorded
    here); None when that failed (the call is then not traced)."""
    prepared = None
    with handle_internal_errors("starting an LLM span"):
        request = provider.request(kind, instance, args, kwargs)
        turn = request.turn() if request.turn is not None and _state.conversations else None
        plain, refused = conversation.begin(turn) if turn is not None else (None, None)
        prepared = request, turn, plain, refused
    return prepared


def _check(prepared: Prepared | None, kwargs: dict[str, Any]) -> float:
    """The guards of the call's run, checked before the call is made (raising, on purpose): a refusal the
    conversation's tool results earned (the loop guard), then budgets and rate limits. Returns the seconds to wait
    first after rate limits, which the wrapper waits in its own way (sleep or await)."""
    plain, refused = (prepared[2], prepared[3]) if prepared is not None else (None, None)
    run = plain.run if plain is not None else current_run()
    if run is None or (run.guard is None and refused is None):
        return 0.0
    model = str(kwargs.get("model", ""))
    attributes = {
        A.OPERATION: "chat",
        A.AGENT_NAME: run.name,
        A.CONVERSATION_ID: run.session_id,
        A.REQUEST_MODEL: model,
    }
    token = otel_context.attach(plain.context) if plain is not None else None
    try:
        if refused is not None:
            raise block(f"chat {model}", attributes, refused)
        return before_llm(run, model, attributes)
    except AgentGuardError as exc:
        if plain is not None:
            conversation.end_run(plain, error=exc)
        raise
    finally:
        if token is not None:
            otel_context.detach(token)


def _open(
    provider: Provider, instrumentor: LLMInstrumentor, prepared: Prepared | None
) -> tuple[LLMCall, Request] | None:
    """The call's span, or None when it is not to be traced (failed to start)."""
    if prepared is None:
        return None
    opened = None
    with handle_internal_errors("starting an LLM span"):
        request, turn, plain, _ = prepared
        opened = _start(provider, instrumentor.tracer, request, plain, turn), request
    return opened


def _traced() -> bool:
    """Record this call? Not when instrumentation is suppressed (agentwatch's own judge), another provider is
    already recording it, or another instrumentation's LLM span is (a framework's own telemetry: pydantic-ai,
    Strands, ADK, OpenInference); that span is the call's record, and a second one would count it twice."""
    return (
        is_instrumentation_enabled()
        and not _recording.get()
        and not _inside_foreign_llm_span()
        and not _recorded_by_langchain_callbacks()
    )


# What other instrumentations call an LLM call: the GenAI conventions' operation names, OpenInference's span kind,
# Traceloop's request type. agent_spans_mv reads the same conventions (its Kind column).
_LLM_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})


def _recorded_by_langchain_callbacks() -> bool:
    """OpenInference's LangChain instrumentation records LangChain's model calls from callbacks, without making its
    span current (so the check above cannot see it): while it is on, a call made from inside LangChain is its to
    record."""
    module = sys.modules.get("openinference.instrumentation.langchain")
    instrumentor = getattr(module, "LangChainInstrumentor", None) if module is not None else None
    if instrumentor is None or not instrumentor().is_instrumented_by_opentelemetry:
        return False
    frame: Any = sys._getframe(1)
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith(("langchain_", "langchain.")):
            return True
        frame = frame.f_back
    return False


def _inside_foreign_llm_span() -> bool:
    span = trace.get_current_span()
    scope = getattr(span, "instrumentation_scope", None)
    if scope is None or not span.is_recording() or scope.name.startswith("agentwatch"):
        return False
    attributes = getattr(span, "attributes", None) or {}
    return (
        attributes.get("gen_ai.operation.name") in _LLM_OPERATIONS
        or attributes.get("openinference.span.kind") == "LLM"
        or attributes.get("llm.request.type") in ("chat", "completion")
        # OpenInference sets its span kind first, and a long conversation's llm.input_messages.* can push it out
        # of the span's 128 attributes (the oldest go) before the call is made
        or any(key.startswith("llm.input_messages.") for key in attributes)
    )


def _wrapper(provider: Provider, target: Target, instrumentor: LLMInstrumentor) -> Any:
    return (_async_wrapper if target.is_async else _sync_wrapper)(provider, target.kind, instrumentor)


def _sync_wrapper(provider: Provider, kind: str, instrumentor: LLMInstrumentor) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
        if not _traced():
            return wrapped(*args, **kwargs)
        prepared = _prepare(provider, kind, instance, args, kwargs)
        delay = _check(prepared, kwargs)
        if delay:
            time.sleep(delay)
        opened = _open(provider, instrumentor, prepared)
        if opened is None:
            return wrapped(*args, **kwargs)
        call, request = opened
        try:
            with call.active():
                result = wrapped(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        return provider.result(kind, call, result, request)

    return wrapper


def _async_wrapper(provider: Provider, kind: str, instrumentor: LLMInstrumentor) -> Any:
    async def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
        if not _traced():
            return await wrapped(*args, **kwargs)
        prepared = _prepare(provider, kind, instance, args, kwargs)
        delay = _check(prepared, kwargs)
        if delay:
            await asyncio.sleep(delay)  # not time.sleep: the event loop's other tasks go on meanwhile
        opened = _open(provider, instrumentor, prepared)
        if opened is None:
            return await wrapped(*args, **kwargs)
        call, request = opened
        try:
            with call.active():
                result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        return provider.result(kind, call, result, request)

    return wrapper
