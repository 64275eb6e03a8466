"""Parsing of store addresses (``AGENTWATCH_STORE``): ``chdb://PATH`` or ``http(s)://[user[:password]@]host[:port]``."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from agentwatch.errors import ConfigError

__all__ = ["StoreDsn", "default_store_path", "parse_store_dsn"]

_SETTING = "AGENTWATCH_STORE"


@dataclass(frozen=True)
class StoreDsn:
    """A parsed store address. ``kind`` is ``"chdb"`` (embedded) or ``"http"`` (a ClickHouse server)."""

    kind: str
    path: str = ""
    host: str = ""
    port: int = 0
    secure: bool = False
    username: str = "default"
    password: str = ""

    @property
    def embedded(self) -> bool:
        return self.kind == "chdb"

    def redacted(self) -> str:
        """The address without its password, for messages and logs."""
        if self.embedded:
            return f"chdb://{self.path}"
        scheme = "https" if self.secure else "http"
        user = f"{self.username}@" if self.username and self.username != "default" else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def default_store_path() -> Path:
    """The per-user data directory that holds the embedded store when none is configured."""
    base = os.environ.get("XDG_DATA_HOME")
    if base:
        return Path(base) / "agentwatch" / "store"
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "agentwatch" / "store"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", home)) / "agentwatch" / "store"
    return home / ".local" / "share" / "agentwatch" / "store"


def parse_store_dsn(value: str, setting: str = _SETTING) -> StoreDsn:
    """Parse and validate a store address; a bad one raises :class:`ConfigError` naming ``setting``."""
    value = value.strip()
    if not value:
        raise ConfigError(setting, "is empty; expected chdb:///path/to/store or http(s)://host:8123")
    if "://" not in value:
        raise ConfigError(
            setting,
            f"{value!r} has no scheme; an embedded store at that path is chdb://{value}, a ClickHouse server "
            "http(s)://host:8123",
        )
    scheme, rest = value.split("://", 1)
    scheme = scheme.lower()
    if scheme == "chdb":
        if not rest:
            raise ConfigError(setting, "chdb:// needs a path, e.g. chdb:///var/lib/agentwatch/store")
        path = Path(unquote(rest)).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise ConfigError(setting, f"{path} exists and is not a directory; an embedded store is a directory")
        return StoreDsn(kind="chdb", path=str(path))
    if scheme in ("http", "https"):
        parts = urlsplit(value)
        if not parts.hostname:
            raise ConfigError(setting, f"{value!r} has no host; expected {scheme}://host:port")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(setting, f"{value!r} has an invalid port") from None
        secure = scheme == "https"
        return StoreDsn(
            kind="http",
            host=parts.hostname,
            port=port or (8443 if secure else 8123),
            secure=secure,
            username=unquote(parts.username) if parts.username else "default",
            password=unquote(parts.password) if parts.password else "",
        )
    raise ConfigError(
        setting, f"unsupported scheme {scheme!r}; expected chdb:///path/to/store (embedded) or http(s)://host:8123"
    )
