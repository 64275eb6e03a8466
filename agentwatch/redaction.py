"""Secret patterns masked before anything is stored: in the SDK (Python ``re``) and at the collector (RE2).

Every pattern is written in the common subset of both engines (no look-around, no back-references; scoped flags
as ``(?i:…)``), and each match is replaced whole by ``[REDACTED]``.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["BUILTIN_HINTS", "BUILTIN_PATTERNS", "PATTERN_HINTS", "REDACTED", "combined_pattern", "redact"]

REDACTED = "[REDACTED]"

# A value after a secret-named key: a quoted JSON/YAML string to its closing quote (escapes such as \" and \/ inside
# it included), or an unquoted run. The key may sit in a JSON object, JSON encoded once or more inside JSON
# (\"key\": \"…\", \\\"key\\\"…),
# a header, YAML or key=value text.
_SECRET_KEYS = (
    r"(?i:password|passwd|passphrase|pwd|secret|secret_?key|secret_?access_?key|api_?key|api-key|apikey"
    r"|access_?key|private_?key|account_?key|credentials?"
    r"|\b(?:access_|auth_|refresh_|session_|id_|bearer_|api_|sas_|security_|x-auth-|x-access-)?token)"
)
_KEY_VALUE = (
    _SECRET_KEYS + r"(?:\\*[\"'])?\s*[:=]\s*"
    r"(?:\\*\"(?:\\[\"'/\\bfnrtu]|[^\"\\])+|'[^'\n]+|(?:\\.|[^\s\"',;&\\{}\[\]])+)"
)
_TOKEN_CHARS = r"(?:[A-Za-z0-9._~+=-]|\\?/)"

BUILTIN_PATTERNS: dict[str, str] = {
    "private_key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    "openai_style_key": r"\bsk-(?:proj-|ant-|live-)?[A-Za-z0-9_-]{20,}",
    # an access key id with its 40-character secret next to it (before the id alone, so the pair goes whole)
    "aws_key_pair": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b[\s:,;|\"'=]{1,6}(?:[A-Za-z0-9+]|\\?/){40}",
    "aws_access_key": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "github_token": r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
    "huggingface_token": r"\bhf_[A-Za-z0-9]{30,}",
    "slack_token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    "google_api_key": r"\bAIza[0-9A-Za-z_-]{35}",
    "stripe_key": r"\b[rs]k_live_[0-9A-Za-z]{16,}",
    "jwt": r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    "azure_storage_key": r"(?i:accountkey|sharedaccesskey)\s*=\s*(?:[A-Za-z0-9+=]|\\?/){20,}",
    # any scheme after an Authorization header; a bearer token anywhere when it looks like one (16+ characters, or
    # a digit or symbol in it: "bearer of bad news" stays)
    "authorization_header": (
        r"(?i:authorization)(?:\\?[\"'])?\s*[:=]\s*(?:\\?[\"'])?(?i:basic|bearer|token|digest|apikey)\s+"
        + _TOKEN_CHARS
        + "+"
    ),
    "bearer_token": (
        r"(?i:bearer)\s+(?:" + _TOKEN_CHARS + "{16,}|" + _TOKEN_CHARS + r"*[0-9._~+=/-]" + _TOKEN_CHARS + "*)"
    ),
    "url_password": r"//[^\s/:@]+:[^\s/@]+@",
    "key_value_secret": _KEY_VALUE,
}

EMAIL_PATTERN = r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"

# Every match of a built-in pattern contains one of its hints (lower-cased), so text containing none of them needs
# no regex at all, and text containing some needs only the patterns they belong to: a cheap first look for the SDK.
PATTERN_HINTS: dict[str, tuple[str, ...]] = {
    "private_key": ("private key",),
    "openai_style_key": ("sk-",),
    "aws_key_pair": ("akia", "asia"),
    "aws_access_key": ("akia", "asia"),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "huggingface_token": ("hf_",),
    "slack_token": ("xox",),
    "google_api_key": ("aiza",),
    "stripe_key": ("_live_",),
    "jwt": ("eyj",),
    "azure_storage_key": ("accountkey", "sharedaccesskey"),
    "authorization_header": ("authorization",),
    "bearer_token": ("bearer",),
    "url_password": ("//",),
    "key_value_secret": ("pass", "pwd", "secret", "key", "token", "credential"),
}
BUILTIN_HINTS = tuple(dict.fromkeys(hint for hints in PATTERN_HINTS.values() for hint in hints))


def combined_pattern(
    extra: str | list[str] = "", *, emails: bool = False, builtin: tuple[str, ...] | None = None
) -> str:
    """One alternation of the built-in patterns (those named in ``builtin``, in their order; all by default), extra
    ones (``;;``-separated text or a list), optionally emails."""
    patterns = [p for name, p in BUILTIN_PATTERNS.items() if builtin is None or name in builtin]
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
