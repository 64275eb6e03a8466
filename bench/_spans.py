"""Realistic agent spans as OTLP requests, shared by the benchmarks."""

from __future__ import annotations

import hashlib
import random
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentwatch.instrumentation._otlp import key_value

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
        [
            key_value("service.name", "bench-agents"),
            key_value("host.name", "bench-1"),
            key_value("telemetry.sdk.language", "python"),
        ]
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
            key_value("gen_ai.conversation.id", session),
            key_value("gen_ai.agent.name", agent),
            key_value("agentwatch.step.index", rnd.randint(0, 30)),
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
                    key_value("gen_ai.operation.name", "chat"),
                    key_value("gen_ai.provider.name", "openai"),
                    key_value("gen_ai.request.model", model),
                    key_value("gen_ai.response.model", model),
                    key_value("gen_ai.request.temperature", 0.2),
                    key_value("gen_ai.usage.input_tokens", input_tokens),
                    key_value("gen_ai.usage.output_tokens", output_tokens),
                    key_value("gen_ai.response.finish_reasons", ["stop"]),
                    key_value("gen_ai.response.id", f"chatcmpl-{i}"),
                    key_value(
                        "gen_ai.input.messages", f'[{{"role":"user","parts":[{{"type":"text","content":"{prompt}"}}]}}]'
                    ),
                    key_value(
                        "gen_ai.output.messages", '[{"role":"assistant","parts":[{"type":"text","content":"ok"}]}]'
                    ),
                    key_value("server.address", "api.openai.com"),
                ]
            )
            if openinference:
                span.attributes.extend(
                    [
                        key_value("openinference.span.kind", "LLM"),
                        key_value("session.id", session),
                        key_value("llm.model_name", model),
                        key_value("llm.token_count.prompt", input_tokens),
                        key_value("llm.token_count.completion", output_tokens),
                        key_value("llm.token_count.total", input_tokens + output_tokens),
                    ]
                )
        else:
            tool = rnd.choice(["search_orders", "get_invoice", "lookup_customer", "send_email"])
            span.name = f"execute_tool {tool}"
            span.attributes.extend(
                [
                    *common,
                    key_value("gen_ai.operation.name", "execute_tool"),
                    key_value("gen_ai.tool.name", tool),
                    key_value("gen_ai.tool.call.id", f"call_{i}"),
                    key_value("gen_ai.tool.call.arguments", f'{{"query": "{rnd.choice(_WORDS)}", "limit": 10}}'),
                    key_value(
                        "gen_ai.tool.call.result", '{"total_hits": 3, "documents": [{"id": 1}, {"id": 2}, {"id": 3}]}'
                    ),
                    key_value("agentwatch.tool.result.shape", "documents:array,total_hits:number"),
                    key_value("agentwatch.tool.result.size", 64),
                    key_value("agentwatch.tool.irreversible", False),
                    key_value("agentwatch.credential.id", "svc-support"),
                    key_value("agentwatch.agent.allowed_tools", ["search_orders", "get_invoice"]),
                    key_value("agentwatch.tool.arguments.hash", f"{rnd.getrandbits(64):016x}"),
                ]
            )
            if openinference:
                span.attributes.extend(
                    [
                        key_value("openinference.span.kind", "TOOL"),
                        key_value("session.id", session),
                        key_value("tool.name", tool),
                    ]
                )
        span.status.code = 1
    return request.SerializeToString()
