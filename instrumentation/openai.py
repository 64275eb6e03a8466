"""The OpenAI SDK (and any OpenAI-compatible endpoint through it): chat completions (sync, async, streamed, tool
calls), the Responses API and embeddings, as GenAI semantic-convention spans.

A streamed call's span stays open until the stream is consumed, closed or collected, and then carries the
usage the stream reported.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from agentwatch.instrumentation import _attributes as A
from agentwatch.instrumentation._conversation import ToolResult, Turn
from agentwatch.instrumentation._llm import (
    LLMCall,
    LLMInstrumentor,
    Provider,
    Request,
    Target,
    client_url,
    get,
    numeric_params,
    parse_arguments,
    server_of,
)

__all__ = [
    "OpenAIInstrumentor",
    "OpenAIProvider",
    "absorb_chat",
    "chat_turn",
    "input_messages",
    "provider_name",
    "request_attributes",
]

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
    "temperature": A.REQUEST_TEMPERATURE,
    "top_p": A.REQUEST_TOP_P,
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
    "max_tokens": A.REQUEST_MAX_TOKENS,
    "max_completion_tokens": A.REQUEST_MAX_TOKENS,
    "max_output_tokens": A.REQUEST_MAX_TOKENS,
}


@functools.lru_cache(maxsize=64)
def provider_name(base_url: str) -> str:
    """``gen_ai.provider.name`` for an endpoint: a well-known value for known hosts (``azure.ai.openai``, ``groq``
    …), otherwise ``openai``: a self-hosted OpenAI-compatible server (vLLM, a local test server) speaks OpenAI's
    API, and where it runs is ``server.address``, not a provider."""
    host = (urlsplit(str(base_url)).hostname or "").lower()
    if host.endswith(".openai.azure.com"):
        return "azure.ai.openai"
    return _KNOWN_PROVIDERS.get(host, "openai")


def input_messages(messages: Any) -> list[dict[str, Any]]:
    """Chat messages in the semantic conventions' parts form."""
    out = []
    for message in messages or []:
        role = get(message, "role") or "user"
        content = get(message, "content")
        parts: list[dict[str, Any]] = []
        if role == "tool":
            parts.append({"type": "tool_call_response", "id": get(message, "tool_call_id"), "response": content})
        elif isinstance(content, str):
            parts.append({"type": "text", "content": content})
        elif isinstance(content, list):
            for item in content:
                kind = get(item, "type")
                parts.append({"type": "text", "content": get(item, "text")} if kind == "text" else {"type": kind})
        for call in get(message, "tool_calls") or []:
            function = get(call, "function")
            parts.append(
                {
                    "type": "tool_call",
                    "id": get(call, "id"),
                    "name": get(function, "name"),
                    "arguments": parse_arguments(get(function, "arguments")),
                }
            )
        out.append({"role": role, "parts": parts})
    return out


def _content_text(content: Any) -> Any:
    """A message's content as text when it is text or a list of text parts."""
    if isinstance(content, list):
        texts = [get(part, "text") for part in content]
        return "".join(t for t in texts if isinstance(t, str))
    return content


def chat_turn(messages: Any, tools: Any) -> Turn:
    """What a chat request says of its conversation: the tool results after its last assistant message (also
    LiteLLM's, which takes OpenAI's messages)."""
    if not isinstance(messages, list):
        messages = list(messages or ())
    results: list[ToolResult] = []
    i = len(messages) - 1
    while i >= 0:
        role = get(messages[i], "role")
        if role == "assistant":
            break
        if role == "tool":
            content = get(messages[i], "content")
            results.append(ToolResult(str(get(messages[i], "tool_call_id") or ""), _content_text(content)))
        i -= 1
    turn = Turn(results[::-1], tools=bool(tools), length=len(messages))
    if i >= 0:
        turn.position = i
        if not results and not get(messages[i], "tool_calls"):
            answer = _content_text(get(messages[i], "content"))
            turn.answer = answer if isinstance(answer, str) and answer else None
    return turn


def _responses_turn(kwargs: dict[str, Any]) -> Turn:
    """The ``function_call_output`` items after the last call or assistant message of a Responses request (with
    ``previous_response_id`` the input holds only those)."""
    items = kwargs.get("input")
    tools = bool(kwargs.get("tools"))
    if not isinstance(items, list):
        return Turn(tools=tools)
    results: list[ToolResult] = []
    i = len(items) - 1
    while i >= 0:
        item = items[i]
        kind, role = get(item, "type"), get(item, "role")
        if kind == "function_call_output":
            results.append(ToolResult(str(get(item, "call_id") or ""), _content_text(get(item, "output"))))
        elif kind == "function_call" or role == "assistant":
            break
        i -= 1
    turn = Turn(results[::-1], tools=tools)
    if i >= 0 and not results and get(items[i], "role") == "assistant":
        answer = _content_text(get(items[i], "content"))
        turn.answer = answer if isinstance(answer, str) and answer else None
    return turn


