"""The Anthropic SDK: ``messages.create`` (sync, async, streamed, tool use) and the ``messages.stream`` helper, as
GenAI semantic-convention spans (provider ``anthropic``).

The ``anthropic`` SDK 2.x traces its own calls (an ``anthropic.messages.create`` span, scope
``com.anthropic.sdk.python``) whenever a tracer provider is set. agentwatch records the call itself, so guards,
content capture and cost see it like any other model call, and keeps the SDK's span from starting for a call it
records: a call is one span. Calls agentwatch does not patch (``count_tokens``, batches, sessions) keep the SDK's
spans.

Usage follows the conventions for Anthropic: ``gen_ai.usage.input_tokens`` counts every input token, cached ones
included (Anthropic reports them apart), with ``gen_ai.usage.cache_read.input_tokens`` and
``gen_ai.usage.cache_creation.input_tokens`` beside it.
"""

from __future__ import annotations

import json
from typing import Any

import wrapt
from opentelemetry.instrumentation.utils import unwrap

from agentwatch.instrumentation import _attributes as A
from agentwatch.instrumentation._conversation import ToolResult, Turn
from agentwatch.instrumentation._llm import (
    LLMCall,
    LLMInstrumentor,
    Provider,
    Request,
    StreamManager,
    Target,
    client_url,
    get,
    numeric_params,
    recording,
    server_of,
    wrap_stream,
)

__all__ = ["AnthropicInstrumentor", "AnthropicProvider", "input_messages"]

_REQUEST_PARAMS = {
    "max_tokens": A.REQUEST_MAX_TOKENS,
    "temperature": A.REQUEST_TEMPERATURE,  # accepted by SDKs before 2.x
    "top_p": A.REQUEST_TOP_P,
    "top_k": A.REQUEST_TOP_K,
}


def _text(content: Any) -> Any:
    """A tool result's content: text as text, blocks as their text joined."""
    if isinstance(content, list):
        return "".join(str(get(block, "text") or "") for block in content)
    return content


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content or []:
        kind = get(block, "type")
        if kind == "text":
            parts.append({"type": "text", "content": get(block, "text")})
        elif kind == "tool_use":
            parts.append(
                {
                    "type": "tool_call",
                    "id": get(block, "id"),
                    "name": get(block, "name"),
                    "arguments": get(block, "input"),
                }
            )
        elif kind == "tool_result":
            parts.append(
                {
                    "type": "tool_call_response",
                    "id": get(block, "tool_use_id"),
                    "response": _text(get(block, "content")),
                }
            )
        else:
            parts.append({"type": kind})
    return parts


