"""pydantic-ai with its own GenAI telemetry (``Agent.instrument_all()``), against the recorder's model server."""

from __future__ import annotations

from _common import (
    AGENT,
    BASE_URL,
    FRAMEWORK_TELEMETRY,
    LIMIT,
    MODEL,
    QUESTIONS,
    SYSTEM,
    finish,
    lookup_order,
    report,
    setup_tracing,
)
from pydantic_ai import Agent
from pydantic_ai.exceptions import UsageLimitExceeded
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.usage import UsageLimits

provider = setup_tracing()
if FRAMEWORK_TELEMETRY:
    Agent.instrument_all(InstrumentationSettings(tracer_provider=provider))
model = OpenAIChatModel(MODEL, provider=OpenAIProvider(base_url=BASE_URL, api_key="sk-test"))
agent = Agent(model, name=AGENT, system_prompt=SYSTEM, tools=[lookup_order])
for name, question in QUESTIONS.items():
    try:
        result = agent.run_sync(question, usage_limits=UsageLimits(request_limit=LIMIT))
        report(name, result.output)
    except UsageLimitExceeded as exc:  # the limited mode: pydantic-ai stops the looping run itself
        report(name, f"stopped by pydantic-ai: {exc}")
finish(provider)
