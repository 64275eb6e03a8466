"""Listening addresses: a free port (for the demo, tests and benchmarks, never the defaults a running
``agentwatch serve`` may hold), and starting a listener with an error that names the setting when the address cannot
be had."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from agentwatch.errors import ConfigError

if TYPE_CHECKING:
    from aiohttp import web

__all__ = [
    "address_taken",
    "allowed_hosts",
    "free_port",
    "host_allowed",
    "host_guard",
    "local_url",
    "split_address",
    "start_site",
]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def local_url(address: str, port: int) -> str:
    """The URL this machine reaches a listener bound to ``address`` at (its real ``port``, port 0 having been a
    free one): an any-address bind ("", 0.0.0.0, ::) is reached on 127.0.0.1."""
    host = split_address(address)[0]
    return f"http://{'127.0.0.1' if host in ('', '0.0.0.0', '::') else host}:{port}"


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


def allowed_hosts(addresses: Iterable[str] = (), extra: str = "") -> frozenset[str]:
    """The host names a listener answers: localhost, the names among its listen ``addresses``, and ``extra``
    (AGENTWATCH_ALLOWED_HOSTS, comma-separated; ``*`` for any). IP addresses are always answered (see
    :func:`host_allowed`)."""
    names = {"localhost"}
    for address in addresses:
        if address:
            names.add(split_address(address)[0].lower())
    names.update(n.strip().lower().rstrip(".") for n in extra.split(",") if n.strip())
    return frozenset(names)


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request's ``Host`` may be answered. DNS rebinding makes a browser send a page's requests to
    127.0.0.1 under the attacker's *name*, with no ``Origin`` (same-origin after the rebinding): so a name must be
    one of ours, while an IP address, which no rebinding can make, is fine. A request with no Host (HTTP/1.0 tools)
    is answered; browsers always send one."""
    if not header:
        return True
    host = header[1 : header.find("]")] if header.startswith("[") else header.rsplit(":", 1)[0]
    host = host.lower().rstrip(".")
    if "*" in allowed or host in allowed or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_guard(allowed: frozenset[str]) -> Any:
    """aiohttp middleware refusing requests addressed to a host name that is not ours (403)."""
    from aiohttp import web

    @web.middleware
    async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
        header = request.headers.get("Host")
        if not host_allowed(header, allowed):
            return web.Response(
                status=403,
                text=f"Host {header!r} is not answered here: agentwatch answers requests addressed to localhost, "
                "an IP address or a name listed in AGENTWATCH_ALLOWED_HOSTS (DNS rebinding protection)\n",
            )
        return await handler(request)

    return guard
