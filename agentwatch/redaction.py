"""Secret patterns masked before anything is stored: in the SDK (Python ``re``) and at the collector (RE2).

Every pattern is written in the common subset of both engines (no look-around, no back-references; scoped flags
as ``(?i:…)``), and each match is replaced whole by ``[REDACTED]``.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["BUILTIN_HINTS", "BUILTIN_PATTERNS", "PATTERN_HINTS", "REDACTED", "combined_pattern", "redact"]

REDACTED = "[REDACTED]"

# A value after a secret-named key (Authorization included): an auth scheme and its token, a quoted JSON/YAML string
# to its closing quote (escapes such as \" and \/ inside it included), or an unquoted run. The key may sit in a JSON
# object, in JSON encoded once or more inside JSON (\"key\": \"…\"), a header, YAML or key=value text. Written with
# few alternatives: the collector's RE2 matches all patterns as one automaton, and its size sets the speed.
_SECRET_KEYS = (
    r"(?i:pass(?:word|wd|phrase)|pwd|secret(?:_?(?:access_?)?key)?|api[_-]?key|(?:access|private|account)_?key"
    r"|credentials?|_pass\b"
    r"|\b(?:(?:access|auth|refresh|session|id|bearer|api|sas|security)_|x-(?:auth|access)-)?token)"
)
_TOKEN_CHARS = r"[A-Za-z0-9._~+=/\\-]"  # \ too: JSON writes / as \/
_KEY_VALUE = (
    _SECRET_KEYS + r"(?:\\*[\"'])?\s*[:=]\s*"
    r"(?:(?i:basic|bearer|digest|token)\s+" + _TOKEN_CHARS + r"+"
    r"|\\*\"(?:\\[\"'/\\bfnrtu]|[^\"\\])+|'[^'\n]+|(?:\\.|[^\s\"',;&\\{}\[\]])+)"
)

BUILTIN_PATTERNS: dict[str, str] = {
    # a PEM or PGP private key block; one whose END marker was cut off (captured content is cut to length) is masked
    # to the end of the text, so no key material is kept
    "private_key": (
        r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|$)"
    ),
    "openai_style_key": r"\bsk-(?:proj-|ant-|live-)?[A-Za-z0-9_-]{20,}",
    # an access key id with its 40-character secret next to it (before the id alone, so the pair goes whole)
    "aws_key_pair": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b[\s:,;|\"'=]{1,6}[A-Za-z0-9+/\\]{40,44}",
    "aws_access_key": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "github_token": r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
    "huggingface_token": r"\bhf_[A-Za-z0-9]{30,}",
    "slack_token": r"\b(?:xox[abprs]|xapp)-[A-Za-z0-9-]{10,}",
    # also as JSON escapes it (an array value is stored as JSON: \/)
    "webhook_url": (r"(?i:hooks\.slack\.com\\?/services|discord(?:app)?\.com\\?/api\\?/webhooks)\\?/[A-Za-z0-9/_\\-]+"),
    "stripe_webhook_secret": r"\bwhsec_[A-Za-z0-9+/=]{16,}",
    "gitlab_token": r"\bglpat-[A-Za-z0-9_-]{20,}",
    "npm_token": r"\bnpm_[A-Za-z0-9]{36}\b",
    "sendgrid_key": r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
    "twilio_key": r"\bSK[0-9a-fA-F]{32}\b",
    "azure_sas_signature": r"\bsig=[A-Za-z0-9%+/=]{16,}",
    # a cookie header's name=value pairs, and curl's -u user:password
    "cookie_header": r"(?i:set-cookie|cookie)\s*:\s*[^\s=;,]+=[^\r\n]*",
    "curl_user": r"(?i:curl)\b[^\r\n]*?\s(?:-u|--user)\s*[^\s:]+:[^\s]+",
    # Authorization: a scheme and its token, or a token-like value (prose such as "approved by the manager" stays)
    "authorization": (
        r"(?i:authorization)(?:\\*[\"'])?\s*[:=]\s*(?:\\*[\"'])?(?:(?i:basic|bearer|digest|token|negotiate|apikey)\s+"
        + _TOKEN_CHARS
        + "+|"
        + _TOKEN_CHARS
        + "{20,})"
    ),
    "google_api_key": r"\bAIza[0-9A-Za-z_-]{35}",
    "stripe_key": r"\b[rs]k_live_[0-9A-Za-z]{16,}",
    "jwt": r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    "azure_storage_key": r"(?i:accountkey|sharedaccesskey)\s*=\s*[A-Za-z0-9+=/\\]{20,}",
    # a bearer token anywhere when it looks like one (16+ characters, or a digit or symbol in it: "bearer of bad
    # news" stays); after an Authorization key, any scheme is taken by key_value_secret
    "bearer_token": (
        r"(?i:bearer)\s+(?:" + _TOKEN_CHARS + "{16,}|" + _TOKEN_CHARS + r"*[0-9._~+=/-]" + _TOKEN_CHARS + "*)"
    ),
    # also as JSON escapes it (\/\/user:pass@), with no user (redis://:pass@) and with @ in the password (to the last @)
    # an AWS secret access key on its own (no key id or key name beside it): a 40-character word of base64 characters
    # with a capital among its first 8 (a generated key lacks one once in 100; a git SHA or any lower-case hex has
    # none). Written for RE2: "a capital somewhere" costs 40 alternatives, "among the first 8" 8 short ones (+8 % on
    # the collector's redaction instead of +150 %, measured). The SDK has no hint for it: see _content.bare_keys.
    "aws_secret_bare": (
        r"\b(?:"
        + "|".join(f"[a-z0-9/+]{{{k}}}[A-Z][A-Za-z0-9/+]{{{7 - k}}}" for k in range(7))
        + r"|[a-z0-9/+]{7}[A-Z])[A-Za-z0-9/+]{32}\b"
    ),
    "url_password": r"\\?/\\?/[^\s/:@]*:[^\s/]+@",
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
    "slack_token": ("xox", "xapp-"),
    "webhook_url": ("hooks.slack.com", "discord"),
    "stripe_webhook_secret": ("whsec_",),
    "gitlab_token": ("glpat-",),
    "npm_token": ("npm_",),
    "sendgrid_key": ("sg.",),
    "twilio_key": ("sk",),
    "azure_sas_signature": ("sig=",),
    "cookie_header": ("cookie",),
    "curl_user": ("curl",),
    "authorization": ("authorization",),
    "google_api_key": ("aiza",),
    "stripe_key": ("_live_",),
    "jwt": ("eyj",),
    "azure_storage_key": ("accountkey", "sharedaccesskey"),
    "bearer_token": ("bearer",),
    "aws_secret_bare": (),  # no text it must contain: the SDK looks for a 40-character base64 run instead
    "url_password": ("@",),
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
