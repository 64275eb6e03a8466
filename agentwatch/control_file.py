"""Where a running ``agentwatch serve`` says how to reach it: a private file in the embedded store it holds.

On the ground floor (the store reads it to say, when the store is locked, where serve's query endpoint is); the
control interface that writes it is an entry point above (``agentwatch.control``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["CONTROL_FILE", "read_control"]

CONTROL_FILE = "agentwatch-control.json"


def read_control(store_path: str, pid: int | None) -> dict[str, Any] | None:
    """The control file of the serve (process ``pid``, when known) holding the store at ``store_path``; None when
    there is none, or when it was left behind by an earlier serve."""
    try:
        control = json.loads((Path(store_path) / CONTROL_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(control, dict) or (pid is not None and control.get("pid") != pid):
        return None
    return control
