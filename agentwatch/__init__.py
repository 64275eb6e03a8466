"""agentwatch: observability and evaluation for AI agents in production.

Importing this package stays light (OpenTelemetry only); the store, collector and evaluators load their
server-side dependencies when used.
"""

from agentwatch._version import __version__
from agentwatch.config import Config, configure, get_config
from agentwatch.errors import (
    AgentwatchError,
    ConfigError,
    MigrationError,
    MissingExtraError,
    QueryError,
    StoreError,
    StoreLockedError,
    StoreUnreachableError,
)
from agentwatch.instrumentation import (
    Instrumentation,
    agent,
    approve,
    instrument,
    session,
    shutdown,
    sources,
    step,
    tool,
)

__all__ = [
    "AgentwatchError",
    "Config",
    "ConfigError",
    "Instrumentation",
    "MigrationError",
    "MissingExtraError",
    "QueryError",
    "StoreError",
    "StoreLockedError",
    "StoreUnreachableError",
    "__version__",
    "agent",
    "approve",
    "configure",
    "get_config",
    "instrument",
    "session",
    "shutdown",
    "sources",
    "step",
    "tool",
]
