"""Listening addresses: a free port (for the demo, tests and benchmarks, never the defaults a running
``agentwatch serve`` may hold), and starting a listener with an error that names the setting when the address cannot
be had."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from agentwatch.errors import ConfigError

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["address_taken", "free_port", "split_address", "start_site"]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def address_taken(setting: str, address: str, reason: str = "") -> ConfigError:
    """The error for a listen address that cannot be had, naming the setting that chose it."""
    because = f": {reason}" if reason else ""
    return ConfigError(
        setting,
        f"cannot listen on {address}{because} — another process may hold it (for 8123, a ClickHouse server?); "
        "choose another address, or an empty one to switch this listener off",
    )


async def start_site(runner: web.AppRunner, address: str, setting: str) -> int:
    """Start ``runner`` on ``address`` (HOST:PORT, port 0 for any); returns the bound port. On failure the runner
    is left to its owner to clean up."""
    from aiohttp import web

    host, port = split_address(address)
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        raise address_taken(setting, address, str(exc.strerror or exc)) from None
    return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
