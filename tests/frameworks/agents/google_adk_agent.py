"""A Google ADK agent over LiteLLM (an OpenAI-compatible endpoint), with ADK's own telemetry, content on."""

from __future__ import annotations

import asyncio

from _common import BASE_URL, MODEL, QUESTIONS, SYSTEM, finish, lookup_order, report, setup_tracing
from google.adk.agents import LlmAgent
from google.adk.models.lite_llm import LiteLlm
from google.adk.runners import InMemoryRunner
from google.genai import types

provider = setup_tracing()
agent = LlmAgent(
    name="orders_agent",  # ADK wants an identifier
    model=LiteLlm(model=f"openai/{MODEL}", api_base=BASE_URL, api_key="sk-test"),
    instruction=SYSTEM,
    tools=[lookup_order],
)


async def main() -> None:
    runner = InMemoryRunner(agent=agent, app_name="orders")
    for name, question in QUESTIONS.items():
        session = await runner.session_service.create_session(app_name="orders", user_id="u1")
        answer = ""
        message = types.Content(role="user", parts=[types.Part(text=question)])
        async for event in runner.run_async(user_id="u1", session_id=session.id, new_message=message):
            if event.is_final_response() and event.content and event.content.parts:
                answer = event.content.parts[0].text or ""
        report(name, answer)


asyncio.run(main())
finish(provider)
