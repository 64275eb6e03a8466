"""The exceptions agentwatch raises, in one tree.

    AgentwatchError
    ├── AgentGuardError        a runtime guard stopped something; ``guard``, ``limit`` and ``observed`` say which
    │   ├── AgentBudgetError      steps, tokens, cost or wall time would exceed the budget
    │   ├── AgentLoopError        the same tool with the same arguments again and again; agents handing a session
    │   │                         back and forth; retries after rate limits past their cap
    │   ├── ToolSchemaError       a tool's result does not match its declared schema (names the fields)
    │   ├── ScopeViolationError   a tool outside the agent's allowed tools
    │   ├── ApprovalRequiredError an irreversible tool without an approval
    │   └── AgentQualityError     an answer scored below the gate before reaching the user
    ├── ConfigError            a setting has an invalid value (names the setting)
    ├── MissingExtraError      an optional dependency is not installed (names the extra)
    └── StoreError             anything about the ClickHouse store
        ├── StoreUnreachableError   the server does not answer / the embedded store cannot be opened
        ├── StoreLockedError        another process holds the embedded store
        ├── QueryError              ClickHouse rejected a statement (names the SQL file when there is one)
        └── MigrationError          the schema cannot be brought up to date

Errors of the underlying driver (clickhouse-connect, chDB) are mapped to these at the store boundary, so callers
never need to import the driver to handle a failure.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "STOPPED_BY",
    "AgentBudgetError",
    "AgentGuardError",
    "AgentLoopError",
    "AgentQualityError",
    "AgentwatchError",
    "ApprovalRequiredError",
    "ConfigError",
    "MigrationError",
    "MissingExtraError",
    "QueryError",
    "ScopeViolationError",
    "StoreError",
    "StoreLockedError",
    "StoreUnreachableError",
    "Terminated",
    "ToolSchemaError",
    "raise_terminated",
]


class AgentwatchError(Exception):
    """Base of every error agentwatch raises on purpose."""


class AgentGuardError(AgentwatchError):
    """A guard stopped an agent action before it happened."""

    def __init__(self, guard: str, message: str, *, limit: Any = None, observed: Any = None) -> None:
        self.guard = guard
        self.limit = limit
        self.observed = observed
        super().__init__(message)


class AgentBudgetError(AgentGuardError):
    pass


class AgentLoopError(AgentGuardError):
    pass


class ToolSchemaError(AgentGuardError):
    def __init__(self, message: str, fields: list[str]) -> None:
        self.fields = fields
        super().__init__("tool_schema", message, observed=fields)


class ScopeViolationError(AgentGuardError):
    pass


class ApprovalRequiredError(AgentGuardError):
    pass


class AgentQualityError(AgentGuardError):
    def __init__(self, message: str, scores: dict[str, float], *, limit: float) -> None:
        self.scores = scores
        super().__init__("answer_quality", message, limit=limit, observed=scores.get("grounding"))


# what stopped a run, by the error.type its span records: the evaluator says so instead of "no answer recorded"
STOPPED_BY = {
    AgentBudgetError.__qualname__: "budget guard",
    AgentLoopError.__qualname__: "loop guard",
    ToolSchemaError.__qualname__: "tool schema guard",
    ScopeViolationError.__qualname__: "scope guard",
    ApprovalRequiredError.__qualname__: "approval guard",
    AgentQualityError.__qualname__: "answer gate",
}


class ConfigError(AgentwatchError, ValueError):
    """A setting has an invalid value. ``setting`` is the environment variable (or keyword) at fault."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        self.message = message
        super().__init__(f"{setting}: {message}")


class MissingExtraError(AgentwatchError, ImportError):
    """An optional dependency is missing; the message names the extra that brings it."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{purpose} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'agentwatch[{extra}]'"
        )


class StoreError(AgentwatchError):
    """Something went wrong talking to the ClickHouse store."""


class StoreUnreachableError(StoreError):
    """The store cannot be reached (server down, wrong address) or opened (embedded path unusable)."""


class StoreLockedError(StoreError):
    """Another process holds the embedded store; ``pid`` and ``command`` name it when they can be known, and
    ``query_url`` is the read-only query endpoint of the agentwatch serve holding it, when it is one."""

    def __init__(
        self, path: str, pid: int | None = None, command: str | None = None, query_url: str | None = None
    ) -> None:
        self.path = path
        self.pid = pid
        self.command = command
        self.query_url = query_url
        holder = "another process"
        if pid is not None:
            holder = f"process {pid}" + (f" ({command})" if command else "")
        read = (
            f"To read while it runs, go through its query endpoint: AGENTWATCH_STORE={query_url} (read-only); "
            "detect, alerts run, alerts silence and evaluate reach it on their own."
            if query_url
            else "To read while agentwatch serve holds the store, go through its query endpoint "
            "(AGENTWATCH_STORE=http://HOST:PORT of its --query-http, read-only)."
        )
        super().__init__(
            f"the embedded store at {path} is held by {holder}; only one process can open an embedded store. "
            "Stop that process (agentwatch serve flushes on SIGTERM) and run this again, point AGENTWATCH_STORE at "
            "another path, or use a ClickHouse server (AGENTWATCH_STORE=http://host:8123), which many processes "
            f"can share. {read}"
        )


class QueryError(StoreError):
    """ClickHouse rejected a statement. ``code``/``name`` are ClickHouse's, ``sql_name`` the SQL file, if any."""

    def __init__(
        self, message: str, *, code: int | None = None, name: str | None = None, sql_name: str | None = None
    ) -> None:
        self.code = code
        self.name = name
        self.sql_name = sql_name
        where = f"[{sql_name}] " if sql_name else ""
        super().__init__(f"{where}{message}")


class MigrationError(StoreError):
    """A schema migration failed or the recorded schema disagrees with the shipped one."""


class Terminated(BaseException):
    """SIGTERM arrived while a command ran (outside a server's own signal handling): the command stops what it
    started and exits 143. A BaseException, like KeyboardInterrupt, so no ``except Exception`` swallows it."""


def raise_terminated(signum: int, frame: object) -> None:
    """A SIGTERM handler for the main thread: turn the signal into :class:`Terminated`."""
    raise Terminated()
