"""Per-invocation state that flows through nested calls, threads and asyncio tasks (contextvars)."""

from __future__ import annotations

import itertools
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from agentwatch.instrumentation import _attributes as A

__all__ = ["AgentRun", "current_run", "current_session", "new_session_id", "next_step", "session_approvals"]


@dataclass
class AgentRun:
    """One invocation of an agent: its contract, its session, and the counter its steps are numbered by."""

    name: str
    session_id: str
    goal: str | None = None
    allowed_tools: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    credential: str | None = None
    parent: AgentRun | None = None
    approvals: set[str] = field(default_factory=set)
    guard: Any = None  # a guards.RunGuard when guards are on (shared with child agents)
    intent: str = ""  # the last step's stated intent
    evidence: list = field(default_factory=list)  # tool results and sources, for the answer gate
    tools_recorded: int = 0  # decorated tool calls so far (the conversation's record of them is then not needed)
    _steps: itertools.count = field(default_factory=lambda: itertools.count(1))
    _contract_attributes: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def next_step(self) -> int:
        # steps may run in threads of the same invocation: next() on a count is one C call, atomic under the GIL
        return next(self._steps)

    @property
    def gated(self) -> bool:
        """Whether an answer gate checks this run's answer (so tool results and sources are kept as evidence)."""
        return self.guard is not None and self.guard.guards.min_grounding is not None

    def contract_attributes(self) -> dict[str, Any]:
        """The run's name, session and contract as its agent span and every tool span in it carry them (built once
        per run; callers copy it)."""
        if self._contract_attributes is None:
            attributes: dict[str, Any] = {A.AGENT_NAME: self.name, A.CONVERSATION_ID: self.session_id}
            if self.allowed_tools is not None:
                attributes[A.ALLOWED_TOOLS] = list(self.allowed_tools)
            if self.resources is not None:
                attributes[A.RESOURCES] = list(self.resources)
            if self.credential:
                attributes[A.CREDENTIAL] = self.credential
            self._contract_attributes = attributes
        return self._contract_attributes


_run: ContextVar[AgentRun | None] = ContextVar("agentwatch_run", default=None)
_session: ContextVar[str | None] = ContextVar("agentwatch_session", default=None)
_approvals: ContextVar[frozenset[str]] = ContextVar("agentwatch_approvals", default=frozenset())
_loose_steps = itertools.count(1)  # steps outside any agent


def current_run() -> AgentRun | None:
    return _run.get()


def current_session() -> str | None:
    run = _run.get()
    return run.session_id if run is not None else _session.get()


def new_session_id() -> str:
    return uuid.uuid4().hex


def next_step() -> int:
    run = _run.get()
    return run.next_step() if run is not None else next(_loose_steps)


def session_approvals() -> frozenset[str]:
    run = _run.get()
    approved = set(_approvals.get())
    while run is not None:
        approved |= run.approvals
        run = run.parent
    return frozenset(approved)


run_var = _run
session_var = _session
approvals_var = _approvals
