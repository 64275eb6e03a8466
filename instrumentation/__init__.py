"""agentwatch.instrumentation: agent, tool and LLM spans, exported to the collector over OTLP.

import agentwatch.auto                       # everything, configured from the environment

@agentwatch.agent(name="support", goal="answer billing questions", allowed_tools=["search"])
def answer(question: str) -> str: ...

@agentwatch.tool(irreversible=False)
def search(query: str) -> dict: ...
"""

from agentwatch.instrumentation._api import approve, session, sources
from agentwatch.instrumentation._content import json_shape
from agentwatch.instrumentation._gate import check_answer
from agentwatch.instrumentation._scopes import agent, step, tool
from agentwatch.instrumentation._setup import Instrumentation, instrument, shutdown
from agentwatch.instrumentation.guards import Budget, Guards

__all__ = [
    "Budget",
    "Guards",
    "Instrumentation",
    "agent",
    "approve",
    "check_answer",
    "instrument",
    "json_shape",
    "session",
    "shutdown",
    "sources",
    "step",
    "tool",
]
