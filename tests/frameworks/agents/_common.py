"""What every framework's agent program shares: the scenario, the tool, and the telemetry set up as a user would.

These programs run in the framework's own venv (made by ``tests/frameworks/record.py``), not in agentwatch's, so
they import nothing from the tests. The recorder passes the scenario (``AW_SCENARIO``: the order, the questions, the
loop length), the model server (``AW_LLM_BASE_URL``) and the telemetry mode (``AW_MODE``):

- ``framework``: the framework's own telemetry, exported by the user's own OpenTelemetry SDK setup over OTLP/HTTP
  (``OTEL_EXPORTER_OTLP_ENDPOINT``) to agentwatch's collector;
- ``framework+oneline``: the same, with ``import agentwatch.auto`` first, as a user adding the one line would; the
  framework's spans then go out through agentwatch's exporter;
- ``oneline``: ``import agentwatch.auto`` alone, the framework's own telemetry off;
- ``limited``: as ``framework``, with the framework's own step limit at :data:`LIMIT` requests, below the looping
  run's: the framework stops that run itself (where it has such a limit).
"""

from __future__ import annotations

import json
import os
from typing import Any

SCENARIO: dict[str, Any] = json.loads(os.environ["AW_SCENARIO"])
ORDER: dict[str, Any] = SCENARIO["order"]
QUESTIONS: dict[str, str] = SCENARIO["questions"]
SYSTEM: str = SCENARIO["system"]
LOOP_CALLS: int = SCENARIO["loop_calls"]
MODE = os.environ.get("AW_MODE", "framework")
BASE_URL = os.environ["AW_LLM_BASE_URL"]
MODEL = "gpt-4o-mini"
AGENT = "orders-agent"

FRAMEWORK_TELEMETRY = MODE in ("framework", "framework+oneline", "limited")
LIMIT = 10 if MODE == "limited" else LOOP_CALLS + 5  # requests (turns) a run may make
ONE_LINE = MODE in ("oneline", "framework+oneline")


def lookup_order(order_id: str) -> dict[str, Any]:
    """Look an order up by its id."""
    return dict(ORDER, order_id=order_id)


def setup_tracing() -> Any:
    """The global tracer provider, set up as the mode says; returns it."""
    from opentelemetry import trace

    if ONE_LINE:
        import agentwatch.auto  # noqa: F401  (the one line)

        return trace.get_tracer_provider()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": os.environ["OTEL_SERVICE_NAME"]}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def finish(provider: Any) -> None:
    """Export everything before the process ends."""
    if ONE_LINE:
        import agentwatch

        agentwatch.shutdown()
    else:
        provider.force_flush()
        provider.shutdown()


def report(name: str, answer: Any) -> None:
    print(json.dumps({"scenario": name, "answer": str(answer)[:300]}), flush=True)
