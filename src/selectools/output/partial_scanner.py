"""The partial JSON parser's general scanner: every state, every check, every error.

`PartialScanner` reads JSON fed in pieces character by character (a regex per run of
plain string characters), builds the value in place and keeps the state it stopped in,
so the next piece goes on from there. It is the whole parser on its own (`feed`); the
public parser (partial.py) puts the short path (partial_short_path.py) in front of it,
which hands it any text it does not take, at the character where it stopped.
"""

from __future__ import annotations

import json.decoder
from collections.abc import Callable
from typing import Any, Final

from .errors import PartialJSONError
from .partial_syntax import (
    _AFTER,
    _ALWAYS_SHOWN,
    _COLON,
    _DONE,
    _EXPECTED,
    _FAILED,
    _GROWTH,
    _KEY,
    _KEY_OR_CLOSE,
    _KEY_STRING,
    _LITERAL,
    _LITERALS,
    _NUMBER,
    _NUMBER_RUN,
    _NUMBER_START,
    _SEEK,
    _SKIP_WHITESPACE,
    _STRING,
    _STRING_SPECIAL,
    _VALUE,
    _VALUE_OR_CLOSE,
    _WHITESPACE,
    _escape_length,
    _first_of,
    _number_problem,
    _number_value,
)

# json's own string decoder (the C one): decodes from just after an opening quote.
_scanstring: Callable[[str, int], tuple[str, int]] = \
    json.decoder.scanstring  # type: ignore[attr-defined]


class _Unchanged:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNCHANGED"

    def __bool__(self) -> bool:
        return False


#: What `feed` returns when the delta changed nothing in the value.
UNCHANGED: Final = _Unchanged()


