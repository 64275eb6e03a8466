"""Evidence as text however an agent hands it over: a retrieval tool's JSON, a list of chunks, a markdown table,
a Python dict printed as text, or a conversation pasted into the user's message.

The judge reads prose for phrasing (which words a source states together) and every value for specifics (names,
numbers, ids). A JSON document list is prose wrapped in a few keys; an order record is facts. So the long string
leaves of any JSON are prose, the short ones and the scalars are facts ("key: value"), and a source counts as
structured when its facts outweigh its prose. Strings under a document's usual keys (``content``,
``page_content``, ``documents``…) are prose whatever their length.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from agentwatch.evaluators._text import parsed_json

__all__ = ["Unwrapped", "history_text", "is_conversation", "split_conversation", "unwrap"]

# a string leaf with this many words, or a sentence of a few words, is prose; shorter ones are fields
_PROSE_WORDS = 8
_SENTENCE_WORDS = 4
_MAX_LITERAL = 200_000  # a Python literal longer than this is read as text (parsing it is not free)
_MAX_DEPTH = 12  # nested JSON deeper than this is read as it is
# keys whose strings are documents whatever their length (retrievers', search engines' and RAG tools' names)
_PROSE_KEYS = frozenset(
    """
documents document docs doc content contents text texts page_content passage passages chunk chunks snippet
snippets body summary context contexts excerpt extract abstract description answer article paragraph
""".split()
)


@dataclass(frozen=True)
class Unwrapped:
    prose: tuple[str, ...]  # documents, chunks, sentences
    facts: tuple[str, ...]  # "key: value" lines: ids, numbers, names, flags
    structured: bool = False  # a record: its values' text outweighs its prose (a document list is not)


@functools.lru_cache(maxsize=512)
def unwrap(text: str) -> Unwrapped:
    """A tool result's prose and facts."""
    data = parsed_json(text)
    if data is None and text.lstrip()[:1] in ("{", "[") and len(text) <= _MAX_LITERAL:
        data = _python_literal(text)
    if data is not None:
        prose: list[str] = []
        facts: list[str] = []
        values = _walk(data, "", prose, facts, 0)
        # a piece said twice is evidence once (the same note on every event of a tracking history)
        pieces = tuple(dict.fromkeys(prose))
        return Unwrapped(pieces, tuple(dict.fromkeys(facts)), values > sum(map(len, pieces)))
    if "|" in text and _TABLE_RULE.search(text):
        return _table(text)
    return Unwrapped((text,), ())


def _python_literal(text: str) -> object:
    """A dict or list printed by Python (``str(result)``, as CrewAI and LangChain tools hand results over)."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) else None


def _is_prose(text: str) -> bool:
    count = len(text.split())
    return count >= _PROSE_WORDS or (count >= _SENTENCE_WORDS and text.rstrip()[-1] in ".!?")


def _walk(value: object, key: str, prose: list[str], facts: list[str], depth: int) -> int:
    """Collect ``value``'s prose and facts; returns the length of the facts' values (their weight against prose)."""
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return 0
        inner = parsed_json(stripped) if stripped[0] in "[{" and depth < _MAX_DEPTH else None
        if inner is not None:  # JSON encoded in a string (a tool result recorded as a string of JSON)
            return _walk(inner, key, prose, facts, depth + 1)
        if key.lower() in _PROSE_KEYS or _is_prose(stripped):
            prose.append(stripped)
            return 0
        facts.append(f"{key}: {stripped}" if key else stripped)
        return len(stripped)
    if isinstance(value, dict) and depth < _MAX_DEPTH:
        return sum(_walk(v, str(k), prose, facts, depth + 1) for k, v in value.items())
    if isinstance(value, list) and depth < _MAX_DEPTH:
        return sum(_walk(v, key, prose, facts, depth + 1) for v in value)
    if value is None:
        return 0
    rendered = json.dumps(value) if isinstance(value, (bool, dict, list)) else str(value)
    facts.append(f"{key}: {rendered}" if key else rendered)
    return len(rendered)


_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$", re.M)


def _table(text: str) -> Unwrapped:
    """A markdown table's rows as "header: cell" facts (long cells are prose); the text around it is prose."""
    prose: list[str] = []
    facts: list[str] = []
    header: list[str] = []
    values = 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if "|" not in stripped:
            if stripped:
                prose.append(stripped)
            header = []
            continue
        if _TABLE_RULE.match(line):
            continue
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        if not header and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            header = cells
            continue
        for name, cell in zip(header or [""] * len(cells), cells, strict=False):
            if not cell:
                continue
            if _is_prose(cell):
                prose.append(cell)
            else:
                facts.append(f"{name}: {cell}" if name else cell)
                values += len(cell)
    return Unwrapped(tuple(prose), tuple(facts), values > sum(map(len, prose)))


# speaker labels of a conversation pasted into one message: "[Human]: …", "User: …" at a line's start
_SPEAKER = re.compile(
    r"\[(?P<bracketed>human|user|assistant|ai|bot|agent|customer|system)\]\s*:|"
    r"(?:^|\n)\s*(?P<plain>human|user|assistant|ai|bot|agent|customer|system)\s*:",
    re.I,
)
_ASKS = frozenset(("human", "user", "customer"))
_ROLES = {"human": "user", "user": "user", "customer": "user", "system": "system"}


_TURN = re.compile(r"^\s*\[?(?:user|human|assistant|ai|customer|bot|agent)\]?\s*:", re.I | re.M)


def is_conversation(history: str) -> bool:
    """Whether the text before the question holds turns of a conversation, not only a system prompt (as the worker
    renders an agent's instructions: "system: …")."""
    stripped = history.strip()
    if not stripped:
        return False
    return not stripped.lower().startswith("system:") or bool(_TURN.search(stripped))


def history_text(turns: Iterable[tuple[str, str]]) -> str:
    """Earlier turns as the judge reads a conversation: a "role: text" line each (the worker renders recorded chat
    messages so, and an inline conversation is split into the same)."""
    return "\n".join(f"{role}: {text}" for role, text in turns if text)


def split_conversation(message: str) -> tuple[str, str]:
    """(the asker's last turn, the turns before it as "user: …" / "assistant: …" lines, as the worker renders
    chat messages) of a message that pastes a conversation; the message itself and "" when it does not (two
    speakers at least, one of them answering)."""
    if ":" not in message:
        return message, ""
    turns = [
        (m.start(), m.end(), (m.group("bracketed") or m.group("plain")).lower()) for m in _SPEAKER.finditer(message)
    ]
    if len(turns) < 2 or not any(role not in _ASKS and role != "system" for *_, role in turns):
        return message, ""
    last = max((i for i, t in enumerate(turns) if t[2] in _ASKS), default=None)
    if last is None or not message[turns[last][1] :].strip():
        return message, ""
    before = [
        (_ROLES.get(role, "assistant"), message[end : turns[i + 1][0] if i + 1 < len(turns) else len(message)].strip())
        for i, (_, end, role) in enumerate(turns[:last])
    ]
    history = history_text(before)
    preamble = message[: turns[0][0]].strip()
    return message[turns[last][1] :].strip(), f"{preamble}\n{history}".strip() if preamble else history
