"""``agent``, ``tool`` and ``step``: decorators (with or without arguments; sync and async functions and
generators) and matching context managers, each producing one span per invocation."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import random
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar, Token
from typing import Any, Literal, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agentwatch.instrumentation import _attributes as A
from agentwatch.instrumentation import _conversation, _state
from agentwatch.instrumentation._checkpoints import (
    after_answer,
    after_tool,
    before_handoff,
    before_tool,
    record,
    schema_problems,
)
from agentwatch.instrumentation._content import (
    canonical_arguments,
    json_shape,
    result_flags,
    to_json,
)
from agentwatch.instrumentation._context import (
    AgentRun,
    current_run,
    current_session,
    new_session_id,
    next_step,
    run_var,
    session_approvals,
    session_var,
)
from agentwatch.instrumentation._safety import handle_internal_errors, report
from agentwatch.instrumentation._state import policy, tracer
from agentwatch.instrumentation.guards import UNGUARDED, RunGuard

__all__ = ["AgentScope", "StepScope", "ToolScope", "agent", "step", "tool"]

F = TypeVar("F", bound=Callable[..., Any])
_MAX_COLLECTED = 1000
# what a guarded tool call's prepare() worked out (guard decisions, bound arguments, their canonical JSON and hash),
# handed to begin() so the arguments are bound and encoded once
_prepared: ContextVar[tuple[list, dict[str, Any], str, str] | None] = ContextVar(
    "agentwatch_tool_prepared", default=None
)


def _bound_arguments(fn: Callable[..., Any] | None, args: tuple, kwargs: dict) -> dict[str, Any]:
    if fn is None:
        return {}
    positional = _positional_names(fn)
    if positional is not None and len(args) <= len(positional):  # the common case, without inspect's bind
        values = dict(zip(positional, args))  # noqa: B905 (fewer args than names is the point)
        values.update(kwargs)
        values.pop("self", None)
        values.pop("cls", None)
        return values
    try:
        signature = _signature(fn)
        bound = signature.bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {"args": list(args), **kwargs} if args else dict(kwargs)
    values = dict(bound.arguments)
    for name in ("self", "cls"):
        values.pop(name, None)
    for name, param in signature.parameters.items():  # flatten **kwargs
        if param.kind is inspect.Parameter.VAR_KEYWORD and name in values:
            values.update(values.pop(name))
    return values


@functools.lru_cache(maxsize=4096)
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


@functools.lru_cache(maxsize=4096)
def _positional_names(fn: Callable[..., Any]) -> tuple[str, ...] | None:
    """Names of a function's positional parameters, or None when binding needs inspect (``*args``, ``**kw``)."""
    try:
        parameters = _signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = {p.kind for p in parameters}
    if inspect.Parameter.VAR_POSITIONAL in kinds or inspect.Parameter.VAR_KEYWORD in kinds:
        return None
    return tuple(
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )


def _messages(role: str, content: Any, finish_reason: str | None = None) -> str:
    text = content if isinstance(content, str) else to_json(content)
    message: dict[str, Any] = {"role": role, "parts": [{"type": "text", "content": text}]}
    if finish_reason:
        message["finish_reason"] = finish_reason
    return to_json([message])


