"""Bounded decompression of request bodies, shared by the receivers: a gzip or deflate bomb costs at most the limit."""

from __future__ import annotations

import zlib

__all__ = ["BodyTooLarge", "MalformedBody", "inflate"]

_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class MalformedBody(ValueError):
    """The body is not valid data of its declared encoding."""


class BodyTooLarge(ValueError):
    """The body inflates past the limit."""


def inflate(body: bytes, limit: int, encoding: str = "gzip") -> bytes:
    """Inflate ``body`` (``gzip`` or ``deflate``) with a hard output limit of ``limit`` bytes."""
    inflater = zlib.decompressobj(wbits=_WBITS[encoding])
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise MalformedBody(f"invalid {encoding} body: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(f"request body exceeds {limit} bytes after decompression")
    if not inflater.eof:
        raise MalformedBody(f"truncated {encoding} body")
    return out
