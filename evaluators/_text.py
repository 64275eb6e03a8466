"""Text pieces the offline judge and its training script share: words, stems, numbers, names, claims."""

from __future__ import annotations

import functools
import json
import re

__all__ = [
    "STOP",
    "claims",
    "digit_runs",
    "entities",
    "identifiers",
    "is_english",
    "numbers",
    "parsed_json",
    "stem",
    "stems",
    "tokens",
    "words",
]

STOP = frozenset(
    """
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
our ours out over own same she should so some such than that the their theirs them then there these they this
those through to too under until up very was we were what when where which while who whom why will with would
you your yours yes please thanks many much tell give show get find check need want thank hello hi sure okay ok
let know here's there's it's i'm you're we're they're that's what's can't won't don't
anything else something help glad happy hope feel free welcome assist further questions question great good
day today note sorry anyway also well just really certainly course kind regards best
back go goes going went gone come comes came unless however although though whether since still even yet
already again ever every either instead rather quite almost nearly away around onto upon within without
""".split()
)
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['\-][^\W_]+)*")
_ASCII_WORD = re.compile(r"[a-z][a-z0-9]*(?:['\-][a-z0-9]+)*")
_TOKEN = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"[$€£]?\d[\d,]*(?:\.\d+)?%?")
_DIGITS = re.compile(r"\d[\d,]*(?:\.\d+)?")
_NAME = re.compile(r"\b[A-Z][\w]*[a-zA-Z][\w]*(?:[ \-][A-Z][\w]*[a-zA-Z][\w]*)*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9$€£\"'])|\n+")


# the judge reads the same texts (the answer, each source) for several metrics: each is parsed once
_cached = functools.lru_cache(maxsize=512)


@_cached
def _all_words(text: str) -> tuple[str, ...]:
    lowered = text.lower()
    return tuple((_ASCII_WORD if lowered.isascii() else _WORD).findall(lowered))  # ASCII: 40% faster


@_cached
def words(text: str) -> frozenset[str]:
    """Content words, lower-cased; any script."""
    return frozenset(_all_words(text)) - STOP


_PUNCTUATION = ".,;:!?()[]{}\"'$€£%"


@_cached
def identifiers(text: str) -> frozenset[str]:
    """Tokens with letters and digits ("A-5512", "R2-D2", "ev_81"): order numbers, ticket ids, SKUs."""
    found = set()
    for match in _DIGITS.finditer(text):  # digits are rare in prose: start from them
        start = max(text.rfind(" ", 0, match.start()), text.rfind("\n", 0, match.start())) + 1
        ends = [i for i in (text.find(" ", match.end()), text.find("\n", match.end())) if i >= 0]
        token = text[start : min(ends) if ends else len(text)].strip(_PUNCTUATION)
        if not token.replace(".", "").replace(",", "").isdigit() and any(c.isalpha() for c in token):
            found.add(token)
    return frozenset(found)


@_cached
def tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text.lower()))


