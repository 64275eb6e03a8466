"""serve's control interface: the way commands that write reach an embedded store ``agentwatch serve`` holds.

chDB lets one process open an embedded store, so while serve runs, ``agentwatch detect``, ``alerts run``,
``alerts silence`` and ``evaluate`` cannot open it. serve listens on a free loopback port for exactly those
commands (:data:`agentwatch.operations.OPERATIONS`, nothing else) and writes where it listens, with a random token,
to ``agentwatch-control.json`` inside the store's directory, readable by its owner only (as Jupyter does). The CLI,
finding the store held, reads that file and sends the command there; serve runs it on its own connection and
answers what the command would have printed. A request without the token is refused (401); the file is removed
when serve stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from agentwatch.auth import bearer_matches
from agentwatch.control_file import CONTROL_FILE, read_control
from agentwatch.errors import AgentwatchError, ConfigError, StoreLockedError

__all__ = ["CONTROL_FILE", "ControlError", "ControlServer", "read_control", "send"]

log = logging.getLogger("agentwatch.control")

_MAX_REQUEST = 1 << 20


class ControlError(AgentwatchError):
    """serve's control interface refused or failed a command."""


class ControlServer:
    """``await start()`` after serve holds the store; ``await stop()`` before it lets go."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.token = secrets.token_urlsafe(32)
        self.path = Path(store.dsn.path) / CONTROL_FILE
        self.port: int | None = None
        self._runner: Any = None

    async def start(self, query_url: str | None = None, address: str = "127.0.0.1:0") -> None:
        """Listen on ``address`` (AGENTWATCH_CONTROL_HTTP; port 0: a free one) and say where in the control file."""
        from aiohttp import web

        from agentwatch.listen import allowed_hosts, host_guard, local_url, start_site

        app = web.Application(client_max_size=_MAX_REQUEST, middlewares=[host_guard(allowed_hosts([address]))])
        app.router.add_post("/v1/{operation}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = await start_site(self._runner, address, "AGENTWATCH_CONTROL_HTTP")
        url = local_url(address, self.port)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(
                {
                    "url": url,
                    "token": self.token,
                    "pid": os.getpid(),
                    "query_url": query_url,
                },
                handle,
            )
        log.info("control interface on %s (token in %s)", url, self.path)

    async def stop(self) -> None:
        self.path.unlink(missing_ok=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        from agentwatch.operations import OPERATIONS

        if not bearer_matches(request.headers.get("Authorization", ""), self.token):
            return web.json_response({"error": "a bearer token is required"}, status=401)
        name = request.match_info["operation"]
        if name not in OPERATIONS:
            return web.json_response({"error": f"unknown operation {name!r}"}, status=404)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "the body must be a JSON object", "kind": "ConfigError"}, status=400)
        loop = asyncio.get_running_loop()
        try:
            answer = await loop.run_in_executor(None, self._run, name, body)
        except AgentwatchError as exc:
            return web.json_response({"error": str(exc), "kind": type(exc).__name__}, status=422)
        log.info("control: ran %s for a command-line client", name)
        return web.json_response(answer)

    def _run(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        from agentwatch.operations import run_operation

        client = self.store.clone()  # serve's other threads keep theirs
        try:
            return run_operation(name, client, body)
        finally:
            client.close()


def send(locked: StoreLockedError, name: str, request: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
    """Send operation ``name`` to the serve holding the store ``locked`` names; re-raise ``locked`` when no serve
    offers a control interface there (another kind of process holds it)."""
    control = read_control(locked.path, locked.pid)
    if control is None:
        raise locked
    http = urllib.request.Request(
        f"{control['url']}/v1/{name}",
        data=json.dumps(request).encode(),
        headers={"Authorization": f"Bearer {control['token']}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            answer = json.loads(exc.read())
        except ValueError:
            answer = {}
        message = answer.get("error", exc.reason)
        if answer.get("kind") == "ConfigError":  # the same refusal the command gives on a store of its own
            setting, _, detail = str(message).partition(": ")
            raise ConfigError(setting, detail or setting) from None
        raise ControlError(f"agentwatch serve (PID {control.get('pid')}) refused {name}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ControlError(
            f"agentwatch serve (PID {control.get('pid')}) holds the store but its control interface at "
            f"{control['url']} does not answer: {exc}"
        ) from None
