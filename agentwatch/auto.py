"""``import agentwatch.auto``: instrument this process from the environment, in one line."""

from agentwatch.instrumentation import instrument

instrument()
