"""The OpenAI instrumentation overhead by a procedure every agentwatch version runs (it uses nothing newer than
``instrument()``/``shutdown()``), to compare two checkouts on this noisy machine: rounds of (a plain block, an
instrumented block) against the local server, the median of the per-round differences.

    python bench/llm_overhead_ab.py ROUNDS CALLS                      # this checkout
    PYTHONPATH=/tmp/old-site python bench/llm_overhead_ab.py 60 100   # another one (its wheel unpacked there)

Alternate the two a few times and compare the medians (and each overhead as a share of its plain call).
"""

import statistics
import sys
import time

import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import agentwatch

try:
    from agentwatch.testing import LLMServer, Reply
except ImportError:
    from agentwatch.llm_server import LLMServer, Reply


class Null(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


rounds, per = int(sys.argv[1]), int(sys.argv[2])
provider = TracerProvider()
with LLMServer(lambda p, b: Reply(text="Refunds take five business days.")) as llm:
    client = openai.OpenAI(base_url=llm.base_url, api_key="sk-bench", max_retries=0)
    question = [{"role": "user", "content": "How long do refunds take?"}]

    def call() -> None:
        client.chat.completions.create(model="gpt-4o", messages=question)

    def block() -> float:
        started = time.perf_counter()
        for _ in range(per):
            call()
        return (time.perf_counter() - started) / per * 1e6

    for _ in range(50):
        call()
    diffs, plains = [], []
    for _ in range(rounds):
        plain = block()
        agentwatch.instrument(tracer_provider=provider, span_processor=BatchSpanProcessor(Null()))
        traced = block()
        agentwatch.shutdown()
        diffs.append(traced - plain)
        plains.append(plain)
median_plain, median_added = statistics.median(plains), statistics.median(diffs)
print(
    f"{agentwatch.__file__}: plain call {median_plain:.0f} µs, overhead {median_added:.0f} µs "
    f"({median_added / median_plain:.1%} of the call)"
)
