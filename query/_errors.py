"""ClickHouse's errors as its HTTP interface reports them: ``Code: N. DB::Exception: message (NAME)`` and a status.

The statuses follow ClickHouse's own ``exceptionCodeToHTTPStatus``, so clients that branch on them (retry or not,
ask for credentials or not) behave as they do against a server.
"""

from __future__ import annotations

import re

__all__ = ["ClickHouseError", "from_engine"]

_CODE = re.compile(r"Code:\s*(\d+)")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)")
_MESSAGE = re.compile(r"DB::Exception:\s*(?:Code:\s*\d+\.\s*DB::Exception:\s*)?(.*)", re.S)
_TRAILER = re.compile(r"\s*\(version [^)]*\)\.?(?:\s*\([A-Z][A-Z0-9_]+\))?\s*$")

_STATUS_BY_NAME = {
    "REQUIRED_PASSWORD": 401,
    **dict.fromkeys(("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE"), 403),
    **dict.fromkeys(
        (
            "BAD_ARGUMENTS",
            "CANNOT_COMPILE_REGEXP",
            "CANNOT_PARSE_TEXT",
            "CANNOT_PARSE_ESCAPE_SEQUENCE",
            "CANNOT_PARSE_QUOTED_STRING",
            "CANNOT_PARSE_DATE",
            "CANNOT_PARSE_DATETIME",
            "CANNOT_PARSE_NUMBER",
            "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
            "CANNOT_PARSE_IPV4",
            "CANNOT_PARSE_IPV6",
            "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
            "CANNOT_PARSE_UUID",
            "DUPLICATE_COLUMN",
            "ILLEGAL_COLUMN",
            "UNKNOWN_ELEMENT_IN_AST",
            "UNKNOWN_TYPE_OF_AST_NODE",
            "THERE_IS_NO_COLUMN",
            "TOO_DEEP_AST",
            "TOO_BIG_AST",
            "UNEXPECTED_AST_STRUCTURE",
            "SYNTAX_ERROR",
            "INCORRECT_DATA",
            "TYPE_MISMATCH",
            "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        ),
        400,
    ),
    **dict.fromkeys(
        (
            "UNKNOWN_TABLE",
            "UNKNOWN_FUNCTION",
            "UNKNOWN_IDENTIFIER",
            "UNKNOWN_TYPE",
            "UNKNOWN_STORAGE",
            "UNKNOWN_DATABASE",
            "UNKNOWN_SETTING",
            "UNKNOWN_DIRECTION_OF_SORTING",
            "UNKNOWN_AGGREGATE_FUNCTION",
            "UNKNOWN_FORMAT",
            "UNKNOWN_DATABASE_ENGINE",
            "UNKNOWN_TYPE_OF_QUERY",
            "UNKNOWN_ROLE",
        ),
        404,
    ),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "CANNOT_SCHEDULE_TASK": 503,
    "TOO_MANY_SIMULTANEOUS_QUERIES": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
}


class ClickHouseError(Exception):
    """A ClickHouse exception: ``code`` and ``name`` as ClickHouse numbers and names them."""

    def __init__(self, code: int, name: str, message: str, *, retry_after: int | None = None) -> None:
        self.code = code
        self.name = name
        self.message = message
        self.retry_after = retry_after  # seconds, sent as Retry-After (the endpoint is busy, not broken)
        super().__init__(f"Code: {code}. DB::Exception: {message}. ({name})")

    @property
    def status(self) -> int:
        return _STATUS_BY_NAME.get(self.name, 500)

    def render(self, version: str) -> bytes:
        return f"Code: {self.code}. DB::Exception: {self.message}. ({self.name}) (version {version})\n".encode()


def from_engine(exc: BaseException) -> ClickHouseError:
    """The engine's exception (chDB raises its text) as a :class:`ClickHouseError`."""
    text = str(exc).strip()
    code_match = _CODE.search(text)
    names = _NAME.findall(text)
    message_match = _MESSAGE.search(text)
    message = message_match.group(1) if message_match else text
    message = _TRAILER.sub("", message)
    message = re.sub(r"\.?\s*\([A-Z][A-Z0-9_]+\)\s*$", "", message).strip()
    return ClickHouseError(
        int(code_match.group(1)) if code_match else 1002, names[-1] if names else "UNKNOWN_EXCEPTION", message
    )
