"""Agent runs, sessions and tool calls of plain agent code, read from the conversation itself.

Most agents are a loop over an LLM SDK: ask the model with tools, run the tool calls it asks for, send the results
back, until it answers. With only ``import agentwatch.auto`` nothing is decorated, yet the conversation says it all:

- **A run** starts with an LLM request that declares tools outside any decorated agent: an ``invoke_agent {name}``
  span (``agentwatch.agent.derived=true``), the root of the run's trace, under the agent name
  ``AGENTWATCH_AGENT_NAME`` (default: the service name). It ends with the first response that asks for no tool
  (its text is the run's answer), when a guard stops the run, after :data:`IDLE_SECONDS` without a call, or when
  the instrumentation shuts down.
- **A tool call** is a call the model asked for (OpenAI ``tool_calls``, Responses ``function_call``, Anthropic
  ``tool_use``) whose result a later request carries under the same id (``tool`` message, ``function_call_output``,
  ``tool_result``): an ``execute_tool {name}`` span (``agentwatch.tool.derived=true``) from the end of the call
  that asked to the start of the request that carries the result, with the name, the arguments (canonical JSON and
  hash, as a decorated tool records them), the result, its shape and its error flag. A call a decorated
  ``@agentwatch.tool`` recorded is not recorded again (the decorated span takes the model's call id).
- **A session** is the conversation: a request whose last assistant message is a run's answer (the user asked
  again) is a new run in that run's session. ``agentwatch.session(id)`` and decorated agents win.

The guards of the one line act on such a run: budgets before each LLM call, and the loop guard when tool results
come back, so the LLM call that follows the (N+1)th identical tool call is refused with ``AgentLoopError`` (a
decorated tool is refused before its (N+1)th call runs; a plain loop's tool has already run when agentwatch sees
it). Everything here is bounded: pending calls, answers and open runs are kept for :data:`IDLE_SECONDS` and at
most :data:`MAX_KEPT` of each.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agentwatch.instrumentation import _attributes as A
from agentwatch.instrumentation import _state
from agentwatch.instrumentation._content import (
    canonical_arguments,
    json_shape,
    parse_arguments,
    result_flags,
    to_json,
)
from agentwatch.instrumentation._context import AgentRun, current_run, current_session, new_session_id
from agentwatch.instrumentation._safety import handle_internal_errors
from agentwatch.instrumentation._state import policy, tracer

if TYPE_CHECKING:
    from agentwatch.errors import AgentGuardError

__all__ = [
    "IDLE_SECONDS",
    "MAX_KEPT",
    "Pending",
    "PlainRun",
    "ToolResult",
    "Turn",
    "adopt",
    "begin",
    "end_all",
    "end_run",
    "responded",
]

IDLE_SECONDS = 600.0
MAX_KEPT = 4096


@dataclass
class ToolResult:
    """A tool result a request carries back to the model."""

    call_id: str
    content: Any
    is_error: bool = False


@dataclass
class Turn:
    """What a request says of its conversation, read from its tail (cheap: the messages before the last assistant
    message are not walked)."""

    results: list[ToolResult] = field(default_factory=list)
    position: int | None = None  # index of the last assistant message (the one the results answer)
    answer: str | None = None  # that message's text, when it asked for no tool (the user is asking again)
    tools: bool = False  # the request declares tools: the model may act
    length: int | None = None  # messages in the request: the index the response's message will have


class PlainRun:
    """A run agentwatch derived from a conversation (no decorator): its span and what it is drawn on."""

    __slots__ = ("context", "ended", "fresh", "run", "span", "touched")

    def __init__(self, run: AgentRun, span: Span) -> None:
        self.run = run
        self.span = span
        self.context = trace.set_span_in_context(span)
        self.touched = time.monotonic()
        self.fresh = True  # its first LLM call has not started yet (that call's input is the run's input)
        self.ended = False


@dataclass
class Pending:
    """A tool call the model asked for, waiting for its result to come back."""

    call_id: str
    name: str
    arguments: str
    position: int | None
    asked_ns: int
    run: AgentRun | None
    parent: Any  # the OpenTelemetry context the tool's span goes under
    plain: PlainRun | None
    recorded_before: int  # the run's count of decorated tool calls when it was asked
    recorded: bool = False  # a decorated tool recorded it
    touched: float = field(default_factory=time.monotonic)


_lock = threading.Lock()
_pending: OrderedDict[str, list[Pending]] = OrderedDict()  # call id → calls asked under it (ids can repeat)
_answers: OrderedDict[int, str] = OrderedDict()  # the hash of a run's answer → its session
_open: OrderedDict[int, PlainRun] = OrderedDict()  # id → run, least recently used first


def _agent_name() -> str:
    name = _state.agent_name
    if name:
        return name
    resource = getattr(trace.get_tracer_provider(), "resource", None)
    found = resource.attributes.get("service.name") if resource is not None else None
    return str(found or "unknown_service")


def _take(result: ToolResult, position: int | None) -> Pending | None:
    calls = _pending.get(result.call_id)
    if not calls:
        return None
    index = next((i for i, p in enumerate(calls) if p.position == position), len(calls) - 1)
    taken = calls.pop(index)
    if not calls:
        del _pending[result.call_id]
    return taken


def _sweep(now: float) -> list[PlainRun]:
    """Forget what has waited longer than IDLE_SECONDS or overflows MAX_KEPT; returns the runs to end."""
    stale: list[PlainRun] = []
    while _open:
        key, run = next(iter(_open.items()))
        if now - run.touched < IDLE_SECONDS and len(_open) <= MAX_KEPT:
            break
        del _open[key]
        stale.append(run)
    while _pending:
        oldest, calls = next(iter(_pending.items()))
        if now - calls[-1].touched < IDLE_SECONDS and len(_pending) <= MAX_KEPT:
            break
        del _pending[oldest]
    while len(_answers) > MAX_KEPT:
        _answers.popitem(last=False)
    return stale


_exit_hook = False


def _start_run(session: str) -> PlainRun:
    global _exit_hook
    from agentwatch.instrumentation.guards import UNGUARDED, RunGuard

    if not _exit_hook:  # registered after the SDK's own exit flush, so it runs before it (atexit is LIFO)
        _exit_hook = True
        atexit.register(end_all)

    name = _agent_name()
    run = AgentRun(name=name, session_id=session)
    if _state.default_guards is not None:
        run.guard = RunGuard(_state.default_guards)
    attributes: dict[str, Any] = {A.OPERATION: "invoke_agent", **run.contract_attributes(), A.DERIVED_AGENT: True}
    attributes.update(run.guard.guards.attributes if run.guard is not None else UNGUARDED)
    if not policy().capture:
        attributes[A.CONTENT_CAPTURE] = False
    # under whatever span the application has open (a web request's, say); a trace of its own otherwise
    span = tracer().start_span(f"invoke_agent {name}", kind=SpanKind.INTERNAL, attributes=attributes)
    return PlainRun(run, span)


def begin(turn: Turn) -> tuple[PlainRun | None, AgentGuardError | None]:
    """A request is about to be made: record the tool calls whose results it carries, and find (or start) the run it
    belongs to when no decorated agent is running. Returns that run, and the guard error that refuses the request
    (the loop guard), if any."""
    now = time.monotonic()
    decorated = current_run()
    plain: PlainRun | None = None
    stale: list[PlainRun] = []
    with _lock:
        taken = [(p, r) for r in turn.results if (p := _take(r, turn.position)) is not None]
        if decorated is None:
            owner = next((p.plain for p, _ in taken if p.plain is not None), None)
            asked_again = _answers.get(hash(turn.answer)) if turn.answer is not None else None
            if owner is not None and not owner.ended:
                plain = owner
            elif taken or turn.tools or asked_again is not None:
                # a run that ended idle goes on in its session; a question after an answer is that answer's session
                session = owner.run.session_id if owner is not None else current_session() or asked_again
                stale = _sweep(now)
                plain = _start_run(session or new_session_id())
                _open[id(plain)] = plain
            if plain is not None:
                plain.touched = now
                _open.move_to_end(id(plain))
    for run in stale:
        end_run(run)
    error = None
    end_ns = time.time_ns()
    for pending, result in taken:
        if pending.recorded or (pending.run is not None and pending.run.tools_recorded > pending.recorded_before):
            continue  # a decorated tool recorded it
        with handle_internal_errors("recording a tool call from the conversation"):
            problem = _record_tool(pending, result, end_ns, plain)
            error = error or problem
    return plain, error


def _record_tool(pending: Pending, result: ToolResult, end_ns: int, plain: PlainRun | None) -> AgentGuardError | None:
    """An ``execute_tool`` span for a tool call whose result came back; returns a loop-guard error when the call
    was one identical call too many."""
    from agentwatch.instrumentation._checkpoints import record

    run = pending.run if pending.run is not None else (plain.run if plain is not None else None)
    parent = pending.parent if pending.plain is None or plain is None else plain.context
    arguments = _arguments(pending.arguments)
    canonical, args_hash = canonical_arguments(arguments)
    value = parse_arguments(result.content) if isinstance(result.content, str) else result.content
    text = result.content if isinstance(result.content, str) else to_json(value)
    attributes: dict[str, Any] = {
        A.OPERATION: "execute_tool",
        A.TOOL_NAME: pending.name,
        A.TOOL_TYPE: "function",
        A.TOOL_CALL_ID: pending.call_id,
        A.ARGUMENTS_HASH: args_hash,
        A.DERIVED_TOOL: True,
        A.RESULT_SHAPE: json_shape(value),
        A.RESULT_SIZE: len(text) if text.isascii() else len(text.encode("utf-8", "replace")),
    }
    if run is not None:
        attributes[A.STEP_INDEX] = run.next_step()
        attributes.update(run.contract_attributes())
    flags = result_flags(value)
    if flags:
        attributes[A.RESULT_FLAGS] = flags
    if result.is_error or "error_payload" in flags:
        attributes[A.RESULT_ERROR] = True
    if policy().capture:
        redacted, cut = 0, []
        for key, content in ((A.TOOL_CALL_ARGUMENTS, canonical if arguments else ""), (A.TOOL_CALL_RESULT, text)):
            if content:
                attributes[key], found, was_cut = policy().clean(content)
                redacted += found
                if was_cut:
                    cut.append(key)
        if redacted:
            attributes[A.CONTENT_REDACTED] = redacted
        if cut:
            attributes[A.CONTENT_TRUNCATED] = cut
    span = tracer().start_span(
        f"execute_tool {pending.name}", context=parent, attributes=attributes, start_time=pending.asked_ns
    )
    error = None
    guards = run.guard if run is not None else None
    if guards is not None and guards.guards.max_repeats is not None:
        limit = guards.guards.max_repeats
        call = (pending.name, args_hash)
        count = guards.calls[call] = guards.calls.get(call, 0) + 1
        if count > limit:
            from agentwatch.errors import AgentLoopError

            message = f"{pending.name} was called {count} times with the same arguments (limit {limit})"
            error = AgentLoopError("loop", message, limit=limit, observed=count)
            record(span, "loop", "blocked", limit, count)
        else:
            record(span, "loop", "allowed", limit, count)
    if result.is_error:
        span.set_status(Status(StatusCode.ERROR, "the tool result says it failed"))
        span.set_attribute(A.ERROR_TYPE, "tool_error")
    span.end(end_time=max(end_ns, pending.asked_ns))
    return error


def responded(
    run: AgentRun | None,
    plain: PlainRun | None,
    parent: Any,
    position: int | None,
    calls: list[tuple[str, str, str]],
    text: str,
) -> None:
    """A response arrived: the tool calls it asks for wait for their results; a plain run's answer ends the run."""
    if calls:
        asked = time.time_ns()
        owner = plain.run if plain is not None else run
        with _lock:
            for call_id, name, arguments in calls:
                pending = Pending(
                    call_id,
                    name,
                    arguments,
                    position,
                    asked,
                    owner,
                    plain.context if plain is not None else parent,
                    plain,
                    owner.tools_recorded if owner is not None else 0,
                )
                _pending.setdefault(call_id, []).append(pending)
                _pending.move_to_end(call_id)
                if len(_pending) > MAX_KEPT:
                    _pending.popitem(last=False)
        return
    if plain is not None:
        with _lock:
            if text:
                key = hash(text)
                _answers[key] = plain.run.session_id
                _answers.move_to_end(key)
        end_run(plain, answer=text)


