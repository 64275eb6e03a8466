"""Listening on a configured address, with an error that names the setting when the address cannot be had."""

from __future__ import annotations

from aiohttp import web

from agentwatch.errors import ConfigError

__all__ = ["split_address", "start_site"]


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def start_site(runner: web.AppRunner, address: str, setting: str) -> int:
    """Start ``runner`` on ``address`` (HOST:PORT, port 0 for any); returns the bound port. On failure the runner
    is left to its owner to clean up."""
    host, port = split_address(address)
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        raise ConfigError(
            setting,
            f"cannot listen on {address}: {exc.strerror or exc} — another process may hold it (for 8123, a ClickHouse "
            "server?); choose another address, or an empty one to switch this listener off",
        ) from None
    return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