class Live:
    """One open span of a scope, and what must be undone when it closes. Also the handle a ``with`` block gets."""

    __slots__ = (
        "_has_result",
        "_otel_token",
        "_output",
        "_redacted",
        "_result",
        "_run_token",
        "_schema_problems",
        "_session_token",
        "_truncated",
        "query",
        "run",
        "session",
        "span",
    )

    def __init__(self, span: Span, run: AgentRun | None = None, session: str | None = None) -> None:
        self.span = span
        self.run = run
        self.session = session
        self._run_token: Token | None = None
        self._session_token: Token | None = None
        self._otel_token: Token[otel_context.Context] | None = None
        self._redacted = 0
        self._truncated: list[str] | None = None
        self._result: Any = None
        self._has_result = False
        self._output: Any = None
        self._schema_problems: list[str] | None = None  # a guarded tool's result, checked once in after()
        self.query = ""  # the agent's input, for the answer gate

    # -- context ----------------------------------------------------------------------------------
    # (hot path: plain try/except rather than handle_internal_errors(), whose generator costs more than the work)
    def attach(self) -> None:
        try:
            self._otel_token = otel_context.attach(trace.set_span_in_context(self.span))
            if self.run is not None:
                self._run_token = run_var.set(self.run)
            if self.session is not None:
                self._session_token = session_var.set(self.session)
        except Exception as exc:
            report(exc, "entering a span")

    def detach(self) -> None:
        try:
            if self._session_token is not None:
                session_var.reset(self._session_token)
                self._session_token = None
            if self._run_token is not None:
                run_var.reset(self._run_token)
                self._run_token = None
            if self._otel_token is not None:
                otel_context.detach(self._otel_token)
                self._otel_token = None
        except Exception as exc:
            report(exc, "leaving a span")

    # -- content ----------------------------------------------------------------------------------
    def content(self, key: str, text: str, into: dict[str, Any]) -> None:
        """Put a content attribute into ``into``, redacted and capped (only when content capture is on)."""
        if not policy().capture:
            return
        cleaned, redacted, cut = policy().clean(text)
        self._redacted += redacted
        if cut:
            self._truncated = [*(self._truncated or ()), key]
        into[key] = cleaned

    def set_content(self, key: str, text: str) -> None:
        """Set a content attribute, redacted and capped (only when content capture is on)."""
        attributes: dict[str, Any] = {}
        self.content(key, text, attributes)
        if attributes:
            self.span.set_attributes(attributes)

    def set_attribute(self, key: str, value: Any) -> None:
        with handle_internal_errors("setting an attribute"):
            self.span.set_attribute(key, value)

    # -- what a ``with`` block can report ---------------------------------------------------------
    def set_input(self, value: Any) -> None:
        """The agent's input (the user's query)."""
        self.query = value if isinstance(value, str) else to_json(value)
        with handle_internal_errors("recording the input"):
            self.set_content(A.INPUT_MESSAGES, _messages("user", value))

    def set_output(self, value: Any) -> None:
        """The agent's answer."""
        self._output = value

    def set_result(self, value: Any) -> None:
        """The tool's result."""
        self._result = value
        self._has_result = True

    # -- closing ----------------------------------------------------------------------------------
    def fail(self, exc: BaseException) -> None:
        with handle_internal_errors("recording an error"):
            self.span.set_attribute(A.ERROR_TYPE, type(exc).__qualname__)
            self.span.record_exception(exc)
            self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:1000]))
            self._close()

    def _close(self) -> None:
        if self._redacted or self._truncated:
            bookkeeping: dict[str, Any] = {}
            if self._redacted:
                bookkeeping[A.CONTENT_REDACTED] = self._redacted
            if self._truncated:
                bookkeeping[A.CONTENT_TRUNCATED] = self._truncated
            self.span.set_attributes(bookkeeping)
        self.span.end()


