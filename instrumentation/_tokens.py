"""Token counts for what a provider did not count: a stream whose request asked for no usage.

tiktoken's ``o200k_base`` encoding when tiktoken is installed and the encoding loads (it is loaded once, off the
hot path, in a thread of its own: loading may try the network); until then, and without it, about four characters
a token, the usual rule of thumb for English text with OpenAI's tokenizers. Either way the span says
``agentwatch.usage.estimated=true``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["count_tokens", "message_text"]

log = logging.getLogger("agentwatch.instrumentation")
_encoding: Any = None
_loading = threading.Lock()
_tried = False


def _load() -> None:
    global _encoding
    try:
        import tiktoken

        _encoding = tiktoken.get_encoding("o200k_base")
    except Exception as exc:  # not installed, or the encoding cannot be fetched here: the approximation stays
        log.debug("agentwatch estimates tokens as characters / 4 (tiktoken unavailable: %r)", exc)


def count_tokens(text: str) -> int:
    """Tokens in ``text``: tiktoken's count once its encoding is loaded, else ⌈characters / 4⌉."""
    global _tried
    if not text:
        return 0
    encoding = _encoding
    if encoding is not None:
        return len(encoding.encode_ordinary(text))
    if not _tried and _loading.acquire(blocking=False):
        _tried = True
        threading.Thread(target=_load, name="agentwatch-tokenizer", daemon=True).start()
    return (len(text) + 3) // 4


def message_text(messages: list[dict[str, Any]]) -> str:
    """The text of GenAI-convention messages (their parts' contents, tool arguments and responses) in one string."""
    pieces: list[str] = []
    for message in messages:
        for part in message.get("parts") or ():
            for key in ("content", "response", "arguments"):
                value = part.get(key)
                if isinstance(value, str):
                    pieces.append(value)
                elif value is not None:
                    pieces.append(str(value))
    return "\n".join(pieces)
