"""SQL shipped as files in ``agentwatch.sql`` (one statement per file), with a small header of ``-- key: value``.

Files are loaded relative to the package, so they work from a source checkout and from the wheel alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from agentwatch.errors import AgentwatchError

__all__ = ["SqlFile", "list_sql", "load_sql"]

_HEADER_LINE = re.compile(r"^--\s*([A-Za-z_][\w.-]*)\s*:\s*(.*?)\s*$")


@dataclass(frozen=True)
class SqlFile:
    """One SQL statement and its header. ``name`` is the path inside ``sql/`` without ``.sql``."""

    name: str
    text: str
    header: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> str:
        """The statement without leading comment lines or a trailing semicolon."""
        lines = self.text.splitlines()
        while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
            lines.pop(0)
        return "\n".join(lines).strip().rstrip(";").strip()


def _parse_header(text: str) -> dict[str, str]:
    header: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            if stripped:
                break
            continue
        match = _HEADER_LINE.match(stripped)
        if match:
            key = match.group(1).lower()
            header[key] = match.group(2)
        elif key and stripped[2:].startswith("   "):  # an indented continuation line
            header[key] = f"{header[key]} {stripped[2:].strip()}".strip()
        else:
            key = None
    return header


def _root() -> resources.abc.Traversable:
    return resources.files("agentwatch.sql")


@cache
def load_sql(name: str) -> SqlFile:
    """Load ``sql/<name>.sql`` (e.g. ``"detectors/runaway_loop"``)."""
    node = _root()
    for part in name.split("/"):
        node = node.joinpath(part)
    node = node.with_name(node.name + ".sql") if not node.name.endswith(".sql") else node
    try:
        text = node.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AgentwatchError(f"no SQL file named {name!r} in agentwatch.sql") from None
    return SqlFile(name=name.removesuffix(".sql"), text=text, header=_parse_header(text))


def list_sql(folder: str) -> list[str]:
    """Names of the SQL files in a folder of ``sql/`` (``"schema"``, ``"detectors"``, ``"queries"``), sorted."""
    node = _root().joinpath(folder)
    if not node.is_dir():
        return []
    return sorted(f"{folder}/{child.name[:-4]}" for child in node.iterdir() if child.name.endswith(".sql"))
