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
    """Inflate ``body`` (``gzip`` or ``deflate``) with a hard output limit of ``limit`` bytes.

    A gzip body may hold several members (RFC 1952; ``cat a.gz b.gz``): every member is inflated, under one limit
    for them all — dropping the second one would lose data that was acknowledged.
    """
    out = bytearray()
    rest = body
    while True:
        inflater = zlib.decompressobj(wbits=_WBITS[encoding])
        try:
            out += inflater.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise MalformedBody(f"invalid {encoding} body: {exc}") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise BodyTooLarge(f"request body exceeds {limit} bytes after decompression")
        if not inflater.eof:
            raise MalformedBody(f"truncated {encoding} body")
        rest = inflater.unused_data
        if not rest or encoding == "deflate":  # deflate (zlib) has one stream; what follows it is not ours to read
            if rest:
                raise MalformedBody(f"{len(rest)} bytes follow the end of the {encoding} stream")
            return bytes(out)
