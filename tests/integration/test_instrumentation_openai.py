"""The real ``openai`` client against a local OpenAI-compatible server: spans exactly as specified."""

from __future__ import annotations

import json

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

import agentwatch
from agentwatch.instrumentation.openai import provider_name
from agentwatch.testing import LLMServer, Reply

from ..conftest import by_name
from .recorded_turn import RECORDED_INPUT, recorded_output


def scripted(path, body):
    model = body.get("model", "")
    if model == "rate-limited":
        return Reply(status=429, error="slow down", retry_after=0)
    if model == "broken":
        return Reply(status=500, error="internal")
    if body.get("tools") and body["messages"][-1]["role"] == "user":
        return Reply(tool_calls=[("search_orders", {"order_id": "A-17"})])
    return Reply(text="Your order A-17 ships tomorrow.")


@pytest.fixture
def client(llm):
    return openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def aclient(llm):
    return openai.AsyncOpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)


MESSAGES = [
    {"role": "system", "content": "You are a support agent."},
    {"role": "user", "content": "Where is my order A-17?"},
]


def test_chat_completion_span(spans, client, llm):
    response = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, temperature=0.2, max_tokens=100, seed=7, stop=["\n\n"]
    )
    span = by_name(spans, "chat gpt-4o")[0]
    a = span.attributes
    assert span.kind is SpanKind.CLIENT and span.status.status_code is StatusCode.UNSET
    assert a["gen_ai.operation.name"] == "chat"
    # an OpenAI-compatible server speaks openai; where it runs is server.address (#34 item 7: the provider was the
    # host, "127.0.0.1", so a local server's calls did not count as OpenAI calls anywhere)
    assert a["gen_ai.provider.name"] == "openai"
    assert a["server.address"] == "127.0.0.1" and a["server.port"] == int(llm.base_url.split(":")[2].split("/")[0])
    assert a["gen_ai.request.model"] == "gpt-4o" and a["gen_ai.response.model"] == "gpt-4o-sim"
    assert a["gen_ai.request.temperature"] == 0.2 and a["gen_ai.request.max_tokens"] == 100
    assert a["gen_ai.request.seed"] == 7 and tuple(a["gen_ai.request.stop_sequences"]) == ("\n\n",)
    assert a["gen_ai.response.id"] == response.id
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("stop",)
    assert a["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert a["gen_ai.usage.output_tokens"] == response.usage.completion_tokens
    assert json.loads(a["gen_ai.input.messages"]) == RECORDED_INPUT
    assert json.loads(a["gen_ai.output.messages"]) == recorded_output("stop")


def test_tool_calls_round_trip(spans, client):
    tools = [{"type": "function", "function": {"name": "search_orders", "parameters": {"type": "object"}}}]
    first = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, tools=tools)
    call = first.choices[0].message.tool_calls[0]
    follow_up = [
        *MESSAGES,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"status": "shipped"}'},
    ]
    client.chat.completions.create(model="gpt-4o", messages=follow_up, tools=tools)
    asked, answered = by_name(spans, "chat gpt-4o")
    assert tuple(asked.attributes["gen_ai.response.finish_reasons"]) == ("tool_calls",)
    assert json.loads(asked.attributes["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "tool_call", "id": call.id, "name": "search_orders", "arguments": {"order_id": "A-17"}}
    ]
    history = json.loads(answered.attributes["gen_ai.input.messages"])
    assert history[2]["parts"][0]["type"] == "tool_call"
    assert history[3] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": call.id, "response": '{"status": "shipped"}'}],
    }


def test_streaming_span_ends_when_consumed_with_usage(spans, client):
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert spans.get_finished_spans() == ()
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Your order A-17 ships tomorrow."
    span = by_name(spans, "chat gpt-4o")[0]
    assert span.attributes["gen_ai.usage.output_tokens"] > 0 and span.attributes["gen_ai.usage.input_tokens"] > 0
    assert span.attributes["gen_ai.request.stream"] is True
    assert json.loads(span.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] == text
    assert tuple(span.attributes["gen_ai.response.finish_reasons"]) == ("stop",)


def test_streamed_tool_calls_and_early_close(spans, client):
    tools = [{"type": "function", "function": {"name": "search_orders", "parameters": {"type": "object"}}}]
    with client.chat.completions.create(model="gpt-4o", messages=MESSAGES, tools=tools, stream=True) as stream:
        for _ in stream:
            pass
    span = by_name(spans, "chat gpt-4o")[0]
    part = json.loads(span.attributes["gen_ai.output.messages"])[0]["parts"][0]
    assert part.pop("id").startswith("call_")
    assert part == {
        "type": "tool_call",
        "name": "search_orders",
        "arguments": {"order_id": "A-17"},
    }
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    next(iter(stream))
    stream.close()
    assert len(by_name(spans, "chat gpt-4o")) == 2  # closed early: the span ended anyway


async def test_async_chat_and_async_stream(spans, aclient):
    await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    stream = await aclient.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    assert chunks
    first, streamed = by_name(spans, "chat gpt-4o")
    assert first.attributes["gen_ai.usage.input_tokens"] > 0
    assert streamed.attributes["gen_ai.usage.output_tokens"] > 0


def test_responses_and_embeddings(spans, client):
    client.responses.create(model="gpt-4.1", input="Where is my order?", instructions="Be brief.")
    client.embeddings.create(model="text-embedding-3-small", input=["a", "bb"])
    response_span = by_name(spans, "chat gpt-4.1")[0]
    assert json.loads(response_span.attributes["gen_ai.input.messages"])[0] == {
        "role": "system",
        "parts": [{"type": "text", "content": "Be brief."}],
    }
    assert response_span.attributes["gen_ai.usage.output_tokens"] > 0
    assert "ships tomorrow" in response_span.attributes["gen_ai.output.messages"]
    embedding = by_name(spans, "embeddings text-embedding-3-small")[0]
    assert embedding.attributes["gen_ai.operation.name"] == "embeddings"
    assert embedding.attributes["gen_ai.usage.input_tokens"] == 2
    assert embedding.attributes["gen_ai.embeddings.dimension.count"] == 4