def end_run(plain: PlainRun, *, answer: str | None = None, error: BaseException | None = None) -> None:
    """End a plain run's span (once): with its answer, or with the error that stopped it."""
    with _lock:
        if plain.ended:
            return
        plain.ended = True
        _open.pop(id(plain), None)
    with handle_internal_errors("ending a run"):
        span = plain.span
        if answer and policy().capture:
            cleaned, redacted, _ = policy().clean(answer)
            message = [{"role": "assistant", "parts": [{"type": "text", "content": cleaned}], "finish_reason": "stop"}]
            span.set_attribute(A.OUTPUT_MESSAGES, to_json(message))
            if redacted:
                span.set_attribute(A.CONTENT_REDACTED, redacted)
        if error is not None:
            span.set_attribute(A.ERROR_TYPE, type(error).__qualname__)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:1000]))
        span.end()


def adopt(run: AgentRun | None, name: str, args_hash: str) -> Pending | None:
    """A decorated tool is starting: if the model asked for this call, the decorated span records it (with the
    model's call id and, outside a decorated agent, under the plain run) and the conversation will not again."""
    if run is not None:
        run.tools_recorded += 1
    if not _pending:
        return None
    with _lock:
        fallback = None
        for calls in reversed(_pending.values()):
            for pending in calls:
                if pending.recorded or pending.name != name:
                    continue
                if pending.run is not run if run is not None else pending.plain is None:
                    continue
                if canonical_arguments(_arguments(pending.arguments))[1] == args_hash:
                    pending.recorded = True
                    return pending
                fallback = fallback or pending
        if fallback is not None:
            fallback.recorded = True
        return fallback


def _arguments(text: str) -> Any:
    """A pending call's arguments as its decorated tool would have bound them (none: an empty object)."""
    return parse_arguments(text) if text else {}


def end_all() -> None:
    """End every open plain run (the instrumentation is shutting down) and forget pending calls."""
    with _lock:
        runs = list(_open.values())
        _pending.clear()
        _answers.clear()
    for run in runs:
        end_run(run)
