"""Comparing what a client presents with a configured secret, for every listener (collector, query endpoint)."""

from __future__ import annotations

import hmac

__all__ = ["bearer_matches", "secret_matches"]


def _bytes(text: str) -> bytes:
    # Header values arrive as str; bytes that are not UTF-8 come through as surrogates, which plain encode() rejects.
    return text.encode("utf-8", "surrogateescape")


def secret_matches(given: str, expected: str) -> bool:
    """Constant-time equality that holds for any text a client sends (non-ASCII included): a wrong secret, never
    an exception. ``hmac.compare_digest`` on ``str`` raises ``TypeError`` for non-ASCII text."""
    return hmac.compare_digest(_bytes(given), _bytes(expected))


def bearer_matches(header: str, token: str) -> bool:
    """``header`` is ``Bearer <token>`` (the scheme in any case, as RFC 7235 allows)."""
    scheme, _, value = header.strip().partition(" ")
    return scheme.lower() == "bearer" and secret_matches(value.strip(), token)
