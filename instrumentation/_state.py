"""The instrumentation's process-wide state: the content policy and the tracer provider in force."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace

from agentwatch._version import __version__
from agentwatch.config import setting_from_env
from agentwatch.instrumentation._content import ContentPolicy

__all__ = ["policy", "set_policy", "set_tracer_provider", "tracer"]

_policy = ContentPolicy()
_tracer: trace.Tracer | None = None
# failures inside the instrumentation are raised, not swallowed (AGENTWATCH_RAISE_INSTRUMENTATION_ERRORS)
raise_errors: bool = setting_from_env("raise_instrumentation_errors")
default_guards: Any = None  # guards.Guards for every agent without its own (from the environment); None: guards off
agent_name = ""  # the name of runs derived from plain loops (AGENTWATCH_AGENT_NAME, else the service name)
conversations = True  # derive runs, sessions and tool calls from plain loops' conversations


def policy() -> ContentPolicy:
    return _policy


def set_policy(value: ContentPolicy) -> None:
    global _policy
    _policy = value


def set_tracer_provider(provider: trace.TracerProvider | None) -> None:
    """Spans of agents, tools and steps go to this provider (``None``: the global one)."""
    global _tracer
    _tracer = provider.get_tracer("agentwatch", __version__) if provider is not None else None


def tracer() -> trace.Tracer:
    return _tracer if _tracer is not None else trace.get_tracer("agentwatch", __version__)
