"""A smolagents ToolCallingAgent (it ends a run by calling its ``final_answer`` tool), traced by OpenInference."""

from __future__ import annotations

from _common import (
    AGENT,
    BASE_URL,
    FRAMEWORK_TELEMETRY,
    LOOP_CALLS,
    MODEL,
    QUESTIONS,
    SYSTEM,
    finish,
    report,
    setup_tracing,
)
from _common import lookup_order as _lookup
from smolagents import OpenAIServerModel, ToolCallingAgent, tool

provider = setup_tracing()
if FRAMEWORK_TELEMETRY:
    from openinference.instrumentation.smolagents import SmolagentsInstrumentor

    SmolagentsInstrumentor().instrument(tracer_provider=provider)


@tool
def lookup_order(order_id: str) -> dict:
    """Look an order up by its id.

    Args:
        order_id: the order's id
    """
    return _lookup(order_id)


model = OpenAIServerModel(model_id=MODEL, api_base=BASE_URL, api_key="sk-test")
agent = ToolCallingAgent(
    tools=[lookup_order], model=model, name=AGENT.replace("-", "_"), max_steps=LOOP_CALLS + 5, instructions=SYSTEM
)
for name, question in QUESTIONS.items():
    report(name, agent.run(question))
finish(provider)
