"""An incremental parser for JSON that arrives in pieces (a model's streamed answer).

`PartialJSONParser.feed(delta)` returns the value the text fed so far describes, or
`UNCHANGED` when the delta changed nothing visible. The value is built in place and
grows: strings grow as their characters arrive, numbers and `true`/`false`/`null` appear
once complete, a member or element appears when its value begins, and open objects and
arrays stand as if closed. So each value returned is a prefix of the next: nothing
shown is ever taken back.

Every character is examined once, whatever the deltas: the total cost stays linear in
the answer. Two things make that so. Containers are updated in place, never copied: the
value returned is the same object each time, growing (copy it to keep a snapshot). And a
string that grows past `_ALWAYS_SHOWN` characters is re-shown only once it has grown by a
sixteenth, since making the grown `str` costs its whole length: short strings follow
every delta, a long one follows within 6 % of its length, and its final text is always
exact.

Most of a model's JSON is plain: strings without escapes, numbers, literals, keys and
separators. `feed` takes those inline (a string's run, its end and the next string's
start in one regex match) and hands anything else (an escape, a string past
`_ALWAYS_SHOWN`, text around the value, a root that is no container, any error) to the
general scanner at the character where it stopped, in the state the general scanner
would have reached there: a character is then examined twice at most. A test holds the
two paths to the same values and errors (tests/test_s9_output_short_path.py).
"""

from __future__ import annotations

import json.decoder
import re
from collections.abc import Callable
from typing import Any, Final

from .errors import PartialJSONError

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

_WHITESPACE = " \t\n\r"
_SKIP_WHITESPACE = re.compile(r"[ \t\n\r]*")
# In a string, what ends a run of plain characters.
_STRING_SPECIAL = re.compile(r'["\\\x00-\x1f]')
# The short path's step in a string: its plain run, then, if it ends, what follows up
# to the next string's opening quote; `lastindex` says which of these came.
_PIECE = re.compile(r'([^"\\\x00-\x1f]*)(?:(")[ \t\n\r]*(?:(,)[ \t\n\r]*(")?'
                    r'|(:)[ \t\n\r]*(")?|(\])|(\}))?|(\Z))?')
_AT_SPECIAL, _CLOSED, _THEN_COMMA, _THEN_COMMA_QUOTE, _THEN_COLON, _THEN_COLON_QUOTE, \
    _THEN_BRACKET, _THEN_BRACE, _TO_THE_END = range(1, 10)
_NUMBER_RUN = re.compile(r"[0-9.eE+\-]*")
_NUMBER_SHAPE = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_SIMPLE_ESCAPES = frozenset('"\\/bfnrt')
_LITERALS: dict[str, tuple[str, Any]] = {"t": ("true", True), "f": ("false", False),
                                         "n": ("null", None)}
_NUMBER_START = frozenset("-0123456789")
_EXPECTED = {_VALUE: "a value", _VALUE_OR_CLOSE: "a value or ']'",
             _KEY_OR_CLOSE: "a string key or '}'", _KEY: "a string key",
             _COLON: "':'", _AFTER: "',' or the end of the container"}


