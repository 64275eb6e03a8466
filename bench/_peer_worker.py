"""One peer, set up the way its documentation says, timing rounds of calls on command.

Runs inside the peer's own venv (see ``_peer_envs``), so it imports nothing of this repository except in
agentwatch's venv. ``peers.py`` starts it, then writes ``run K`` lines to its stdin; for each it makes K calls (LLM
chat calls, or decorated tool calls inside the peer's agent scope), flushes the peer's exporter (so the export's
cost is in the round, not left to an idle moment) and answers ``{"us": µs per call, "cpu_us": CPU µs per call, all the process's threads}`` on the protocol channel.
``quit`` shuts the peer down (its exporter delivers what is left). Anything the peer prints goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

Setup = tuple[Callable[[int], None], Callable[[], None], Callable[[], None]]  # run k, flush, shutdown


def sdk_provider(sink: str) -> Any:
    """The OpenTelemetry SDK as its documentation sets it up: a batch processor and the OTLP/HTTP exporter."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{sink}/v1/traces")))
    trace.set_tracer_provider(provider)
    return provider


def global_flush() -> None:
    from opentelemetry import trace

    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]


def global_shutdown() -> None:
    from opentelemetry import trace

    trace.get_tracer_provider().shutdown()  # type: ignore[attr-defined]


def nothing() -> None:
    pass


# -- LLM chat calls ---------------------------------------------------------------------------------------------------


def llm(peer: str, sink: str, llm_url: str, marker: str, workdir: str) -> Setup:
    flush, shutdown = global_flush, global_shutdown
    if peer == "plain":
        flush = shutdown = nothing
    elif peer in ("agentwatch", "agentwatch-no-content"):
        import agentwatch

        agentwatch.instrument(
            endpoint=sink, service_name="bench", providers=["openai"], capture_content=peer == "agentwatch"
        )
        shutdown = agentwatch.shutdown
    elif peer == "otel-openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=sdk_provider(sink))
    elif peer == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=sdk_provider(sink))
    elif peer == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=sdk_provider(sink))
    elif peer == "openlit":
        import openlit

        pricing = os.path.join(workdir, "openlit-pricing.json")  # its default is fetched from GitHub: offline here
        with open(pricing, "w") as out:
            json.dump({"chat": {"gpt-4o": {"promptPrice": 0.0025, "completionPrice": 0.01}}}, out)
        openlit.init(otlp_endpoint=sink, application_name="bench", pricing_json=pricing)
    elif peer == "langfuse":
        from langfuse import Langfuse

        client = Langfuse(public_key="pk-lf-bench", secret_key="sk-lf-bench", base_url=sink)
        flush, shutdown = client.flush, client.shutdown
    else:
        raise SystemExit(f"no LLM setup for {peer!r}")

    if peer == "langfuse":
        from langfuse.openai import OpenAI  # its integration: a drop-in client
    else:
        from openai import OpenAI

    client_ = OpenAI(base_url=llm_url, api_key="sk-bench", max_retries=0)
    question = [{"role": "user", "content": f"How long do refunds take for order {marker}?"}]

    def run(k: int) -> None:
        for _ in range(k):
            client_.chat.completions.create(model="gpt-4o", messages=question)

    return run, flush, shutdown


# -- decorated tool calls ---------------------------------------------------------------------------------------------


def lookup(order_id: str, limit: int = 3) -> dict:
    return {"order": order_id, "status": "shipped", "items": [{"sku": "A1", "qty": 1}, {"sku": "B2", "qty": 2}][:limit]}


def tools(peer: str, sink: str, marker: str) -> Setup:
    """``run(k)``: k calls of the peer's decorated ``lookup`` inside one agent scope of the peer's (one per round)."""
    flush, shutdown = global_flush, global_shutdown
    order = f"ord-{marker}"
    scope: Callable[[], Any] = nullcontext
    call: Callable[..., Any] = lookup
    if peer == "plain":
        flush = shutdown = nothing
    elif peer == "bare-span":  # the floor: an SDK span with a name and nothing else, no arguments or result kept
        tracer = sdk_provider(sink).get_tracer("bench")

        def call(order_id: str, limit: int = 3) -> dict:
            with tracer.start_as_current_span("lookup"):
                return lookup(order_id, limit)

    elif peer == "agentwatch":
        import agentwatch

        agentwatch.instrument(endpoint=sink, service_name="bench", providers=())
        call = agentwatch.tool(name="lookup")(lookup)
        scope = lambda: agentwatch.agent(name="support")  # noqa: E731
        shutdown = agentwatch.shutdown
    elif peer == "langfuse":
        from langfuse import Langfuse, observe

        client = Langfuse(public_key="pk-lf-bench", secret_key="sk-lf-bench", base_url=sink)
        call = observe(name="lookup", as_type="tool")(lookup)
        scope = lambda: client.start_as_current_observation(name="support", as_type="agent")  # noqa: E731
        flush, shutdown = client.flush, client.shutdown
    elif peer == "openllmetry":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from traceloop.sdk import Traceloop
        from traceloop.sdk.decorators import agent, tool

        Traceloop.init(
            app_name="bench", exporter=OTLPSpanExporter(endpoint=f"{sink}/v1/traces"), telemetry_enabled=False
        )
        call = tool(name="lookup")(lookup)
        decorated = agent(name="support")(lambda k: [call(order, limit=3) for _ in range(k)])
        return lambda k: decorated(k), flush, shutdown
    elif peer == "openinference":
        from openinference.instrumentation import TracerProvider
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{sink}/v1/traces")))
        trace.set_tracer_provider(provider)
        tracer = provider.get_tracer("bench")
        call = tracer.tool(name="lookup")(lookup)
        scope = lambda: tracer.start_as_current_span("support", openinference_span_kind="agent")  # noqa: E731
    else:
        raise SystemExit(f"no tool setup for {peer!r}")

    def run(k: int) -> None:
        with scope():
            for _ in range(k):
                call(order, limit=3)

    return run, flush, shutdown


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", required=True)
    parser.add_argument("--workload", choices=("llm", "tool"), required=True)
    parser.add_argument("--sink", required=True)
    parser.add_argument("--llm", default="")
    parser.add_argument("--marker", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()

    channel = os.fdopen(os.dup(1), "w", buffering=1)  # the protocol's; whatever a peer prints goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    if args.workload == "llm":
        run, flush, shutdown = llm(args.peer, args.sink, args.llm, args.marker, args.workdir)
    else:
        run, flush, shutdown = tools(args.peer, args.sink, args.marker)
    calls = 0
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "run":
            k = int(arg)
            began, cpu = time.perf_counter(), time.process_time()
            run(k)
            flush()
            elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
            calls += k
            channel.write(json.dumps({"us": elapsed / k * 1e6, "cpu_us": cpu / k * 1e6}) + "\n")
        elif command == "quit":
            shutdown()
            channel.write(json.dumps({"calls": calls}) + "\n")
            return


if __name__ == "__main__":
    main()
