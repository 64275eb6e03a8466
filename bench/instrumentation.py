"""Cost of instrumentation, measured in one run against a bare OpenTelemetry SDK span with the same attributes.

    python bench/instrumentation.py [--calls 2000] [--rounds 40]

Prints per-call microseconds (median of rounds) for: a bare SDK span carrying the same attributes as an
agentwatch tool span; an ``@agentwatch.tool`` call (capture on and off); the added cost of an instrumented
OpenAI chat call and of an Anthropic ``messages.create`` against the local server (instrumented minus
uninstrumented, in the same rounds); and a tool call while the exporter
points at an address where nothing listens (the hot path must not block on the network). Ratios are against the
bare span. Spans go to a null exporter here, so encoding and export are not in these figures; ``bench/peers.py``
measures the whole cost, export included, against the other instrumentations (the target now: no more than the
cheapest of them that records the same call).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import anthropic
import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import agentwatch
from agentwatch.instrumentation import _scopes
from agentwatch.instrumentation._content import ContentPolicy
from agentwatch.listen import free_port
from agentwatch.testing import LLMServer, Reply


class NullExporter(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def per_call(fn: Callable[[], object], calls: int, rounds: int) -> float:
    """Median over rounds of the mean per-call time, in microseconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def interleaved(
    measured: dict[str, tuple[Callable[[], object], Callable[[], AbstractContextManager] | None]],
    calls: int,
    rounds: int,
) -> dict[str, float]:
    """Per-call microseconds (median over rounds) of several calls measured in turn, a block of each per round, so
    that the machine's drift touches them alike. Each may name a context to run its block in."""
    samples: dict[str, list[float]] = {name: [] for name in measured}
    for _ in range(rounds):
        for name, (fn, within) in measured.items():
            with within() if within is not None else nullcontext():
                start = time.perf_counter()
                for _ in range(calls):
                    fn()
                samples[name].append((time.perf_counter() - start) / calls * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


@contextmanager
def derivations_stubbed() -> Iterator[None]:
    """Diagnostic only: agentwatch's derivations (JSON, shape, flags, argument hash, redaction) replaced by constants,
    so what is left of a tool call's cost is the span machinery."""
    saved = {name: getattr(_scopes, name) for name in ("to_json", "json_shape", "result_flags", "canonical_arguments")}
    clean = ContentPolicy.clean
    _scopes.to_json = lambda value: value if isinstance(value, str) else "{}"
    _scopes.json_shape = lambda value: "total_hits:number"
    _scopes.result_flags = lambda value: []
    _scopes.canonical_arguments = lambda value: ("{}", "0123456789abcdef")
    ContentPolicy.clean = lambda self, text: (text, 0, False)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(_scopes, name, value)
        ContentPolicy.clean = clean


@contextmanager
def instrumented(provider: TracerProvider, plain: Callable[..., dict], *, capture: bool = True) -> Iterator[Callable]:
    """agentwatch instrumenting ``provider`` (spans to a null exporter, OpenAI left alone); yields ``plain`` as a
    ``search`` tool."""
    agentwatch.instrument(
        tracer_provider=provider,
        span_processor=BatchSpanProcessor(NullExporter()),
        capture_content=capture,
        providers=(),
    )
    try:
        yield agentwatch.tool(name="search")(plain)
    finally:
        agentwatch.shutdown()


def tool_attributes() -> dict[str, object]:
    """What an agentwatch tool span carries with capture on (shape as produced for ``result()`` below)."""
    return {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": "call_0123456789abcdef01234567",
        "agentwatch.step.index": 1,
        "agentwatch.tool.arguments.hash": "0123456789abcdef",
        "agentwatch.tool.irreversible": False,
        "gen_ai.conversation.id": "0" * 32,
        "gen_ai.agent.name": "support",
        "agentwatch.agent.allowed_tools": ["search", "lookup"],
        "gen_ai.tool.call.arguments": '{"query":"refund policy","limit":3}',
        "agentwatch.tool.result.shape": "documents:array,documents[].id:number,documents[]:object,total_hits:number",
        "agentwatch.tool.result.size": 52,
        "gen_ai.tool.call.result": '{"total_hits":2,"documents":[{"id":1},{"id":2}]}',
    }


def result() -> dict:
    return {"total_hits": 2, "documents": [{"id": 1}, {"id": 2}]}


def huge_result_cost(rounds: int = 5) -> tuple[float, float, float]:
    """A 100 MB tool result full of a secret hint ("token"): ms for the instrumented call; for the same call returning
    the result already cut to what capture keeps (the cost of capturing a value at the cap); and for the plain call
    plus the cut alone. Capture must cost what the capped value costs, whatever the value's size."""
    huge = ("the token is here and a refund_token=abc123 " * 2_400_000)[: 100 * 1024 * 1024]
    keep = ContentPolicy().max_length
    at_cap = huge[:keep]

    def plain_huge() -> str:
        return huge

    def plain_at_cap() -> str:
        return at_cap

    traced, capped_traced, plain = [], [], []
    agentwatch.instrument(
        tracer_provider=TracerProvider(), span_processor=BatchSpanProcessor(NullExporter()), providers=()
    )
    try:
        tool = agentwatch.tool(name="dump")(plain_huge)
        small = agentwatch.tool(name="dump")(plain_at_cap)
        for _ in range(rounds):
            for fn, into in ((tool, traced), (small, capped_traced)):
                started = time.perf_counter()
                fn()
                into.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            text = plain_huge()
            _ = text[:keep] if len(text) > keep else text
            plain.append((time.perf_counter() - started) * 1000)
    finally:
        agentwatch.shutdown()
    return statistics.median(traced), statistics.median(capped_traced), statistics.median(plain)


def llm_overheads(
    calls: dict[str, Callable[[], object]], provider: TracerProvider, per_round: int, rounds: int
) -> dict[str, tuple[float, float, float]]:
    """Per provider: µs per call uninstrumented, instrumented, and the difference (median over rounds). A round runs
    every provider uninstrumented, then instrumented, so the machine's drift touches all alike."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for _ in range(rounds):
        plain = {name: per_call(call, per_round, 1) for name, call in calls.items()}
        agentwatch.instrument(tracer_provider=provider, span_processor=BatchSpanProcessor(NullExporter()))
        try:
            traced = {name: per_call(call, per_round, 1) for name, call in calls.items()}
        finally:
            agentwatch.shutdown()
        for name in calls:
            samples[name].append((plain[name], traced[name]))
    return {
        name: (
            statistics.median(p for p, _ in pairs),
            statistics.median(t for _, t in pairs),
            statistics.median(t - p for p, t in pairs),
        )
        for name, pairs in samples.items()
    }


TOOLS = [{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}]


def loop_step(client: openai.OpenAI) -> Callable[[], None]:
    """One turn of a plain tool-calling loop: the request carries the last tool result, the model asks for another
    (so with conversation tracking each call ends a pending tool call and starts one). The conversation starts over
    every six turns so its length stays the same from round to round."""
    messages: list = []

    def step() -> None:
        if len(messages) > 12 or not messages:
            messages[:] = [{"role": "user", "content": "Where is order 1093?"}]
        message = client.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS).choices[0].message
        call = message.tool_calls[0]
        messages.append(message.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"status": "delayed", "carrier": "DHL"}'})

    return step


def conversation_overhead(
    step: Callable[[], None], provider: TracerProvider, per_round: int, rounds: int
) -> dict[str, float]:
    """µs per plain-loop turn (median over rounds): uninstrumented, instrumented with conversation tracking off (an
    LLM span a call, as before it existed) and on (the run, and a tool span a call read from the conversation)."""
    from agentwatch.instrumentation import _state

    samples: dict[str, list[float]] = {"plain": [], "tracking off": [], "tracking on": []}
    for _ in range(rounds):
        samples["plain"].append(per_call(step, per_round, 1))
        agentwatch.instrument(tracer_provider=provider, span_processor=BatchSpanProcessor(NullExporter()))
        try:
            for label, on in (("tracking off", False), ("tracking on", True)):
                _state.conversations = on
                samples[label].append(per_call(step, per_round, 1))
        finally:
            agentwatch.shutdown()
    return {label: statistics.median(values) for label, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2_000, help="calls in a measured block")
    parser.add_argument("--rounds", type=int, default=40, help="blocks of each measured call, interleaved")
    parser.add_argument("--llm-calls", type=int, default=100, help="LLM calls in a measured block")
    parser.add_argument("--llm-rounds", type=int, default=60, help="rounds of LLM blocks (noisy: many small ones)")
    args = parser.parse_args()

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NullExporter(), max_queue_size=1 << 16))
    bare_tracer = provider.get_tracer("bare")
    attributes = tool_attributes()

    def bare() -> None:
        with bare_tracer.start_as_current_span("execute_tool search", attributes=attributes):
            result()

    def plain_search(query: str, limit: int = 3) -> dict:
        return result()

    results: dict[str, float] = {}
    for capture in (True, False):
        label = f"tool capture={'on' if capture else 'off'}"
        with (
            instrumented(provider, plain_search, capture=capture) as search,
            agentwatch.agent(name="support", allowed_tools=["search", "lookup"]),
        ):
            measured = {
                "bare": (bare, None),
                label: (lambda s=search: s("refund policy"), None),
            }
            if capture:
                measured["tool, derivations stubbed"] = (lambda s=search: s("refund policy"), derivations_stubbed)
            figures = interleaved(measured, args.calls, args.rounds)
        results[f"bare ({label})"] = figures.pop("bare")
        results.update(figures)
    results["bare"] = statistics.mean([results["bare (tool capture=on)"], results["bare (tool capture=off)"]])
    results["plain function"] = per_call(lambda: plain_search("refund policy"), args.calls, args.rounds)

    # agentwatch's own work: the same call with the span sampled out (the SDK then costs only its sampling decision)
    sampled_out = TracerProvider(sampler=ALWAYS_OFF)
    sdk_tracer = sampled_out.get_tracer("bare")
    results["sdk span, sampled out"] = per_call(lambda: sdk_tracer.start_span("x").end(), args.calls, args.rounds)
    for capture in (True, False):
        with (
            instrumented(sampled_out, plain_search, capture=capture) as search,
            agentwatch.agent(name="support", allowed_tools=["search", "lookup"]),
        ):
            results[f"own work capture={'on' if capture else 'off'}"] = per_call(
                lambda s=search: s("refund policy"), args.calls, args.rounds
            )

    # guards: off (no Guards anywhere) against on (a budget and a loop breaker checked on every call)
    guards = agentwatch.Guards(budget=agentwatch.Budget(max_steps=10**9), max_repeats=10**9)
    with instrumented(provider, plain_search) as search:
        results.update(
            interleaved(
                {
                    "guards off": (lambda: search("refund policy"), lambda: agentwatch.agent(name="support")),
                    "guards on": (
                        lambda: search("refund policy"),
                        lambda: agentwatch.agent(name="support", guards=guards),
                    ),
                },
                args.calls,
                args.rounds,
            )
        )

    # the hot path does not wait for the network: export to a port where nothing listens
    dead = f"http://127.0.0.1:{free_port()}"
    agentwatch.instrument(tracer_provider=TracerProvider(), endpoint=dead, providers=())
    search = agentwatch.tool(name="search")(plain_search)
    results["tool, collector unreachable"] = per_call(lambda: search("refund policy"), args.calls, args.rounds)
    started = time.perf_counter()
    agentwatch.shutdown(timeout_millis=1000)
    shutdown_s = time.perf_counter() - started

    with LLMServer(lambda p, b: Reply(text="Refunds take five business days.")) as llm:
        question = [{"role": "user", "content": "How long do refunds take?"}]
        openai_client = openai.OpenAI(base_url=llm.base_url, api_key="sk-bench", max_retries=0)
        anthropic_client = anthropic.Anthropic(base_url=llm.root_url, api_key="sk-bench", max_retries=0)
        llm_calls = {
            "OpenAI": lambda: openai_client.chat.completions.create(model="gpt-4o", messages=question),
            "Anthropic": lambda: anthropic_client.messages.create(
                model="claude-sonnet-4-5", max_tokens=100, messages=question
            ),
        }
        llm_figures = llm_overheads(llm_calls, provider, args.llm_calls, args.llm_rounds)
    with LLMServer(lambda p, b: Reply(tool_calls=[("lookup_order", {"order_id": "1093"})])) as llm:
        client = openai.OpenAI(base_url=llm.base_url, api_key="sk-bench", max_retries=0)
        loop_figures = conversation_overhead(loop_step(client), provider, args.llm_calls, args.llm_rounds)

    bare_us = results["bare"]
    print(f"bare SDK span, same attributes       {bare_us:8.1f} µs   1.00×")
    for label in ("tool capture=on", "tool capture=off"):
        bare_here = results[f"bare ({label})"]  # the bare span measured in the same rounds
        print(
            f"@agentwatch.tool call ({label:>16})   {results[label]:8.1f} µs   {results[label] / bare_here:.2f}×"
            f"   (bare in the same rounds: {bare_here:.1f} µs)"
        )
    stubbed = results["tool, derivations stubbed"]
    print(
        f"  … with its derivations stubbed      {stubbed:8.1f} µs   {stubbed / results['bare (tool capture=on)']:.2f}×"
        "   (diagnostic: the span machinery alone)"
    )
    unreachable = results["tool, collector unreachable"]
    print(f"tool call, collector unreachable     {unreachable:8.1f} µs   {unreachable / bare_us:.2f}×")
    print(f"plain function, uninstrumented       {results['plain function']:8.2f} µs")
    for label in ("own work capture=on", "own work capture=off"):
        own = results[label] - results["sdk span, sampled out"]
        print(
            f"agentwatch's own work ({label[9:]:<11}) {own:8.1f} µs   (tool call with the span sampled out, minus the SDK)"
        )
    off = results["guards off"]
    print(f"tool call, guards off                {off:8.1f} µs   (same as capture=on above: no guard code runs)")
    print(
        f"tool call, guards on (budget + loop) {results['guards on']:8.1f} µs   {results['guards on'] / off:.2f}× off"
    )
    for name, (plain_us, traced_us, added_us) in llm_figures.items():
        print(
            f"{name + ' chat call, uninstrumented':<37}{plain_us:8.1f} µs  (local server, {args.llm_calls} calls a round)"
        )
        print(f"{name + ' chat call, instrumented':<37}{traced_us:8.1f} µs")
        print(f"{name + ' instrumentation overhead':<37}{added_us:8.1f} µs   {added_us / bare_us:.2f}× a bare span")
    openai_added = llm_figures["OpenAI"][2]
    print(f"Anthropic overhead ÷ OpenAI overhead {llm_figures['Anthropic'][2] / openai_added:8.2f}×   (same rounds)")
    plain_turn, off_turn, on_turn = (loop_figures[k] for k in ("plain", "tracking off", "tracking on"))
    print(
        f"plain-loop turn, uninstrumented       {plain_turn:8.1f} µs  (a request carrying a tool result, tools declared)"
    )
    print(
        f"plain-loop turn, tracking off         {off_turn:8.1f} µs   overhead {off_turn - plain_turn:6.1f} µs (an LLM span)"
    )
    print(
        f"plain-loop turn, tracking on          {on_turn:8.1f} µs   overhead {on_turn - plain_turn:6.1f} µs "
        f"(+ its tool call's span)   {on_turn / off_turn:.3f}× off"
    )
    print(f"shutdown with an unreachable collector: {shutdown_s:.2f} s (bounded by its timeout)")
    traced_ms, at_cap_ms, cut_ms = huge_result_cost()
    print(
        f"100 MB tool result with 'token' in it: {traced_ms:.1f} ms instrumented; the same result already at the cap "
        f"{at_cap_ms:.1f} ms ({traced_ms / at_cap_ms:.2f}×); plain call + the cut alone {cut_ms:.3f} ms"
    )


if __name__ == "__main__":
    main()
