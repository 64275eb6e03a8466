"""Where notifications go: a generic webhook (JSON, HMAC-signed), Slack incoming webhooks, and ``log``: one JSON
line per notification on standard output (agentwatch's own log is on standard error).

The webhook payload, version 1::

    {"version": 1, "id": "<notification id: the same on every retry and re-send>", "status": "firing"|"resolved",
     "rule": "...", "detector": "...", "fingerprint": "...", "severity": "...", "labels": {...}, "summary": "...",
     "value": 1.0, "evidence": ["<span id>", ...], "starts_at": "<ISO 8601>", "ends_at": "<ISO 8601>"|null,
     "session_id": "...", "agent_name": "...", "tool_name": "..."}

With a ``secret`` the request carries ``X-Agentwatch-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``
and ``X-Agentwatch-Timestamp``. Delivery is retried with backoff on timeouts, connection errors, 429 and 5xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

from agentwatch.alerts.rules import Channel
from agentwatch.errors import AgentwatchError
from agentwatch.output import json_text

__all__ = ["DeliveryError", "Notification", "deliver", "sign"]

_stdout_lock = threading.Lock()


class DeliveryError(AgentwatchError):
    """A channel could not take a notification (after its retries)."""


@dataclass
class Notification:
    id: str
    status: str
    rule: str
    detector: str
    fingerprint: str
    severity: str
    labels: dict[str, str]
    summary: str
    value: float
    evidence: list[str]
    starts_at: str
    ends_at: str | None = None
    session_id: str = ""
    agent_name: str = ""
    tool_name: str = ""
    version: int = field(default=1)

    def payload(self) -> dict[str, Any]:
        return asdict(self)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _slack(notification: Notification) -> dict[str, Any]:
    icon = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}.get(
        notification.severity, ""
    )
    state = "RESOLVED" if notification.status == "resolved" else notification.severity.upper()
    text = f"{icon} [{state}] {notification.rule}: {notification.summary}"
    context = ", ".join(f"{k}={v}" for k, v in sorted(notification.labels.items()))
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context or notification.detector}]},
        ],
    }


def _post(channel: Channel, body: bytes, headers: dict[str, str]) -> None:
    attempt, delay = 0, 0.2
    while True:
        attempt += 1
        request = urllib.request.Request(
            channel.url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=channel.timeout) as response:
                response.read()
                return
        except urllib.error.HTTPError as exc:
            retryable = exc.code == 429 or exc.code >= 500
            error = f"{channel.name}: HTTP {exc.code}"
            wait = float(exc.headers.get("Retry-After") or delay) if exc.headers else delay
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            retryable = True
            error = f"{channel.name}: {getattr(exc, 'reason', exc)}"
            wait = delay
        if not retryable or attempt > channel.retries:
            raise DeliveryError(f"{error} (after {attempt} attempt{'s' if attempt > 1 else ''})")
        time.sleep(min(wait, 10.0))
        delay = min(delay * 2, 5.0)


def deliver(channel: Channel, notification: Notification) -> None:
    """Send one notification to one channel, with retries; raise :class:`DeliveryError` when it cannot."""
    if channel.type == "log":
        with _stdout_lock:
            print(json_text({"alert": notification.payload()}), file=sys.stdout, flush=True)
        return
    if channel.type == "slack":
        _post(channel, json.dumps(_slack(notification)).encode(), {})
        return
    body = json.dumps(notification.payload(), ensure_ascii=False).encode()
    headers = {"X-Agentwatch-Notification-Id": notification.id}
    if channel.secret:
        timestamp = str(int(time.time()))
        headers["X-Agentwatch-Timestamp"] = timestamp
        headers["X-Agentwatch-Signature"] = sign(channel.secret, timestamp, body)
    _post(channel, body, headers)
