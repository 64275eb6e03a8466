"""The offline judge as it was at a git revision, importable beside today's: the baseline a judge change is timed
against in the same process (``bench/evaluators.py --against REV``)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["judge_at"]

ROOT = Path(__file__).resolve().parent.parent


def judge_at(revision: str) -> type:
    """``HeuristicJudge`` of ``revision``: its ``evaluators/`` files, renamed to a package of their own."""
    package = "judge_at_" + "".join(c if c.isalnum() else "_" for c in revision)
    folder = Path(tempfile.mkdtemp(prefix="aw-judge-at-")) / package
    folder.mkdir()
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "--name-only", revision, "evaluators/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in listed:
        if name.endswith((".py", ".json")):
            text = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{revision}:{name}"], check=True, capture_output=True, text=True
            ).stdout
            (folder / Path(name).name).write_text(text.replace("agentwatch.evaluators", package))
    sys.path.insert(0, str(folder.parent))
    return importlib.import_module(f"{package}.heuristic").HeuristicJudge
