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
    AgentBudgetError,
    AgentGuardError,
    AgentLoopError,
    AgentQualityError,
    ApprovalRequiredError,
    Budget,
    Guards,
    Instrumentation,
    ScopeViolationError,
    ToolSchemaError,
    agent,
    approve,
    check_answer,
    instrument,
    session,
    shutdown,
    sources,
    step,
    tool,
)

__all__ = [
    "AgentBudgetError",
    "AgentGuardError",
    "AgentLoopError",
    "AgentQualityError",
    "AgentwatchError",
    "ApprovalRequiredError",
    "Budget",
    "Config",
    "ConfigError",
    "Guards",
    "Instrumentation",
    "MigrationError",
    "MissingExtraError",
    "QueryError",
    "ScopeViolationError",
    "StoreError",
    "StoreLockedError",
    "StoreUnreachableError",
    "ToolSchemaError",
    "__version__",
    "agent",
    "approve",
    "check_answer",
    "configure",
    "get_config",
    "instrument",
    "session",
    "shutdown",
    "sources",
    "step",
    "tool",
]
