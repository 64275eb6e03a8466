"""Per-invocation state that flows through nested calls, threads and asyncio tasks (contextvars)."""

from __future__ import annotations

import itertools
import threading
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

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
    _steps: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_step(self) -> int:
        with self._lock:  # steps may run in threads of the same invocation
            return next(self._steps)


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
