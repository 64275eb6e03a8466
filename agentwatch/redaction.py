"""Secret patterns masked before anything is stored: in the SDK (Python ``re``) and at the collector (RE2).

Every pattern is written in the common subset of both engines (no look-around, no back-references; scoped flags
as ``(?i:…)``), and each match is replaced whole by ``[REDACTED]``.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["BUILTIN_HINTS", "BUILTIN_PATTERNS", "REDACTED", "combined_pattern", "redact"]

REDACTED = "[REDACTED]"

BUILTIN_PATTERNS: dict[str, str] = {
    "private_key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    "openai_style_key": r"\bsk-(?:proj-|ant-|live-)?[A-Za-z0-9_-]{20,}",
    "aws_access_key": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "github_token": r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
    "slack_token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    "google_api_key": r"\bAIza[0-9A-Za-z_-]{35}",
    "stripe_key": r"\b[rs]k_live_[0-9A-Za-z]{16,}",
    "jwt": r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    "bearer_token": r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]{16,}",
    "url_password": r"//[^\s/:@]+:[^\s/@]+@",
    "password_assignment": (
        r"(?i:password|passwd|pwd|secret|api_key|apikey|access_token|auth_token)[\"']?\s*[:=]\s*[\"']?"
        r"[^\s\"',;&]{4,}"
    ),
}

EMAIL_PATTERN = r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"

# Every built-in pattern's match contains one of these (lower-cased) strings, so text containing none of them
# needs no regex at all: a cheap first look for the SDK's hot path.
BUILTIN_HINTS = (
    "private key",
    "sk-",
    "akia",
    "asia",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "aiza",
    "_live_",
    "eyj",
    "bearer",
    "//",
    "pass",
    "pwd",
    "secret",
    "api_key",
    "apikey",
    "token",
)


def combined_pattern(extra: str | list[str] = "", *, emails: bool = False) -> str:
    """One alternation of the built-in patterns, extra ones (``;;``-separated text or a list), optionally emails."""
    patterns = list(BUILTIN_PATTERNS.values())
    if isinstance(extra, str):
        extra = [p for p in extra.split(";;") if p.strip()]
    patterns += extra
    if emails:
        patterns.append(EMAIL_PATTERN)
    return "|".join(f"(?:{p})" for p in patterns)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def redact(text: str, pattern: str | None = None) -> tuple[str, int]:
    """``text`` with every secret replaced by ``[REDACTED]``, and how many were replaced."""
    return _compiled(pattern or combined_pattern()).subn(REDACTED, text)