def test_streamed_responses_end_their_span_with_usage(spans, client):
    with client.responses.create(model="gpt-4.1", input="Where is my order?", stream=True) as stream:
        assert spans.get_finished_spans() == ()
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
    assert "".join(deltas).strip() == "Your order A-17 ships tomorrow."
    with client.responses.stream(model="gpt-4.1", input="Where is my order?") as stream:  # the SDK's helper
        final = stream.get_final_response()
    streamed, helped = by_name(spans, "chat gpt-4.1")
    for span in (streamed, helped):
        assert span.attributes["gen_ai.request.stream"] is True
        assert span.attributes["gen_ai.usage.input_tokens"] > 0
        assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens
        assert span.attributes["gen_ai.response.id"].startswith("resp_")
        assert tuple(span.attributes["gen_ai.response.finish_reasons"]) == ("stop",)
        output = json.loads(span.attributes["gen_ai.output.messages"])
        assert output[0]["parts"][0]["content"] == "Your order A-17 ships tomorrow."
    stream = client.responses.create(model="gpt-4.1", input="Where is my order?", stream=True)
    next(iter(stream))
    stream.close()
    assert len(by_name(spans, "chat gpt-4.1")) == 3  # closed before completion: the span ended anyway


async def test_async_streamed_responses(spans, aclient):
    stream = await aclient.responses.create(model="gpt-4.1", input="Where is my order?", stream=True)
    kinds = [event.type async for event in stream]
    assert kinds[-1] == "response.completed"
    span = by_name(spans, "chat gpt-4.1")[0]
    assert span.attributes["gen_ai.usage.output_tokens"] > 0
    assert "ships tomorrow" in span.attributes["gen_ai.output.messages"]


@pytest.mark.parametrize(
    ("model", "error", "status"),
    [("rate-limited", openai.RateLimitError, 429), ("broken", openai.InternalServerError, 500)],
)
def test_errors_set_error_type_and_reraise(spans, client, model, error, status):
    with pytest.raises(error):
        client.chat.completions.create(model=model, messages=MESSAGES)
    span = by_name(spans, f"chat {model}")[0]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == error.__name__
    assert span.attributes["http.response.status_code"] == status


def test_llm_calls_inside_an_agent_carry_its_context(spans, client):
    @agentwatch.agent(name="support")
    def answer(q: str) -> str:
        return (
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": q}])
            .choices[0]
            .message.content
        )

    answer("where is A-17?")
    llm_span = by_name(spans, "chat gpt-4o")[0]
    agent_span = by_name(spans, "invoke_agent support")[0]
    assert llm_span.parent.span_id == agent_span.context.span_id
    assert llm_span.attributes["gen_ai.agent.name"] == "support"
    assert llm_span.attributes["gen_ai.conversation.id"] == agent_span.attributes["gen_ai.conversation.id"]
    assert llm_span.attributes["agentwatch.step.index"] == 1


def test_content_capture_off_keeps_usage(client):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    agentwatch.instrument(
        tracer_provider=TracerProvider(), span_processor=SimpleSpanProcessor(exporter), capture_content=False
    )
    try:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    finally:
        agentwatch.shutdown()
    span = by_name(exporter, "chat gpt-4o")[0]
    assert "gen_ai.input.messages" not in span.attributes and "gen_ai.output.messages" not in span.attributes
    assert span.attributes["gen_ai.usage.input_tokens"] > 0


def test_truncation_names_every_cut_content_attribute(llm):
    """Both the prompt and the answer cut: both are named (the output used to overwrite the input's entry)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    agentwatch.instrument(
        tracer_provider=TracerProvider(), span_processor=SimpleSpanProcessor(exporter), max_content_length=40
    )
    try:
        client = openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Where is A-17? " * 20}])
    finally:
        agentwatch.shutdown()
    span = by_name(exporter, "chat gpt-4o")[0]
    assert sorted(span.attributes["agentwatch.content.truncated"]) == [
        "gen_ai.input.messages",
        "gen_ai.output.messages",
    ]


def test_redactions_are_counted_over_every_content_attribute(spans):
    """A secret in the prompt and again in the answer: the span counts both (the answer's count used to overwrite the
    prompt's, the same overwrite as the truncation list had)."""
    with LLMServer() as echo:  # the default responder repeats the last line of the prompt
        client = openai.OpenAI(base_url=echo.base_url, api_key="sk-test", max_retries=0)
        secret = "my key is sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 2
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": secret}])
    span = by_name(spans, "chat gpt-4o")[0]
    assert "sk-proj-" not in span.attributes["gen_ai.input.messages"] + span.attributes["gen_ai.output.messages"]
    assert span.attributes["agentwatch.content.redacted"] == 2


def test_uninstrumented_after_shutdown(llm):
    from agentwatch.instrumentation.openai import OpenAIInstrumentor

    assert not OpenAIInstrumentor().is_instrumented_by_opentelemetry
    import wrapt

    assert not isinstance(openai.resources.chat.completions.Completions.create, wrapt.ObjectProxy)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://api.openai.com/v1", "openai"),
        ("https://myres.openai.azure.com/openai", "azure.ai.openai"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("http://vllm.internal:8000/v1", "openai"),
        ("http://127.0.0.1:8000/v1", "openai"),
    ],
)
def test_provider_names(url, name):
    assert provider_name(url) == name