def input_messages(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    """The system prompt and the messages in the conventions' parts form; a user turn carrying only tool results is
    the ``tool`` role there."""
    out: list[dict[str, Any]] = []
    system = kwargs.get("system")
    if system:
        out.append({"role": "system", "parts": _parts(system)})
    for message in kwargs.get("messages") or []:
        parts = _parts(get(message, "content"))
        role = get(message, "role") or "user"
        if parts and all(p["type"] == "tool_call_response" for p in parts):
            role = "tool"
        out.append({"role": role, "parts": parts})
    return out


def _turn(kwargs: dict[str, Any]) -> Turn:
    """The ``tool_result`` blocks of the user turns after the last assistant message."""
    messages = kwargs.get("messages") or []
    if not isinstance(messages, list):
        messages = list(messages)
    results: list[ToolResult] = []
    i = len(messages) - 1
    while i >= 0:
        if get(messages[i], "role") == "assistant":
            break
        content = get(messages[i], "content")
        if isinstance(content, list):
            blocks = [b for b in content if get(b, "type") == "tool_result"]
            results[:0] = [
                ToolResult(str(get(b, "tool_use_id") or ""), _text(get(b, "content")), bool(get(b, "is_error")))
                for b in blocks
            ]
        i -= 1
    turn = Turn(results, tools=bool(kwargs.get("tools")), length=len(messages))
    if i >= 0:
        turn.position = i
        content = get(messages[i], "content")
        if not results and isinstance(content, str):
            turn.answer = content or None
        elif not results and isinstance(content, list) and not any(get(b, "type") == "tool_use" for b in content):
            turn.answer = "".join(str(get(b, "text") or "") for b in content if get(b, "type") == "text") or None
    return turn


def _usage(call: LLMCall, usage: Any) -> None:
    if usage is None:
        return
    read = get(usage, "cache_read_input_tokens")
    created = get(usage, "cache_creation_input_tokens")
    if isinstance(read, int):
        call.cache_read_tokens = read
    if isinstance(created, int):
        call.cache_creation_tokens = created
    uncached = get(usage, "input_tokens")
    if isinstance(uncached, int):
        call.input_tokens = uncached + (call.cache_read_tokens or 0) + (call.cache_creation_tokens or 0)
    output = get(usage, "output_tokens")
    if isinstance(output, int):
        call.output_tokens = output


def _absorb_message(call: LLMCall, message: Any) -> None:
    call.response_id = get(message, "id")
    call.model = get(message, "model")
    _usage(call, get(message, "usage"))
    for position, block in enumerate(get(message, "content") or []):
        kind = get(block, "type")
        if kind == "text":
            call.add_text(get(block, "text"))
        elif kind == "tool_use":
            call.add_tool_call(
                position, call_id=get(block, "id"), name=get(block, "name"), arguments=json.dumps(get(block, "input"))
            )
    call.set_finish_reason(get(message, "stop_reason"))


def _absorb_event(call: LLMCall, event: Any) -> None:
    """One server-sent event of a streamed message."""
    kind = get(event, "type")
    if kind == "message_start":
        message = get(event, "message")
        call.response_id = get(message, "id")
        call.model = get(message, "model")
        _usage(call, get(message, "usage"))
    elif kind == "content_block_start":
        block = get(event, "content_block")
        if get(block, "type") == "tool_use":
            call.add_tool_call(get(event, "index"), call_id=get(block, "id"), name=get(block, "name"))
        elif get(block, "type") == "text":
            call.add_text(get(block, "text"))
    elif kind == "content_block_delta":
        delta = get(event, "delta")
        if get(delta, "type") == "text_delta":
            call.add_text(get(delta, "text"))
        elif get(delta, "type") == "input_json_delta":
            call.add_tool_call(get(event, "index"), arguments=get(delta, "partial_json"))
    elif kind == "message_delta":
        call.set_finish_reason(get(get(event, "delta"), "stop_reason"))
        _usage(call, get(event, "usage"))  # the final output count (and, lately, the input counts again)


def _follow_helper(stream: Any, call: LLMCall) -> Any:
    """``messages.stream()`` entered: its events come from ``_raw_stream``, read lazily, so routing that through the
    call sees every event whichever way the application reads (iterating, ``text_stream``, ``get_final_message``)."""
    raw = getattr(stream, "_raw_stream", None)
    if raw is not None:
        stream._raw_stream = wrap_stream(raw, call, _absorb_event)
    return stream


class AnthropicProvider(Provider):
    """``Messages.create`` and ``Messages.stream`` of the ``anthropic`` SDK, sync and async."""

    name = "anthropic"
    dependencies = ("anthropic >= 0.30",)
    targets = (
        Target("anthropic.resources.messages", "Messages.create", "create"),
        Target("anthropic.resources.messages", "AsyncMessages.create", "create", is_async=True),
        Target("anthropic.resources.messages", "Messages.stream", "stream"),
        Target("anthropic.resources.messages", "AsyncMessages.stream", "stream"),  # returns a manager, not awaited
    )

    def request(self, kind: str, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        attributes = numeric_params(kwargs, _REQUEST_PARAMS)
        if kwargs.get("stop_sequences"):
            attributes[A.REQUEST_STOP_SEQUENCES] = list(kwargs["stop_sequences"])
        base_url = client_url(instance, "https://api.anthropic.com")
        return Request(
            model=str(kwargs.get("model") or ""),
            provider="anthropic",
            server=server_of(base_url),
            attributes=attributes,
            streamed=kind == "stream" or bool(kwargs.get("stream")),
            messages=lambda: input_messages(kwargs),
            turn=lambda: _turn(kwargs),
        )

    def result(self, kind: str, call: LLMCall, result: Any, request: Request) -> Any:
        if kind == "stream":
            return StreamManager(result, call, _follow_helper)
        return super().result(kind, call, result, request)

    def absorb(self, kind: str, call: LLMCall, response: Any) -> list[dict[str, Any]] | None:
        _absorb_message(call, response)
        return None

    def absorb_piece(self, kind: str, call: LLMCall, piece: Any) -> None:
        _absorb_event(call, piece)

    def patch(self) -> None:
        try:
            import anthropic._base_client
        except ImportError:
            return
        if hasattr(anthropic._base_client, "start_api_call_span"):  # the SDK's own tracing (2.x)
            wrapt.wrap_function_wrapper("anthropic._base_client", "start_api_call_span", _without_own_span)

    def unpatch(self) -> None:
        import anthropic._base_client

        if isinstance(getattr(anthropic._base_client, "start_api_call_span", None), wrapt.ObjectProxy):
            unwrap(anthropic._base_client, "start_api_call_span")


def _without_own_span(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """No SDK span for a call agentwatch is recording (``None`` is the SDK's own "no span, go on")."""
    if recording():
        return None
    return wrapped(*args, **kwargs)


class AnthropicInstrumentor(LLMInstrumentor):
    """Instruments the ``anthropic`` package; ``opentelemetry-instrument`` finds it by its entry point."""

    provider = AnthropicProvider()