# the past forms an agent confirms its actions with ("Sent.", "Paid it.") whose stem is not the verb's
_IRREGULAR = {
    "sent": "send",
    "paid": "pay",
    "made": "make",
    "wrote": "write",
    "written": "write",
    "sold": "sell",
    "bought": "buy",
    "built": "build",
    "kept": "keep",
    "held": "hold",
    "gave": "give",
    "given": "give",
    "took": "take",
    "taken": "take",
    "told": "tell",
    "found": "find",
    "chose": "choose",
    "chosen": "choose",
    "began": "begin",
    "begun": "begin",
    "spent": "spend",
    "lost": "lose",
    "met": "meet",
    "ran": "run",
    "froze": "freez",
    "frozen": "freez",
    "withdrew": "withdraw",
    "withdrawn": "withdraw",
}


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light stemmer: "invoices", "invoiced" and "invoice" meet at "invoic"; "matches" and "match" too;
    "replied" and "reply", "cancelled" and "cancel", "sent" and "send"."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) > 4 and word.endswith(("ies", "ied")):
        word = word[:-3] + "y"
    elif (len(word) > 4 and word.endswith("es") and word[-3] in "sxz") or word.endswith(("ches", "shes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif (len(word) > 5 and word.endswith("ing")) or (len(word) > 4 and word.endswith("ed")):
        word = word[: -3 if word.endswith("ing") else -2]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]  # shipped, shipping: ship
        elif len(word) > 5 and word.endswith("ell"):
            word = word[:-1]  # cancelled, labelling: cancel, label (but spelled: spell)
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


@_cached
def stems(text: str) -> frozenset[str]:
    """Stemmed content words."""
    return frozenset(stem(w) for w in words(text))


@_cached
def digit_runs(text: str) -> frozenset[str]:
    """Every number a text holds, also inside identifiers and timestamps ("2026-12-10T14:00"), with and without
    its thousands separators and leading zeros: what evidence can support."""
    found = set()
    for raw in _DIGITS.findall(text):
        found.add(raw)
        if "," in raw:
            found.add(raw.replace(",", ""))
            found.update(raw.split(","))
    found |= {d.rstrip("0").rstrip(".") for d in found if "." in d}
    return frozenset(found | {d.lstrip("0") or "0" for d in found})


@_cached
def parsed_json(text: str) -> object:
    """The JSON value of a tool result, or None when it is not JSON (parsed once for every question asked of it)."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


@_cached
def numbers(text: str) -> frozenset[str]:
    """Numbers as stated ("$1,250.00" → "1250.00", "3.0" → "3"), not digits inside words or identifiers."""
    found = set()
    for match in _NUMBER.finditer(text):
        start = match.start()
        if start and (text[start - 1].isalnum() or text[start - 1] in "._"):
            continue  # part of a word, an identifier or a decimal (the lookbehind this replaces was slow)
        value = match.group().strip("$€£%").replace(",", "")
        if value.endswith(".0"):
            value = value[:-2]
        found.add(value)
    return frozenset(found)


@_cached
def entities(text: str) -> frozenset[str]:
    """Capitalised names ("Hunt Lowry", "PostNL"), without a leading "The"; a lone capitalised word opening a
    sentence ("Unfortunately") is not taken for a name."""
    found = set()
    for match in _NAME.finditer(text):
        parts = match.group().split(" ")
        while parts and parts[0].lower() in STOP:
            parts.pop(0)
        if not parts:
            continue
        name = " ".join(parts)
        before = text[: match.start()].rstrip()
        opens_sentence = not before or before[-1] in ".!?:\n\"'"
        if len(name) > 1 and not (opens_sentence and len(parts) == 1 and name == match.group()):
            found.add(name)
    return frozenset(found)


@_cached
def claims(text: str) -> tuple[str, ...]:
    """The sentences that say something."""
    return tuple(c.strip() for c in _SENTENCE.split(text) if len(words(c)) >= 2 or numbers(c))


# function words of the languages an agent most often answers in besides English (not shared with English)
_FOREIGN = frozenset(
    """
der die das und ist nicht ein eine einen wird wurde wurden mit für auf ihre ihr sie wir ich sind haben hat etwa
noch auch oder aber bei nach zum zur vom le la les et est une des du pour avec sur dans ce cette sont vous nous
pas qui que el los las y es un una por con para del al lo su sus está están muy como pero se o em não uma os
ao da do dos das é il che di per sono della gli het een en van niet ik je zijn wordt ook voor op met
""".split()
)
_AMBIGUOUS = frozenset(("a", "an", "in", "de", "die", "also", "am", "so", "to"))
_ENGLISH = STOP - _AMBIGUOUS
_FOREIGN_ONLY = _FOREIGN - _AMBIGUOUS


@_cached
def is_english(text: str) -> bool:
    """More English function words than those of other common languages, in Latin script."""
    found = _all_words(text)
    if not found:
        return True
    if not text.isascii() and sum(not t.isascii() for t in found) > len(found) / 2:
        return False
    english = sum(map(_ENGLISH.__contains__, found))
    foreign = sum(map(_FOREIGN_ONLY.__contains__, found))
    return foreign <= english