class PartialJSONParser:
    """Parse one JSON value from text fed in pieces.

    `start`, when given, makes the parser lenient the way a model's answer needs: text
    before the first character in `start` (say `"{"` for an object: a code fence, a
    sentence) is skipped, and text after the value is ignored. Without it the text must
    be one JSON document, whitespace around it allowed.
    """

    __slots__ = ("_start", "_state", "_root", "_has_root", "_frames", "_offset", "_carry",
                 "_raw", "_raw_len", "_escaped", "_shown", "_target", "_slot", "_number",
                 "_literal", "_literal_value", "_key", "_error", "_string_grew", "_short")

    #: Whether the short paths are taken (a test's reference parser turns them off).
    _SHORT_PATH = True

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
        if not self._short:
            return self._feed(delta, 0, False)
        # The short path: the plain parts of JSON, taken here inline (see the module's
        # doc). It stops at anything else, leaving the state as the general scanner
        # would have it there, and hands the rest to `_feed`; it never raises, so every
        # error is the general scanner's. (It runs inside the root container: frames[-1]
        # is the innermost open one, and holds the open string, if any.)
        frames = self._frames
        state = self._state
        pos, end = 0, len(delta)
        changed = False
        value: Any
        while pos < end:
            if state == _STRING or state == _KEY_STRING:
                # A string's plain run, its end, and what follows up to the next string's
                # start, in one match.
                match = _PIECE.match(delta, pos)
                kind = match.lastindex  # type: ignore[union-attr]
                if kind == _TO_THE_END:  # the string goes on in the next delta
                    if state == _STRING:
                        shown = self._shown + delta[pos:]
                        if len(shown) > _ALWAYS_SHOWN:
                            break
                        self._shown = shown
                        self._target[self._slot] = shown
                        self._state = state
                        self._offset += end
                        return self._root  # (the usual delta's end)
                    else:
                        self._raw.append(delta[pos:])
                        self._raw_len += end - pos
                    pos = end
                    break
                if kind == _AT_SPECIAL:  # an escape or a control character
                    break
                piece = match.group(1)  # type: ignore[union-attr]
                container = frames[-1]
                if state == _STRING:
                    if piece:
                        shown = self._shown + piece
                        if len(shown) > _ALWAYS_SHOWN:
                            break
                        self._target[self._slot] = shown
                        changed = True
                    self._shown = ""
                    if kind == _THEN_COMMA_QUOTE:
                        if type(container) is list:  # the next element, a string
                            container.append("")
                            changed = True
                        else:  # the next key
                            state, self._raw_len = _KEY_STRING, 0
                    elif kind == _THEN_COMMA:
                        state = _VALUE if type(container) is list else _KEY
                    elif kind == _CLOSED:
                        state = _AFTER
                    elif kind == (_THEN_BRACKET if type(container) is list else _THEN_BRACE):
                        frames.pop()
                        state = _AFTER if frames else _DONE
                    else:  # a wrong separator: the general scanner says so
                        state = _AFTER
                        pos = delta.index('"', pos) + 1
                        break
                else:  # a key
                    raw = self._raw
                    if raw:
                        raw.append(piece)
                        piece = "".join(raw)
                        raw.clear()
                        self._raw_len = 0
                    self._key = piece
                    if kind == _THEN_COLON_QUOTE:  # its value, a string
                        container[piece] = ""  # type: ignore[index]
                        self._target, self._slot = container, piece
                        state = _STRING
                        changed = True
                    elif kind == _THEN_COLON:
                        state = _VALUE
                    else:
                        state = _COLON
                        if kind != _CLOSED:  # a wrong separator
                            pos = delta.index('"', pos) + 1
                            break
                pos = match.end()  # type: ignore[union-attr]
                continue
            if state > _AFTER:
                if state == _NUMBER:  # begun in an earlier delta
                    run_end = _NUMBER_RUN.match(delta, pos).end()  # type: ignore[union-attr]
                    if run_end == end:
                        self._number.append(delta[pos:])
                        pos = end
                        break
                    value = _number_value("".join(self._number) + delta[pos:run_end])
                    if value is None:
                        break
                    self._number.clear()
                    pos = run_end
                elif state == _LITERAL:  # begun in an earlier delta
                    word, value = self._literal_value
                    wanted = word[len(self._literal):]
                    if not delta.startswith(wanted, pos):
                        break
                    pos += len(wanted)
                else:  # the value's end
                    break
                after = _AFTER
            else:
                char = delta[pos]
                if char in _WHITESPACE:
                    pos = _SKIP_WHITESPACE.match(delta, pos).end()  # type: ignore[union-attr]
                    if pos == end:
                        break
                    char = delta[pos]
                if char == '"' and state <= _VALUE_OR_CLOSE:  # a string value begins
                    container = frames[-1]
                    if type(container) is list:
                        container.append("")
                        self._target, self._slot = container, -1
                    else:
                        key = self._key
                        container[key] = ""  # type: ignore[call-overload]
                        self._target, self._slot = container, key
                    state = _STRING
                    changed = True
                    pos += 1
                    continue
                if state == _AFTER:
                    in_list = type(frames[-1]) is list
                    if char == ",":
                        state = _VALUE if in_list else _KEY
                    elif char == ("]" if in_list else "}"):
                        frames.pop()
                        state = _AFTER if frames else _DONE
                    else:
                        break
                    pos += 1
                    continue
                if state == _KEY or state == _KEY_OR_CLOSE:
                    if char == '"':
                        state, self._raw_len = _KEY_STRING, 0
                    elif char == "}" and state == _KEY_OR_CLOSE:
                        frames.pop()
                        state = _AFTER if frames else _DONE
                    else:
                        break
                    pos += 1
                    continue
                if state == _COLON:
                    if char != ":":
                        break
                    state = _VALUE
                    pos += 1
                    continue
                # Any other value (or, after '[', the close).
                if char == "{":
                    value, after = {}, _KEY_OR_CLOSE
                    pos += 1
                elif char == "[":
                    value, after = [], _VALUE_OR_CLOSE
                    pos += 1
                elif char in _NUMBER_START:
                    run_end = _NUMBER_RUN.match(delta, pos).end()  # type: ignore[union-attr]
                    if run_end == end:  # the number may go on in the next delta
                        self._number.append(delta[pos:])
                        state = _NUMBER
                        pos = end
                        break
                    value = _number_value(delta[pos:run_end])
                    if value is None:
                        break
                    after, pos = _AFTER, run_end
                elif char == "]" and state == _VALUE_OR_CLOSE:
                    frames.pop()
                    state = _AFTER if frames else _DONE
                    pos += 1
                    continue
                else:
                    literal = _LITERALS.get(char)
                    if literal is None:
                        break
                    word, value = literal
                    if not delta.startswith(word, pos):
                        piece = delta[pos:pos + len(word)]
                        if len(piece) < len(word) and word.startswith(piece):
                            # cut by the delta's end: the rest comes next
                            state, self._literal, self._literal_value = _LITERAL, piece, literal
                            pos = end
                        break
                    after, pos = _AFTER, pos + len(word)
            # Place the value that began (or completed) in its container.
            container = frames[-1]
            if type(container) is list:
                container.append(value)
            else:
                container[self._key] = value  # type: ignore[call-overload]
            if after != _AFTER:
                frames.append(value)
            state = after
            changed = True
        self._state = state
        if pos == end:
            self._offset += end
            return self._root if changed else UNCHANGED
        return self._feed(delta, pos, changed)

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
                    self._close(pos)
                    pos += 1
                else:
                    pos = self._begin_value(text, pos, base)
                    changed = changed or self._state not in (_NUMBER, _LITERAL)
            elif state == _KEY_OR_CLOSE or state == _KEY:
                if char == '"':
                    self._state, self._raw_len, self._escaped = _KEY_STRING, 0, False
                    pos += 1
                elif char == "}" and state == _KEY_OR_CLOSE:
                    self._close(pos)
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
            self._close(pos)
        else:
            raise self._unexpected(char, base + pos)
        return pos + 1

    def _close(self, pos: int) -> None:
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
            length = self._escape_length(text, at, base)
            if length == 0:  # cut by the end of the delta: wait for the rest
                self._carry = text[at:]
                return end
            raw.append(text[at:at + length])
            self._raw_len += length
            self._escaped = True
            pos = at + length

    def _escape_length(self, text: str, at: int, base: int) -> int:
        """The length of the escape at `at`, or 0 if the text ends before it is known."""
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
        shape = _NUMBER_SHAPE.fullmatch(digits)
        if shape is None:
            raise PartialJSONError(f"invalid number {digits[:40]!r}", at - len(digits))
        try:
            number: int | float = float(digits) if shape.group(1) or shape.group(2) \
                else int(digits)
        except ValueError as exc:  # an integer past Python's digit limit, as json.loads
            raise PartialJSONError(f"number too long ({exc})", at - len(digits)) from None
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


def _number_value(digits: str) -> int | float | None:
    """The number `digits` (a whole run of number characters) write, or None if they are
    no JSON number (or one past int's digit limit): the general scanner then says why."""
    shape = _NUMBER_SHAPE.fullmatch(digits)
    if shape is None:
        return None
    if shape.lastindex:  # a fraction or an exponent
        return float(digits)
    try:
        return int(digits)
    except ValueError:
        return None


def _first_of(text: str, pos: int, characters: str) -> int:
    if len(characters) == 1:  # (an object's answer: "{")
        return text.find(characters, pos)
    found = [index for index in (text.find(c, pos) for c in characters) if index >= 0]
    return min(found) if found else -1
