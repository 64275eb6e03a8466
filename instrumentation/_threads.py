"""Context propagation into threads: work handed to a thread runs in a copy of the submitter's context, so the
current span, agent and session follow it (asyncio tasks copy the context by themselves)."""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["patch_threads", "unpatch_threads"]

_originals: dict[str, Any] = {}


def patch_threads() -> None:
    if _originals:
        return
    _originals["submit"] = ThreadPoolExecutor.submit
    _originals["start"] = threading.Thread.start

    def submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        ctx = contextvars.copy_context()
        return _originals["submit"](self, ctx.run, fn, *args, **kwargs)

    def start(self: threading.Thread) -> None:
        ctx = contextvars.copy_context()
        run = self.run
        self.run = lambda: ctx.run(run)  # type: ignore[method-assign]
        _originals["start"](self)

    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign, assignment]
    threading.Thread.start = start  # type: ignore[method-assign]


def unpatch_threads() -> None:
    if not _originals:
        return
    ThreadPoolExecutor.submit = _originals.pop("submit")  # type: ignore[method-assign]
    threading.Thread.start = _originals.pop("start")  # type: ignore[method-assign]
