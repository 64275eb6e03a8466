"""Realistic agent spans as OTLP requests, shared by the benchmarks."""

from __future__ import annotations

import hashlib
import random
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

_WORDS = [
    "refund",
    "policy",
    "order",
    "shipment",
    "customer",
    "invoice",
    "account",
    "billing",
    "warehouse",
    "delivery",
    "tracking",
    "return",
    "exchange",
    "discount",
    "premium",
    "subscription",
    "renewal",
    "cancel",
    "address",
    "payment",
    "card",
]


def _kv(key: str, value: object) -> KeyValue:
    any_value = AnyValue()
    if isinstance(value, bool):
        any_value.bool_value = value
    elif isinstance(value, int):
        any_value.int_value = value
    elif isinstance(value, float):
        any_value.double_value = value
    elif isinstance(value, list):
        any_value.array_value.values.extend(AnyValue(string_value=str(v)) for v in value)
    else:
        any_value.string_value = str(value)
    return KeyValue(key=key, value=any_value)


def agent_request(
    n_spans: int,
    rnd: random.Random,
    prompt_bytes: int = 3000,
    *,
    models: tuple[str, ...] = ("gpt-4o",),
    openinference: bool = False,
    session_traces: bool = False,
) -> bytes:
    """One ExportTraceServiceRequest of ``n_spans`` agent spans: half LLM calls with a few KB of prompt text,
    half tool calls, each with about 15 attributes. ``openinference`` adds what OpenInference's conventions name
    the same facts (span kind, session, model, token counts, tool), for a peer that reads those (Phoenix)."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        [_kv("service.name", "bench-agents"), _kv("host.name", "bench-1"), _kv("telemetry.sdk.language", "python")]
    )
    scope = resource_spans.scope_spans.add()
    scope.scope.name, scope.scope.version = "agentwatch", "0.1.0"
    now = time.time_ns()
    for i in range(n_spans):
        span = scope.spans.add()
        trace_id, span.span_id, span.parent_span_id = rnd.randbytes(16), rnd.randbytes(8), rnd.randbytes(8)
        span.start_time_unix_nano = now + i * 1000
        span.end_time_unix_nano = span.start_time_unix_nano + rnd.randint(1, 3000) * 1_000_000
        session = f"sess-{rnd.randint(0, 5000)}"
        # a session's spans in one trace (as an agent's run is), or each its own
        span.trace_id = hashlib.blake2b(session.encode(), digest_size=16).digest() if session_traces else trace_id
        agent = f"agent-{rnd.randint(0, 20)}"
        common = [
            _kv("gen_ai.conversation.id", session),
            _kv("gen_ai.agent.name", agent),
            _kv("agentwatch.step.index", rnd.randint(0, 30)),
        ]
        if i % 2:
            model = rnd.choice(models)
            input_tokens, output_tokens = rnd.randint(200, 8000), rnd.randint(20, 800)
            span.name = f"chat {model}"
            span.kind = 3
            prompt = " ".join(rnd.choice(_WORDS) for _ in range(prompt_bytes // 8))[:prompt_bytes]
            span.attributes.extend(
                [
                    *common,
                    _kv("gen_ai.operation.name", "chat"),
                    _kv("gen_ai.provider.name", "openai"),
                    _kv("gen_ai.request.model", model),
                    _kv("gen_ai.response.model", model),
                    _kv("gen_ai.request.temperature", 0.2),
                    _kv("gen_ai.usage.input_tokens", input_tokens),
                    _kv("gen_ai.usage.output_tokens", output_tokens),
                    _kv("gen_ai.response.finish_reasons", ["stop"]),
                    _kv("gen_ai.response.id", f"chatcmpl-{i}"),
                    _kv(
                        "gen_ai.input.messages", f'[{{"role":"user","parts":[{{"type":"text","content":"{prompt}"}}]}}]'
                    ),
                    _kv("gen_ai.output.messages", '[{"role":"assistant","parts":[{"type":"text","content":"ok"}]}]'),
                    _kv("server.address", "api.openai.com"),
                ]
            )
            if openinference:
                span.attributes.extend(
                    [
                        _kv("openinference.span.kind", "LLM"),
                        _kv("session.id", session),
                        _kv("llm.model_name", model),
                        _kv("llm.token_count.prompt", input_tokens),
                        _kv("llm.token_count.completion", output_tokens),
                        _kv("llm.token_count.total", input_tokens + output_tokens),
                    ]
                )
        else:
            tool = rnd.choice(["search_orders", "get_invoice", "lookup_customer", "send_email"])
            span.name = f"execute_tool {tool}"
            span.attributes.extend(
                [
                    *common,
                    _kv("gen_ai.operation.name", "execute_tool"),
                    _kv("gen_ai.tool.name", tool),
                    _kv("gen_ai.tool.call.id", f"call_{i}"),
                    _kv("gen_ai.tool.call.arguments", f'{{"query": "{rnd.choice(_WORDS)}", "limit": 10}}'),
                    _kv("gen_ai.tool.call.result", '{"total_hits": 3, "documents": [{"id": 1}, {"id": 2}, {"id": 3}]}'),
                    _kv("agentwatch.tool.result.shape", "documents:array,total_hits:number"),
                    _kv("agentwatch.tool.result.size", 64),
                    _kv("agentwatch.tool.irreversible", False),
                    _kv("agentwatch.credential.id", "svc-support"),
                    _kv("agentwatch.agent.allowed_tools", ["search_orders", "get_invoice"]),
                    _kv("agentwatch.tool.arguments.hash", f"{rnd.getrandbits(64):016x}"),
                ]
            )
            if openinference:
                span.attributes.extend(
                    [_kv("openinference.span.kind", "TOOL"), _kv("session.id", session), _kv("tool.name", tool)]
                )
        span.status.code = 1
    return request.SerializeToString()
