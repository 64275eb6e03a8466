"""A Strands agent with its own telemetry (``StrandsTelemetry().setup_otlp_exporter()``, as Strands documents it);
with the one line, Strands' spans go out through the global provider agentwatch set up."""

from __future__ import annotations

from _common import AGENT, BASE_URL, MODE, MODEL, QUESTIONS, SYSTEM, finish, report, setup_tracing
from _common import lookup_order as _lookup
from strands import Agent, tool
from strands.models.openai import OpenAIModel

if MODE == "framework":
    from strands.telemetry import StrandsTelemetry

    provider = StrandsTelemetry().setup_otlp_exporter().tracer_provider
else:
    provider = setup_tracing()


@tool
def lookup_order(order_id: str) -> dict:
    """Look an order up by its id."""
    return _lookup(order_id)


model = OpenAIModel(client_args={"base_url": BASE_URL, "api_key": "sk-test"}, model_id=MODEL)
for name, question in QUESTIONS.items():
    agent = Agent(name=AGENT, model=model, tools=[lookup_order], system_prompt=SYSTEM, callback_handler=None)
    report(name, agent(question))
finish(provider)
