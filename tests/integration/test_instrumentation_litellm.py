"""LiteLLM's ``completion``/``acompletion`` against the local server, routed both ways it routes: through the
``openai`` SDK (OpenAI-compatible endpoints) and through its own HTTP client (Anthropic's API). One span per call."""

from __future__ import annotations

import json

import litellm
import pytest

import agentwatch
from agentwatch import AgentBudgetError, Budget
from agentwatch.testing import Reply

litellm.suppress_debug_info = True

QUESTION = [{"role": "user", "content": "Where is my order A-17?"}]


def scripted(path, body):
    if body.get("tools"):
        return Reply(tool_calls=[("search_orders", {"order_id": "A-17"})])
    return Reply(text="Your order A-17 ships tomorrow.")


def chat_spans(exporter):
    return [s for s in exporter.get_finished_spans() if s.attributes.get("gen_ai.operation.name") == "chat"]


def route(llm, via):
    if via == "openai":
        return {"model": "openai/gpt-4o", "api_base": llm.base_url, "api_key": "k"}
    return {"model": "anthropic/claude-sonnet-4-5", "api_base": llm.root_url, "api_key": "k", "max_tokens": 50}


@pytest.mark.parametrize("via", ["openai", "anthropic"])
def test_completion_is_one_span_whichever_way_it_routes(spans, llm, via):
    response = litellm.completion(messages=QUESTION, **route(llm, via))
    assert response.choices[0].message.content == "Your order A-17 ships tomorrow."
    [span] = chat_spans(spans)  # LiteLLM's call to the openai SDK is the same call, not a second span
    a = span.attributes
    model = "gpt-4o" if via == "openai" else "claude-sonnet-4-5"
    assert span.name == f"chat {model}" and span.instrumentation_scope.name == "agentwatch.litellm"
    assert (a["gen_ai.provider.name"], a["gen_ai.request.model"], a["server.address"]) == (via, model, "127.0.0.1")
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert json.loads(a["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "Your order A-17 ships tomorrow."}
    ]
    assert json.loads(a["gen_ai.input.messages"])[0]["parts"][0]["content"] == "Where is my order A-17?"


@pytest.mark.parametrize("via", ["openai", "anthropic"])
def test_tool_calls_and_streams(spans, llm, via):
    tools = [{"type": "function", "function": {"name": "search_orders", "parameters": {"type": "object"}}}]
    litellm.completion(messages=QUESTION, tools=tools, **route(llm, via))
    stream = litellm.completion(
        messages=QUESTION, stream=True, stream_options={"include_usage": True}, **route(llm, via)
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Your order A-17 ships tomorrow."
    called, streamed = chat_spans(spans)
    [part] = json.loads(called.attributes["gen_ai.output.messages"])[0]["parts"]
    assert (part["type"], part["name"], part["arguments"]) == ("tool_call", "search_orders", {"order_id": "A-17"})
    assert streamed.attributes["gen_ai.request.stream"] is True
    assert json.loads(streamed.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] == text


async def test_acompletion_streamed_and_not(spans, llm):
    await litellm.acompletion(messages=QUESTION, **route(llm, "anthropic"))
    stream = await litellm.acompletion(messages=QUESTION, stream=True, **route(llm, "openai"))
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
    assert text == "Your order A-17 ships tomorrow."
    first, second = chat_spans(spans)
    assert (first.attributes["gen_ai.provider.name"], second.attributes["gen_ai.provider.name"]) == (
        "anthropic",
        "openai",
    )
    assert json.loads(second.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] == text


def test_the_budget_guard_stops_a_litellm_agent(spans, llm):
    question = [{"role": "user", "content": "x" * 400}]

    @agentwatch.agent(name="router", budget=Budget(max_tokens=150))
    def run() -> None:
        litellm.completion(messages=question, **route(llm, "openai"))  # ~110 tokens
        litellm.completion(messages=question, **route(llm, "anthropic"))  # over 150 by now
        litellm.completion(messages=question, **route(llm, "openai"))  # never sent

    before = len(llm.requests)
    with pytest.raises(AgentBudgetError):
        run()
    assert len(llm.requests) - before == 2