class _Scope:
    """Base of agent/tool/step: a decorator factory and a context manager in one object."""

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
        self._fn = fn
        self._live: list[Live] = []

    # to implement
    def begin(self, fn: Callable[..., Any] | None, args: tuple, kwargs: dict) -> Live:
        raise NotImplementedError

    def succeed(self, live: Live, result: Any) -> None:
        raise NotImplementedError

    def prepare(self, fn: Callable[..., Any] | None, args: tuple, kwargs: dict) -> Any:
        """Guard checks before the body runs; may raise a guard error (on purpose) or return a substitute."""
        return None

    def after(self, live: Live, result: Any) -> Any:
        """Guard checks after the body returned; may raise a guard error or replace the result."""
        return result

    def _start(self, fn: Callable[..., Any] | None, args: tuple, kwargs: dict) -> Live | None:
        try:
            return self.begin(fn, args, kwargs)
        except Exception as exc:
            report(exc, "starting a span")
            return None

    def _succeed(self, live: Live, result: Any) -> None:
        try:
            self.succeed(live, result)
        except Exception as exc:
            report(exc, "ending a span")

    # -- as a context manager ---------------------------------------------------------------------
    def __enter__(self) -> Live:
        self.prepare(None, (), {})
        live = self._start(None, (), {})
        if live is None:  # instrumentation failed: hand out an inert handle
            live = Live(trace.INVALID_SPAN)
        live.attach()
        self._live.append(live)
        return live

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        live = self._live.pop()
        live.detach()
        if exc is None:
            try:
                outcome = self.after(live, live._result if live._has_result else live._output)
            except BaseException as guard_error:
                live.fail(guard_error)
                raise
            self._succeed(live, outcome)
        else:
            live.fail(exc)
        return False

    async def __aenter__(self) -> Live:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        return self.__exit__(exc_type, exc, tb)

    # -- as a decorator ---------------------------------------------------------------------------
    def __call__(self, fn: F) -> F:
        if inspect.isasyncgenfunction(fn):
            return functools.wraps(fn)(self._async_generator(fn))  # type: ignore[return-value]
        if inspect.iscoroutinefunction(fn):
            return functools.wraps(fn)(self._coroutine(fn))  # type: ignore[return-value]
        if inspect.isgeneratorfunction(fn):
            return functools.wraps(fn)(self._generator(fn))  # type: ignore[return-value]
        return functools.wraps(fn)(self._function(fn))  # type: ignore[return-value]

    def _function(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            substitute = self.prepare(fn, args, kwargs)
            if substitute is not None:
                return substitute
            live = self._start(fn, args, kwargs)
            if live is None:
                return fn(*args, **kwargs)
            live.attach()
            try:
                result = fn(*args, **kwargs)
                result = self.after(live, result)
            except BaseException as exc:
                live.detach()
                live.fail(exc)
                raise
            live.detach()
            self._succeed(live, result)
            return result

        return wrapper

    def _coroutine(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            substitute = self.prepare(fn, args, kwargs)
            if substitute is not None:
                return substitute
            live = self._start(fn, args, kwargs)
            if live is None:
                return await fn(*args, **kwargs)
            live.attach()
            try:
                result = await fn(*args, **kwargs)
                result = self.after(live, result)
            except BaseException as exc:
                live.detach()
                live.fail(exc)
                raise
            live.detach()
            self._succeed(live, result)
            return result

        return wrapper

    def _generator(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            substitute = self.prepare(fn, args, kwargs)
            if substitute is not None:
                yield substitute
                return None
            live = self._start(fn, args, kwargs)
            gen = fn(*args, **kwargs)
            if live is None:
                return (yield from gen)
            collected: list[Any] = []
            method, value = gen.send, None
            while True:
                live.attach()  # the span is current only while the generator's own code runs
                try:
                    item = method(value)
                except StopIteration as stop:
                    live.detach()
                    self._succeed(live, collected if stop.value is None else stop.value)
                    return stop.value
                except BaseException as exc:
                    live.detach()
                    live.fail(exc)
                    raise
                live.detach()
                if len(collected) < _MAX_COLLECTED:
                    collected.append(item)
                try:
                    value = yield item
                    method = gen.send
                except GeneratorExit:
                    gen.close()
                    self._succeed(live, collected)
                    raise
                except BaseException as exc:  # thrown in by the caller: pass it on to the generator
                    method, value = gen.throw, exc

        return wrapper

    def _async_generator(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            substitute = self.prepare(fn, args, kwargs)
            if substitute is not None:
                yield substitute
                return
            live = self._start(fn, args, kwargs)
            agen = fn(*args, **kwargs)
            collected: list[Any] = []
            value: Any = None
            throw: BaseException | None = None
            while True:
                if live is not None:
                    live.attach()
                try:
                    item = await (agen.athrow(throw) if throw is not None else agen.asend(value))
                except StopAsyncIteration:
                    if live is not None:
                        live.detach()
                        self._succeed(live, collected)
                    return
                except BaseException as exc:
                    if live is not None:
                        live.detach()
                        live.fail(exc)
                    raise
                if live is not None:
                    live.detach()
                if len(collected) < _MAX_COLLECTED:
                    collected.append(item)
                throw = None
                try:
                    value = yield item
                except GeneratorExit:
                    await agen.aclose()
                    if live is not None:
                        self._succeed(live, collected)
                    raise
                except BaseException as exc:
                    throw = exc

        return wrapper


def _text_of(value: Any) -> Any:
    """A generator's collected chunks of text read as one text."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value


class AgentScope(_Scope):
    def __init__(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        goal: str | None = None,
        allowed_tools: Iterable[str] | None = None,
        resources: Iterable[str] | None = None,
        credential: str | None = None,
        session_id: str | None = None,
        agent_id: str | None = None,
        budget: Any = None,
        guards: Any = None,
        min_grounding: float | None = None,
        fallback: str | None = None,
    ) -> None:
        super().__init__(fn)
        from agentwatch.instrumentation.guards import Guards

        if guards is None and (budget is not None or min_grounding is not None):
            guards = Guards()
        if guards is not None:
            guards = guards.merged(budget)
            if min_grounding is not None or fallback is not None:
                guards = dataclasses.replace(guards, min_grounding=min_grounding, fallback=fallback)
        self.guards = guards
        self.name = name
        self.goal = goal
        self.allowed_tools = tuple(allowed_tools) if allowed_tools is not None else None
        self.resources = tuple(resources) if resources is not None else None
        self.credential = credential
        self.session_id = session_id
        self.agent_id = agent_id

    def prepare(self, fn: Callable[..., Any] | None, args: tuple, kwargs: dict) -> Any:
        parent = current_run()
        if parent is not None and parent.guard is not None:
            name = self.name or (fn.__name__ if fn is not None else "agent")
            before_handoff(
                parent, name, {A.OPERATION: "invoke_agent", A.AGENT_NAME: name, A.CONVERSATION_ID: parent.session_id}
            )
        return None

    def begin(self, fn: Callable[..., Any] | None, args: tuple, kwargs: dict) -> Live:
        name = self.name or (fn.__name__ if fn is not None else "agent")
        parent = current_run()
        session = self.session_id or current_session() or new_session_id()
        run = AgentRun(
            name=name,
            session_id=session,
            goal=self.goal,
            allowed_tools=self.allowed_tools,
            resources=self.resources,
            credential=self.credential,
            parent=parent,
        )
        if parent is not None and parent.guard is not None:
            run.guard = parent.guard  # a hand-off draws on the same budget
        elif self.guards is not None or _state.default_guards is not None:
            run.guard = RunGuard(self.guards if self.guards is not None else _state.default_guards)
        attributes: dict[str, Any] = {A.OPERATION: "invoke_agent", **run.contract_attributes()}
        attributes.update(run.guard.guards.attributes if run.guard is not None else UNGUARDED)
        if self.agent_id:
            attributes[A.AGENT_ID] = self.agent_id
        if self.goal:
            attributes[A.GOAL] = self.goal
        if not policy().capture:
            attributes[A.CONTENT_CAPTURE] = False
        if parent is not None:
            attributes[A.STEP_INDEX] = parent.next_step()
        span = tracer().start_span(f"invoke_agent {name}", kind=SpanKind.INTERNAL, attributes=attributes)
        live = Live(span, run=run, session=session)
        if fn is not None and (policy().capture or run.guard is not None):
            values = _bound_arguments(fn, args, kwargs)
            texts = [v for v in values.values() if isinstance(v, str)]
            live.query = texts[0] if texts else to_json(values)
            if policy().capture:
                live.set_input(texts[0] if len(values) == 1 and texts else values)
        return live

    def after(self, live: Live, result: Any) -> Any:
        run = live.run
        if run is not None and run.gated:
            return after_answer(run, live.span, live.query, result)
        return result

    def succeed(self, live: Live, result: Any) -> None:
        if result is not None:
            live.set_content(A.OUTPUT_MESSAGES, _messages("assistant", _text_of(result), "stop"))
        live._close()


class ToolScope(_Scope):
    def __init__(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        irreversible: bool = False,
        result_schema: Any = None,
        resource: str | None = None,
        arguments: dict[str, Any] | None = None,
        call_id: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(fn)
        self.name = name
        self.irreversible = irreversible
        self.result_schema = result_schema
        self.resource = resource
        self.arguments = arguments
        self.call_id = call_id
        self.description = description
        self._fixed: tuple[str, dict[str, Any]] | None = None

    def _attributes(self, name: str) -> dict[str, Any]:
        """A new dict of the attributes every call of this tool shares (worked out once per tool name)."""
        fixed = self._fixed
        if fixed is None or fixed[0] != name:
            attributes: dict[str, Any] = {
                A.OPERATION: "execute_tool",
                A.TOOL_NAME: name,
                A.TOOL_TYPE: "function",
                A.TOOL_IRREVERSIBLE: self.irreversible,
            }
            if self.description:
                attributes[A.TOOL_DESCRIPTION] = self.description
            if self.resource:
                attributes[A.TOOL_RESOURCE] = self.resource
            if self.result_schema is not None:
                schema = self.result_schema
                attributes[A.RESULT_SCHEMA] = getattr(schema, "__name__", None) or (
                    str(schema.get("title") or "json_schema") if isinstance(schema, dict) else type(schema).__name__
                )
            self._fixed = fixed = (name, attributes)
        return fixed[1].copy()

    def prepare(self, fn: Callable[..., Any] | None, args: tuple, kwargs: dict) -> Any:
        run = current_run()
        if run is None or run.guard is None:
            return None
        name = self.name or (fn.__name__ if fn is not None else "tool")
        arguments = (self.arguments if fn is None else _bound_arguments(fn, args, kwargs)) or {}
        canonical, args_hash = canonical_arguments(arguments)
        attributes = {**self._attributes(name), **run.contract_attributes(), A.ARGUMENTS_HASH: args_hash}
        decisions, message = before_tool(run, name, arguments, args_hash, self.irreversible, attributes)
        if message is not None:
            span = tracer().start_span(f"execute_tool {name}", attributes=attributes)
            for decision in decisions:
                record(span, *decision)
            span.end()
            return message
        _prepared.set((decisions, arguments, canonical, args_hash))
        return None

    def after(self, live: Live, result: Any) -> Any:
        run = current_run()
        if run is None or run.guard is None:
            return result
        if self.result_schema is not None:  # kept for succeed(), which flags the result by the same check
            live._schema_problems = after_tool(run, live.span, self.name or "tool", result, self.result_schema)
        if run.gated:
            run.evidence.append(to_json(result))
        return result

    def begin(self, fn: Callable[..., Any] | None, args: tuple, kwargs: dict) -> Live:
        name = self.name or (fn.__name__ if fn is not None else "tool")
        run = current_run()
        prepared = _prepared.get()
        arguments: dict[str, Any] | None
        if prepared is not None:
            _prepared.set(None)
            decisions, arguments, canonical, args_hash = prepared
        else:
            decisions = []
            arguments = self.arguments if fn is None else _bound_arguments(fn, args, kwargs)
            canonical, args_hash = canonical_arguments(arguments or {})
        attributes = self._attributes(name)
        asked = _conversation.adopt(run, name, args_hash)  # the model's call, if it asked for this one
        attributes[A.TOOL_CALL_ID] = self.call_id or (
            asked.call_id if asked is not None else f"call_{random.getrandbits(96):024x}"
        )
        attributes[A.ARGUMENTS_HASH] = args_hash
        parent = None
        if run is None and asked is not None and asked.plain is not None:  # a plain loop's run
            run, parent = asked.plain.run, asked.plain.context
        if run is not None:
            attributes[A.STEP_INDEX] = run.next_step()
            attributes.update(run.contract_attributes())
        else:
            attributes[A.STEP_INDEX] = next_step()
            session = current_session()
            if session:
                attributes[A.CONVERSATION_ID] = session
        if self.irreversible:
            attributes[A.TOOL_APPROVED] = name in session_approvals()
        live = Live(trace.INVALID_SPAN)
        if arguments and policy().capture:  # in canonical form (sorted keys): the text the hash is of
            live.content(A.TOOL_CALL_ARGUMENTS, canonical, attributes)
        live.span = tracer().start_span(f"execute_tool {name}", context=parent, attributes=attributes)
        for decision in decisions:
            record(live.span, *decision)
        return live

    def succeed(self, live: Live, result: Any) -> None:
        text = to_json(result)
        attributes: dict[str, Any] = {
            A.RESULT_SHAPE: json_shape(result),
            A.RESULT_SIZE: len(text) if text.isascii() else len(text.encode("utf-8", "replace")),
        }
        flags = result_flags(result)
        if self.result_schema is not None:
            problems = live._schema_problems
            if problems is None:
                problems = schema_problems(result, self.result_schema)
            if problems:
                flags.append("schema_mismatch")
        if flags:
            attributes[A.RESULT_FLAGS] = flags
            if "error_payload" in flags:
                attributes[A.RESULT_ERROR] = True
        if result is not None:
            live.content(A.TOOL_CALL_RESULT, text, attributes)
        live.span.set_attributes(attributes)
        live._close()


class StepScope(_Scope):
    def __init__(self, fn: Callable[..., Any] | None = None, *, intent: str | None = None) -> None:
        super().__init__(fn)
        self.intent = intent

    def begin(self, fn: Callable[..., Any] | None, args: tuple, kwargs: dict) -> Live:
        intent = self.intent or (fn.__name__ if fn is not None else "")
        run = current_run()
        attributes: dict[str, Any] = {A.STEP_INDEX: next_step()}
        if intent:
            attributes[A.STEP_INTENT] = intent
        if run is not None:
            attributes[A.AGENT_NAME] = run.name
            run.intent = intent
        session = current_session()
        if session:
            attributes[A.CONVERSATION_ID] = session
        return Live(tracer().start_span("step", kind=SpanKind.INTERNAL, attributes=attributes))

    def succeed(self, live: Live, result: Any) -> None:
        live._close()


@overload
def agent(fn: F, /) -> F: ...


@overload
def agent(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    goal: str | None = None,
    allowed_tools: Sequence[str] | None = None,
    resources: Sequence[str] | None = None,
    credential: str | None = None,
    session_id: str | None = None,
    agent_id: str | None = None,
    budget: Any = None,
    guards: Any = None,
    min_grounding: float | None = None,
    fallback: str | None = None,
) -> AgentScope: ...


def agent(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    goal: str | None = None,
    allowed_tools: Sequence[str] | None = None,
    resources: Sequence[str] | None = None,
    credential: str | None = None,
    session_id: str | None = None,
    agent_id: str | None = None,
    budget: Any = None,
    guards: Any = None,
    min_grounding: float | None = None,
    fallback: str | None = None,
) -> Any:
    """An agent invocation: ``invoke_agent {name}`` with its contract (goal, allowed tools, resources, the
    *identity* of its credential — never the secret). Nested agents are hand-offs: parent/child spans."""
    if fn is not None and not callable(fn):
        raise TypeError(f"agent() takes a function, or name= as a keyword (got {fn!r}; did you mean name={fn!r}?)")
    options = dict(
        name=name,
        goal=goal,
        allowed_tools=allowed_tools,
        resources=resources,
        credential=credential,
        session_id=session_id,
        agent_id=agent_id,
        budget=budget,
        guards=guards,
        min_grounding=min_grounding,
        fallback=fallback,
    )
    return AgentScope(**options)(fn) if fn is not None else AgentScope(**options)


@overload
def tool(fn: F, /) -> F: ...


@overload
def tool(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    irreversible: bool = False,
    result_schema: Any = None,
    resource: str | None = None,
    arguments: dict[str, Any] | None = None,
    call_id: str | None = None,
    description: str | None = None,
) -> ToolScope: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    irreversible: bool = False,
    result_schema: Any = None,
    resource: str | None = None,
    arguments: dict[str, Any] | None = None,
    call_id: str | None = None,
    description: str | None = None,
) -> Any:
    """A tool call: ``execute_tool {name}`` with arguments and result (content capture permitting), and always the
    result's JSON shape and size, the arguments' hash and the step index."""
    if fn is not None and not callable(fn):
        raise TypeError(f"tool() takes a function, or name= as a keyword (got {fn!r}; did you mean name={fn!r}?)")
    options = dict(
        name=name,
        irreversible=irreversible,
        result_schema=result_schema,
        resource=resource,
        arguments=arguments,
        call_id=call_id,
        description=description,
    )
    return ToolScope(**options)(fn) if fn is not None else ToolScope(**options)


@overload
def step(fn: F, /) -> F: ...


@overload
def step(fn: None = None, /, *, intent: str | None = None) -> StepScope: ...


def step(fn: Callable[..., Any] | None = None, /, *, intent: str | None = None) -> Any:
    """A reasoning step of the current agent, numbered with its tool and LLM calls. A decorator (``@step``,
    ``@step(intent=...)``) or a context manager (``with step(intent=...)``); a bare string is refused, since
    ``step("plan")`` reads as an intent but would be taken for the function."""
    if fn is not None and not callable(fn):
        raise TypeError(f"step() takes a function, or intent= as a keyword (got {fn!r}; did you mean intent={fn!r}?)")
    return StepScope(intent=intent)(fn) if fn is not None else StepScope(intent=intent)
