"""The OpenAI Agents SDK (Responses API), traced by OpenInference's instrumentation — or, in the ``oneline`` mode,
by nothing but ``import agentwatch.auto``."""

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
from agents import Agent, Runner, function_tool, set_default_openai_client, set_trace_processors
from agents.exceptions import MaxTurnsExceeded
from openai import AsyncOpenAI

provider = setup_tracing()
set_default_openai_client(AsyncOpenAI(base_url=BASE_URL, api_key="sk-test"), use_for_tracing=False)
set_trace_processors([])  # not to OpenAI's tracing backend: this machine has no internet
if FRAMEWORK_TELEMETRY:
    from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

    OpenAIAgentsInstrumentor().instrument(tracer_provider=provider)
agent = Agent(name=AGENT, instructions=SYSTEM, model=MODEL, tools=[function_tool(lookup_order)])
for name, question in QUESTIONS.items():
    try:
        report(name, Runner.run_sync(agent, question, max_turns=LIMIT).final_output)
    except MaxTurnsExceeded as exc:  # the limited mode: the SDK stops the looping run itself
        report(name, f"stopped by the Agents SDK: {exc}")
finish(provider)
