"""A one-agent CrewAI crew, traced by OpenInference's CrewAI instrumentation — or by ``import agentwatch.auto``."""

from __future__ import annotations

from _common import BASE_URL, FRAMEWORK_TELEMETRY, LOOP_CALLS, MODEL, QUESTIONS, SYSTEM, finish, report, setup_tracing
from _common import lookup_order as _lookup

provider = setup_tracing()
if FRAMEWORK_TELEMETRY:
    from openinference.instrumentation.crewai import CrewAIInstrumentor

    CrewAIInstrumentor().instrument(tracer_provider=provider)

from crewai import LLM, Agent, Crew, Task  # noqa: E402
from crewai.tools import tool  # noqa: E402


@tool("lookup_order")
def lookup_order(order_id: str) -> dict:
    """Look an order up by its id."""
    return _lookup(order_id)


llm = LLM(model=f"openai/{MODEL}", base_url=BASE_URL, api_key="sk-test")
for name, question in QUESTIONS.items():
    agent = Agent(
        role="orders agent",
        goal=SYSTEM,
        backstory="You answer customers' questions about their orders.",
        tools=[lookup_order],
        llm=llm,
        max_iter=LOOP_CALLS + 5,
        verbose=False,
    )
    task = Task(description=question, expected_output="The answer to the customer.", agent=agent)
    try:
        report(name, Crew(agents=[agent], tasks=[task], verbose=False).kickoff())
    except Exception as exc:  # CrewAI stops a loop itself after 5 identical calls: its guard at work
        report(name, f"stopped by CrewAI: {exc}")
finish(provider)
