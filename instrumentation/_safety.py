"""Telemetry must never break the host application: instrumentation failures are logged and swallowed.

With AGENTWATCH_RAISE_INSTRUMENTATION_ERRORS (agentwatch's own tests set it) they are re-raised, so the tests see
them. It is a setting of its own: reading PYTEST_CURRENT_TEST raised agentwatch's failures into a *user's* tests.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["failures", "handle_internal_errors", "report"]

log = logging.getLogger("agentwatch.instrumentation")

_seen: dict[tuple[str, str], int] = {}


def _under_test() -> bool:
    from agentwatch.instrumentation import _state

    return _state.raise_errors


def report(exc: BaseException, what: str) -> None:
    """Log an instrumentation failure the first time each kind happens (later ones are counted and logged at debug
    level), so a broken hot path cannot flood the application's log; re-raise under pytest."""
    if _under_test():
        raise exc
    key = (what, type(exc).__qualname__)
    _seen[key] = _seen.get(key, 0) + 1
    if _seen[key] == 1:
        log.warning(
            "agentwatch instrumentation failed while %s: %r (the application is not affected; further failures of "
            "this kind are logged at debug level)",
            what,
            exc,
        )
    else:
        log.debug("agentwatch instrumentation failed while %s (%d times): %r", what, _seen[key], exc)


def failures() -> dict[tuple[str, str], int]:
    """How often each kind of instrumentation failure happened in this process."""
    return dict(_seen)


@contextlib.contextmanager
def handle_internal_errors(what: str) -> Iterator[None]:
    """Run instrumentation code; a failure in it is reported, never propagated to the application."""
    try:
        yield
    except Exception as exc:
        report(exc, what)