class PartialScanner:
    """`PartialJSONParser` (partial.py, where `start` is told) with no short path: the
    general scanner alone, each piece read from its first character."""

    __slots__ = ("_start", "_state", "_root", "_has_root", "_frames", "_offset", "_carry",
                 "_raw", "_raw_len", "_escaped", "_shown", "_target", "_slot", "_number",
                 "_literal", "_literal_value", "_key", "_error", "_string_grew", "_short")

    #: Whether `feed` may hand deltas to a short path (none here: see partial.py).
    _SHORT_PATH = False

    def __init__(self, *, start: str | None = None) -> None:
        if start is not None and (not start or not set(start) <= set('{["')):
            raise ValueError(f"start must be some of '{{', '[', '\"', got {start!r}")
        self._start = start
        self._state = _SEEK if start is not None else _VALUE
        self._root: Any = None
        self._has_root = False
        # The open containers, outermost first.
        self._frames: list[dict[str, Any] | list[Any]] = []
        self._offset = 0  # characters consumed before the current text
        self._carry = ""  # an escape (at most 12 characters) cut by the end of a delta
        self._raw: list[str] = []  # the open string's text not yet shown, escapes and all
        self._raw_len = 0
        self._escaped = False  # whether `_raw` holds an escape (then it needs decoding)
        self._shown = ""  # the open string as shown in the value
        # Where the open string is shown: its container (None at the root) and its key
        # there (-1 in a list: nothing is appended to it while the string is open).
        self._target: Any = None
        self._slot: Any = None
        self._number: list[str] = []
        self._literal = ""
        self._literal_value: Any = None
        self._key = ""
        self._error: PartialJSONError | None = None
        self._string_grew = False  # whether the string that just ended showed more
        self._short = False  # whether `feed` may take the next delta by its short path

    @property
    def value(self) -> Any:
        """The value so far, or `UNCHANGED` while none has begun."""
        return self._root if self._has_root else UNCHANGED

    @property
    def done(self) -> bool:
        """Whether the whole value has arrived."""
        return self._state == _DONE


    def feed(self, delta: str) -> Any:
        """Take the next piece of text; return the value if it changed, else `UNCHANGED`.

        Raises PartialJSONError when the text cannot be JSON (and again on every later
        call).
        """
        return self._feed(delta, 0, False)

    def _feed(self, delta: str, pos: int, changed: bool) -> Any:
        """The general path of `feed`, from `pos` in `delta` (where the short path
        stopped; `changed`: whether it changed the value)."""
        if self._error is not None:
            raise self._error
        text = self._carry + delta if self._carry else delta
        base = self._offset - len(self._carry)
        self._carry = ""
        try:
            changed = self._consume(text, base, pos) or changed
        except PartialJSONError as error:
            self._state, self._error, self._short = _FAILED, error, False
            raise
        self._offset = base + len(text)
        # The short path takes the next delta inside the root container, but not an
        # escape cut by this delta's end, a long string, or a key holding an escape.
        self._short = self._SHORT_PATH and bool(self._frames) and not self._carry \
            and not (self._state == _STRING and self._raw_len) and not self._escaped
        return self._root if changed else UNCHANGED

    def finish(self) -> Any:
        """End of the text: return the complete value, or raise PartialJSONError saying
        what is missing."""
        if self._error is not None:
            raise self._error
        state, at = self._state, self._offset
        if state == _NUMBER and not self._frames:
            try:
                self._complete_number(at)
            except PartialJSONError as error:
                self._state, self._error = _FAILED, error
                raise
            state = self._state
        if state == _DONE:
            return self._root
        if self._carry or state in (_STRING, _KEY_STRING):
            problem = "the text ended inside a string"
        elif state == _SEEK:
            problem = "the text holds no JSON value"
        elif state in (_NUMBER, _LITERAL):
            problem = "the text ended inside a value"
        elif self._frames:
            problem = (f"the text ended before the JSON value did ({len(self._frames)} "
                       "object(s) or array(s) left open)")
        else:
            problem = "the text holds no JSON value"
        self._state = _FAILED
        self._error = PartialJSONError(problem, at)
        raise self._error

    # The scanner. Each branch consumes what it can of `text` from `pos` and says where
    # it stopped; `changed` records whether the value visibly changed.

    def _consume(self, text: str, base: int, pos: int) -> bool:
        changed = False
        end = len(text)
        while pos < end:
            state = self._state
            if state == _STRING or state == _KEY_STRING:
                pos = self._scan_string(text, pos, base)
                if self._state == _STRING:  # still open: all of `text` was consumed
                    break
                if state == _STRING and self._string_grew:
                    changed = True
                continue
            char = text[pos]
            if char in _WHITESPACE and state != _NUMBER and state != _LITERAL:
                pos = _SKIP_WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
                continue
            if state == _AFTER:
                pos = self._after_value(char, pos, base)
            elif state == _VALUE or state == _VALUE_OR_CLOSE:
                if char == "]" and state == _VALUE_OR_CLOSE:
                    self._close()
                    pos += 1
                else:
                    pos = self._begin_value(text, pos, base)
                    changed = changed or self._state not in (_NUMBER, _LITERAL)
            elif state == _KEY_OR_CLOSE or state == _KEY:
                if char == '"':
                    self._state, self._raw_len, self._escaped = _KEY_STRING, 0, False
                    pos += 1
                elif char == "}" and state == _KEY_OR_CLOSE:
                    self._close()
                    pos += 1
                else:
                    raise self._unexpected(char, base + pos)
            elif state == _COLON:
                if char != ":":
                    raise self._unexpected(char, base + pos)
                self._state = _VALUE
                pos += 1
            elif state == _NUMBER:
                pos, changed = self._scan_number(text, pos, base, changed)
            elif state == _LITERAL:
                pos, changed = self._scan_literal(text, pos, base, changed)
            elif state == _SEEK:
                found = _first_of(text, pos, self._start or "")
                if found < 0:
                    return changed
                pos = found
                self._state = _VALUE
            elif state == _DONE:
                if self._start is not None:
                    return changed  # lenient: what follows the value is not ours
                raise PartialJSONError(f"unexpected {char!r} after the JSON value", base + pos)
            else:  # pragma: no cover - every state is handled above
                raise AssertionError(state)
        if self._state == _STRING and self._raw_len and self._worth_showing():
            self._show_string()
            changed = True
        return changed

    def _begin_value(self, text: str, pos: int, base: int) -> int:
        char = text[pos]
        if char == '"':
            self._state, self._raw_len, self._escaped, self._shown = _STRING, 0, False, ""
            self._place("")
            if self._frames:
                target = self._frames[-1]
                self._target = target
                self._slot = -1 if type(target) is list else self._key
            else:
                self._target = None
            return pos + 1
        if char == "{":
            container: dict[str, Any] | list[Any] = {}
            self._place(container)
            self._frames.append(container)
            self._state = _KEY_OR_CLOSE
            return pos + 1
        if char == "[":
            container = []
            self._place(container)
            self._frames.append(container)
            self._state = _VALUE_OR_CLOSE
            return pos + 1
        if char in _NUMBER_START:
            self._state = _NUMBER
            self._number.clear()
            return pos  # the number branch reads it
        literal = _LITERALS.get(char)
        if literal is not None:
            self._state, self._literal, self._literal_value = _LITERAL, "", literal
            return pos
        raise self._unexpected(char, base + pos)

    def _place(self, value: Any) -> None:
        """Put a value that begins into the innermost open container (or make it the
        root)."""
        if not self._frames:
            self._root, self._has_root = value, True
            return
        container = self._frames[-1]
        if type(container) is list:
            container.append(value)
        else:
            container[self._key] = value  # type: ignore[call-overload]

    def _replace_last(self, value: Any) -> None:
        """Show a new state of the string being read."""
        target = self._target
        if target is None:
            self._root = value
        else:
            target[self._slot] = value

    def _value_complete(self) -> None:
        self._state = _AFTER if self._frames else _DONE

    def _after_value(self, char: str, pos: int, base: int) -> int:
        if not self._frames:  # pragma: no cover - a root value ends in _DONE
            raise AssertionError("no container after a value")
        in_list = type(self._frames[-1]) is list
        if char == ",":
            self._state = _VALUE if in_list else _KEY
        elif char == ("]" if in_list else "}"):
            self._close()
        else:
            raise self._unexpected(char, base + pos)
        return pos + 1

    def _close(self) -> None:
        """The innermost open container's bracket: it is complete."""
        self._frames.pop()
        self._value_complete()

    # Strings: plain runs are kept as they are; escapes are checked as they arrive and
    # decoded (by json's own C decoder) when the text is shown.

    def _scan_string(self, text: str, pos: int, base: int) -> int:
        raw = self._raw
        end = len(text)
        while True:
            special = _STRING_SPECIAL.search(text, pos)
            if special is None:
                if pos < end:
                    raw.append(text[pos:])
                    self._raw_len += end - pos
                return end
            at = special.start()
            if at > pos:
                raw.append(text[pos:at])
                self._raw_len += at - pos
            char = text[at]
            if char == '"':
                self._end_string()
                return at + 1
            if char != "\\":
                raise PartialJSONError(
                    f"control character {char!r} in a string (JSON needs it escaped)", base + at)
            length = _escape_length(text, at, base)
            if length == 0:  # cut by the end of the delta: wait for the rest
                self._carry = text[at:]
                return end
            raw.append(text[at:at + length])
            self._raw_len += length
            self._escaped = True
            pos = at + length

    def _worth_showing(self) -> bool:
        shown = len(self._shown)
        return shown + self._raw_len <= _ALWAYS_SHOWN or self._raw_len * _GROWTH >= shown

    def _decode_raw(self) -> str:
        raw = "".join(self._raw)
        self._raw.clear()
        self._raw_len = 0
        if not self._escaped:
            return raw
        self._escaped = False
        return _scanstring(raw + '"', 0)[0]

    def _show_string(self) -> None:
        self._shown += self._decode_raw()
        self._replace_last(self._shown)

    def _end_string(self) -> None:
        if self._state == _KEY_STRING:
            self._key = self._decode_raw()
            self._state = _COLON
            return
        self._string_grew = self._raw_len > 0
        if self._string_grew:
            self._show_string()
        self._shown = ""
        self._value_complete()

    # Numbers and literals appear once complete.

    def _scan_number(self, text: str, pos: int, base: int, changed: bool) -> tuple[int, bool]:
        run_end = _NUMBER_RUN.match(text, pos).end()  # type: ignore[union-attr]
        if run_end > pos:
            self._number.append(text[pos:run_end])
        if run_end == len(text):
            return run_end, changed  # the number may go on in the next delta
        self._complete_number(base + run_end)
        return run_end, True

    def _complete_number(self, at: int) -> None:
        digits = "".join(self._number)
        self._number.clear()
        number = _number_value(digits)
        if number is None:
            raise _number_problem(digits, at)
        self._place(number)
        self._value_complete()

    def _scan_literal(self, text: str, pos: int, base: int, changed: bool) -> tuple[int, bool]:
        word, value = self._literal_value
        wanted = word[len(self._literal):]
        piece = text[pos:pos + len(wanted)]
        if not wanted.startswith(piece):
            raise PartialJSONError(f"invalid literal, expected {word!r}", base + pos)
        self._literal += piece
        pos += len(piece)
        if len(self._literal) < len(word):
            return pos, changed
        self._place(value)
        self._value_complete()
        return pos, True

    def _unexpected(self, char: str, at: int) -> PartialJSONError:
        expected = _EXPECTED.get(self._state, "JSON")
        return PartialJSONError(f"expected {expected}, got {char!r}", at)

