"""Small calls an agent makes to tell agentwatch what it is doing: sources, approvals, sessions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from opentelemetry import trace

from agentwatch.instrumentation import _attributes as A
from agentwatch.instrumentation._content import to_json
from agentwatch.instrumentation._context import approvals_var, current_run, session_var
from agentwatch.instrumentation._safety import handle_internal_errors
from agentwatch.instrumentation._state import policy

__all__ = ["approve", "session", "sources"]


def sources(documents: Sequence[Any]) -> None:
    """Record retrieved documents as the sources the current answer should be grounded in (an event on the current
    span; the evaluators read it). With content capture off only their number is recorded."""
    with handle_internal_errors("recording sources"):
        span = trace.get_current_span()
        attributes: dict[str, Any] = {A.SOURCES_COUNT: len(documents)}
        if policy().capture:
            text, _, _ = policy().clean(to_json(list(documents)))
            attributes[A.SOURCES_CONTENT] = text
        span.add_event(A.SOURCES_EVENT, attributes)
        run = current_run()
        if run is not None and run.gated:
            run.evidence.extend(documents)  # what the answer gate grounds the answer in


def approve(action: str) -> None:
    """Mark the irreversible action (a tool name) as approved for the current agent run, or for the current
    context when no agent is running; the tool's span then says ``agentwatch.tool.approved=true``."""
    with handle_internal_errors("recording an approval"):
        run = current_run()
        if run is not None:
            run.approvals.add(action)
        else:
            approvals_var.set(approvals_var.get() | {action})
        trace.get_current_span().add_event(A.APPROVAL_EVENT, {A.APPROVAL_ACTION: action})


@contextlib.contextmanager
def session(session_id: str) -> Iterator[str]:
    """Agents started inside share this conversation id (``gen_ai.conversation.id``)."""
    token = session_var.set(session_id)
    try:
        yield session_id
    finally:
        session_var.reset(token)
