"""What both paths of the partial JSON parser read JSON by: the states the parser is in
(what it expects next), the patterns of JSON's pieces, and the checks of a number and of
an escape. The general scanner (partial_scanner.py) and the short path
(partial_short_path.py) share these, so the two cannot drift apart on what JSON is."""

from __future__ import annotations

import re
from typing import Any

from .errors import PartialJSONError

# A string this short is re-shown on every delta; a longer one once it grew by 1/16.
_ALWAYS_SHOWN = 4096
_GROWTH = 16

# What the parser expects next.
_SEEK = 0  # lenient mode: text before the value, skipped
_VALUE = 1  # a value (at the start, after ':' or after ',' in an array)
_VALUE_OR_CLOSE = 2  # just after '['
_KEY_OR_CLOSE = 3  # just after '{'
_KEY = 4  # after ',' in an object
_COLON = 5
_AFTER = 6  # after a value: ',' or the container's close
_STRING = 7
_KEY_STRING = 8
_NUMBER = 9
_LITERAL = 10
_DONE = 11
_FAILED = 12

#: The states in which the innermost container may close (with its own bracket).
_MAY_CLOSE = frozenset({_VALUE_OR_CLOSE, _KEY_OR_CLOSE, _AFTER})
_EXPECTED = {_VALUE: "a value", _VALUE_OR_CLOSE: "a value or ']'",
             _KEY_OR_CLOSE: "a string key or '}'", _KEY: "a string key",
             _COLON: "':'", _AFTER: "',' or the end of the container"}

_WHITESPACE = " \t\n\r"
_SKIP_WHITESPACE = re.compile(r"[ \t\n\r]*")
# In a string, what ends a run of plain characters.
_STRING_SPECIAL = re.compile(r'["\\\x00-\x1f]')
_NUMBER_START = frozenset("-0123456789")
_NUMBER_RUN = re.compile(r"[0-9.eE+\-]*")
_NUMBER_SHAPE = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_LITERALS: dict[str, tuple[str, Any]] = {"t": ("true", True), "f": ("false", False),
                                         "n": ("null", None)}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_SIMPLE_ESCAPES = frozenset('"\\/bfnrt')


def _number_value(digits: str) -> int | float | None:
    """The number `digits` (a whole run of number characters) write, or None if they are
    no JSON number (or one past int's digit limit): `_number_problem` then says why."""
    shape = _NUMBER_SHAPE.fullmatch(digits)
    if shape is None:
        return None
    if shape.lastindex:  # a fraction or an exponent
        return float(digits)
    try:
        return int(digits)
    except ValueError:
        return None


def _number_problem(digits: str, at: int) -> PartialJSONError:
    """Why `digits`, the number run that ends at `at`, is no number `_number_value` reads."""
    if _NUMBER_SHAPE.fullmatch(digits) is None:
        return PartialJSONError(f"invalid number {digits[:40]!r}", at - len(digits))
    try:
        int(digits)
    except ValueError as exc:  # an integer past Python's digit limit, as json.loads
        return PartialJSONError(f"number too long ({exc})", at - len(digits))
    raise AssertionError(f"{digits!r} is a number")  # pragma: no cover


def _escape_length(text: str, at: int, base: int) -> int:
    """The length of the escape at `at` in a string, or 0 if the text ends before it is
    known (`base`: the text's position in the whole, for the error)."""
    end = len(text)
    if at + 1 >= end:
        return 0
    kind = text[at + 1]
    if kind in _SIMPLE_ESCAPES:
        return 2
    if kind != "u":
        raise PartialJSONError(f"invalid escape '\\{kind}' in a string", base + at)
    if at + 6 > end:
        if not _HEX4.fullmatch(text[at + 2:end].ljust(4, "0")):
            raise PartialJSONError("invalid \\u escape in a string", base + at)
        return 0
    if not _HEX4.fullmatch(text, at + 2, at + 6):
        raise PartialJSONError("invalid \\u escape in a string", base + at)
    if text[at + 2] in "dD" and text[at + 3] in "89abAB":
        # A high surrogate: a low one may follow, and the two make one character, so
        # both must be decoded together.
        follow = text[at + 6:at + 12]
        if len(follow) < 6 and "\\u".startswith(follow[:2]) and (
                len(follow) < 3 or follow[2] in "dD"):
            return 0
        if len(follow) == 6 and follow[:2] == "\\u" and follow[2] in "dD" \
                and follow[3] in "cdefCDEF" and _HEX4.fullmatch(follow, 2):
            return 12
    return 6


def _first_of(text: str, pos: int, characters: str) -> int:
    """Where the first of `characters` is in `text` from `pos`, or -1."""
    if len(characters) == 1:  # (an object's answer: "{")
        return text.find(characters, pos)
    found = [index for index in (text.find(c, pos) for c in characters) if index >= 0]
    return min(found) if found else -1
