"""LiteLLM's ``completion`` and ``acompletion`` (streamed or not): one GenAI span per call, whichever provider
LiteLLM routes it to.

LiteLLM answers in OpenAI's shapes, so the OpenAI extractors read its responses and chunks. When it routes through an
SDK agentwatch also instruments (the ``openai`` client for OpenAI-compatible endpoints), the inner call is the same
call and is not recorded again. Patched at ``litellm.completion``: code that did ``from litellm import completion``
before ``instrument()`` keeps the unpatched function.
"""

from __future__ import annotations

import functools
from typing import Any

from agentwatch.instrumentation._llm import LLMCall, LLMInstrumentor, Provider, Request, Target, server_of, wrap_stream
from agentwatch.instrumentation.openai import absorb_chat, chat_turn, input_messages, request_attributes

__all__ = ["LiteLLMInstrumentor", "LiteLLMProvider"]

# LiteLLM's provider names → gen_ai.provider.name where the conventions have one
_PROVIDER_NAMES = {
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
    "together_ai": "together_ai",
}


@functools.lru_cache(maxsize=256)
def _model_and_provider(model: str, api_base: str | None) -> tuple[str, str]:
    """The model as the provider knows it (``openai/gpt-4o`` → ``gpt-4o``) and ``gen_ai.provider.name``; worked out
    once per model and endpoint, since every call asks."""
    try:
        import litellm

        model, name = litellm.get_llm_provider(model=model, api_base=api_base)[:2]
    except Exception:  # a model LiteLLM cannot place: its prefix is the best name there is
        name, _, rest = model.partition("/") if "/" in model else ("litellm", "", model)
        model = rest or model
    return model, _PROVIDER_NAMES.get(name, name)


class LiteLLMProvider(Provider):
    name = "litellm"
    dependencies = ("litellm >= 1.40",)
    targets = (
        Target("litellm", "completion", "completion"),
        Target("litellm", "acompletion", "acompletion", is_async=True),
    )

    def request(self, kind: str, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        api_base = kwargs.get("api_base") or kwargs.get("base_url")
        model, provider = _model_and_provider(
            str(kwargs.get("model") or (args[0] if args else "")), str(api_base) if api_base else None
        )
        messages = kwargs.get("messages", args[1] if len(args) > 1 else None)
        return Request(
            model=model,
            provider=provider,
            server=server_of(str(api_base)) if api_base else None,
            attributes=request_attributes(kwargs),
            streamed=bool(kwargs.get("stream")),
            messages=lambda: input_messages(messages),
            turn=lambda: chat_turn(messages, kwargs.get("tools")),
        )

    def result(self, kind: str, call: LLMCall, result: Any, request: Request) -> Any:
        if request.streamed:  # LiteLLM's stream wrapper is both iterable and async-iterable: the call says which
            return wrap_stream(result, call, absorb_chat, is_async=kind == "acompletion")
        return super().result(kind, call, result, request)

    def absorb(self, kind: str, call: LLMCall, response: Any) -> list[dict[str, Any]] | None:
        absorb_chat(call, response)
        return None

    def absorb_piece(self, kind: str, call: LLMCall, piece: Any) -> None:
        absorb_chat(call, piece)


class LiteLLMInstrumentor(LLMInstrumentor):
    """Instruments ``litellm``; ``opentelemetry-instrument`` finds it by its entry point."""

    provider = LiteLLMProvider()