def request_attributes(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``gen_ai.request.*`` from OpenAI-style keyword arguments (also LiteLLM's)."""
    attributes = numeric_params(kwargs, _REQUEST_PARAMS)
    stop = kwargs.get("stop")
    if stop:
        attributes[A.REQUEST_STOP_SEQUENCES] = [stop] if isinstance(stop, str) else list(stop)
    if isinstance(kwargs.get("n"), int) and kwargs["n"] != 1:
        attributes[A.REQUEST_CHOICE_COUNT] = kwargs["n"]
    response_format = kwargs.get("response_format")
    if response_format:
        kind_name = get(response_format, "type")
        attributes[A.OUTPUT_TYPE] = "json" if kind_name in ("json_object", "json_schema") else "text"
    return attributes


def absorb_chat(call: LLMCall, response: Any) -> None:
    """A chat completion, or one chunk of a streamed one (also LiteLLM's ``ModelResponse``)."""
    call.response_id = get(response, "id") or call.response_id
    call.model = get(response, "model") or call.model
    usage = get(response, "usage")
    if usage is not None:
        call.input_tokens = get(usage, "prompt_tokens", get(usage, "input_tokens"))
        call.output_tokens = get(usage, "completion_tokens", get(usage, "output_tokens"))
        cached = get(get(usage, "prompt_tokens_details"), "cached_tokens")
        if isinstance(cached, int) and cached:
            call.cache_read_tokens = cached
    for choice in get(response, "choices") or []:
        index = get(choice, "index", 0) or 0
        message = get(choice, "message") or get(choice, "delta")
        if message is not None:
            call.add_text(get(message, "content"), index)
            for position, tool_call in enumerate(get(message, "tool_calls") or []):
                function = get(tool_call, "function")
                call.add_tool_call(
                    get(tool_call, "index", position),
                    call_id=get(tool_call, "id"),
                    name=get(function, "name"),
                    arguments=get(function, "arguments"),
                    index=index,
                )
        call.set_finish_reason(get(choice, "finish_reason"), index)


def _absorb_response(call: LLMCall, response: Any) -> None:
    """A Responses API response."""
    call.response_id = get(response, "id")
    call.model = get(response, "model")
    usage = get(response, "usage")
    if usage is not None:
        call.input_tokens = get(usage, "input_tokens")
        call.output_tokens = get(usage, "output_tokens")
    for item in get(response, "output") or []:
        kind = get(item, "type")
        if kind == "message":
            for part in get(item, "content") or []:
                call.add_text(get(part, "text"))
        elif kind == "function_call":
            call.add_tool_call(
                len(call.choice()["tool_calls"]),
                call_id=get(item, "call_id"),
                name=get(item, "name"),
                arguments=get(item, "arguments") or "",
            )
    status = get(response, "status")
    call.set_finish_reason("stop" if status == "completed" else status)


def _responses_input(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    raw = kwargs.get("input")
    messages = (
        [{"role": "user", "parts": [{"type": "text", "content": raw}]}] if isinstance(raw, str) else input_messages(raw)
    )
    if kwargs.get("instructions"):
        messages.insert(0, {"role": "system", "parts": [{"type": "text", "content": kwargs["instructions"]}]})
    return messages


class OpenAIProvider(Provider):
    """Chat completions, the Responses API and embeddings of the ``openai`` SDK."""

    name = "openai"
    dependencies = ("openai >= 1.0",)
    targets = (
        Target("openai.resources.chat.completions", "Completions.create", "chat"),
        Target("openai.resources.chat.completions", "AsyncCompletions.create", "chat", is_async=True),
        Target("openai.resources.responses", "Responses.create", "responses"),
        Target("openai.resources.responses", "AsyncResponses.create", "responses", is_async=True),
        Target("openai.resources.embeddings", "Embeddings.create", "embeddings"),
        Target("openai.resources.embeddings", "AsyncEmbeddings.create", "embeddings", is_async=True),
    )

    def request(self, kind: str, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        base_url = client_url(instance, "https://api.openai.com/v1")
        messages = turn = None
        if kind == "chat":
            messages = lambda: input_messages(kwargs.get("messages"))  # noqa: E731
            turn = lambda: chat_turn(kwargs.get("messages"), kwargs.get("tools"))  # noqa: E731
        elif kind == "responses":
            messages = lambda: _responses_input(kwargs)  # noqa: E731
            turn = lambda: _responses_turn(kwargs)  # noqa: E731
        return Request(
            model=str(kwargs.get("model") or ""),
            provider=provider_name(base_url),
            operation="embeddings" if kind == "embeddings" else "chat",
            server=server_of(base_url),
            attributes=request_attributes(kwargs),
            streamed=bool(kwargs.get("stream")),
            messages=messages,
            turn=turn,
        )

    def absorb(self, kind: str, call: LLMCall, response: Any) -> list[dict[str, Any]] | None:
        if kind == "chat":
            absorb_chat(call, response)
        elif kind == "responses":
            _absorb_response(call, response)
        else:
            usage = get(response, "usage")
            call.model = get(response, "model")
            call.input_tokens = get(usage, "prompt_tokens") if usage is not None else None
            data = get(response, "data") or []
            if data:
                call.span.set_attribute(A.EMBEDDING_DIMENSIONS, len(get(data[0], "embedding")))
            return []
        return None

    def absorb_piece(self, kind: str, call: LLMCall, piece: Any) -> None:
        if kind == "responses":
            if get(piece, "type") == "response.completed":
                _absorb_response(call, get(piece, "response"))
        else:
            absorb_chat(call, piece)


class OpenAIInstrumentor(LLMInstrumentor):
    """Instruments the ``openai`` package; ``opentelemetry-instrument`` finds it by its entry point."""

    provider = OpenAIProvider()
