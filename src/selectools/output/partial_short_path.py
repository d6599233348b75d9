"""The partial JSON parser's short path: the plain parts of JSON, taken inline.

Most of a model's JSON is plain: strings without escapes, numbers, literals, keys and
separators. `feed` (the public parser's feed: see partial.py) takes those inline, a
string's run, its end and the next string's start in one regex match, and hands
anything else (an escape, a string past `_ALWAYS_SHOWN`, text around the value, a root
that is no container, any error) to the general scanner (`PartialScanner._feed`) at the
character where it stopped, in the state the general scanner would have reached there: a
character is then examined twice at most. It never raises, so every error is the general
scanner's. A test holds the two paths to the same values and errors
(tests/test_s9_output_short_path.py); docs/DESIGN.md, principle 10, says why it exists.
"""

from __future__ import annotations

import re
from typing import Any

from .partial_scanner import UNCHANGED, PartialScanner
from .partial_syntax import (
    _AFTER,
    _ALWAYS_SHOWN,
    _COLON,
    _DONE,
    _KEY,
    _KEY_OR_CLOSE,
    _KEY_STRING,
    _LITERAL,
    _LITERALS,
    _MAY_CLOSE,
    _NUMBER,
    _NUMBER_RUN,
    _NUMBER_START,
    _SKIP_WHITESPACE,
    _STRING,
    _VALUE,
    _VALUE_OR_CLOSE,
    _WHITESPACE,
    _number_value,
)

# The short path's step in a string: its plain run, then, if it ends, what follows up
# to the next string's opening quote; `lastindex` says which of these came.
_PIECE = re.compile(r'([^"\\\x00-\x1f]*)(?:(")[ \t\n\r]*(?:(,)[ \t\n\r]*(")?'
                    r'|(:)[ \t\n\r]*(")?|(\])|(\}))?|(\Z))?')
_AT_SPECIAL, _CLOSED, _THEN_COMMA, _THEN_COMMA_QUOTE, _THEN_COLON, _THEN_COLON_QUOTE, \
    _THEN_BRACKET, _THEN_BRACE, _TO_THE_END = range(1, 10)


def feed(parser: PartialScanner, delta: str) -> Any:
    """`PartialJSONParser.feed` (this function is that method): take the next piece of
    text; return the value if it changed, else `UNCHANGED`.

    Raises PartialJSONError when the text cannot be JSON (and again on every later call):
    the general scanner's error, since the short path hands it anything it does not take.
    """
    if not parser._short:
        return parser._feed(delta, 0, False)
    # (The short path runs inside the root container: frames[-1] is the innermost open
    # one, and holds the open string, if any.)
    frames = parser._frames
    state = parser._state
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
                    shown = parser._shown + delta[pos:]
                    if len(shown) > _ALWAYS_SHOWN:
                        break
                    parser._shown = shown
                    parser._target[parser._slot] = shown
                    parser._state = state
                    parser._offset += end
                    return parser._root  # (the usual delta's end)
                else:
                    parser._raw.append(delta[pos:])
                    parser._raw_len += end - pos
                pos = end
                break
            if kind == _AT_SPECIAL:  # an escape or a control character
                break
            piece = match.group(1)  # type: ignore[union-attr]
            container = frames[-1]
            if state == _STRING:
                if piece:
                    shown = parser._shown + piece
                    if len(shown) > _ALWAYS_SHOWN:
                        break
                    parser._target[parser._slot] = shown
                    changed = True
                parser._shown = ""
                if kind == _THEN_COMMA_QUOTE:
                    if type(container) is list:  # the next element, a string
                        container.append("")
                        changed = True
                    else:  # the next key
                        state, parser._raw_len = _KEY_STRING, 0
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
                raw = parser._raw
                if raw:
                    raw.append(piece)
                    piece = "".join(raw)
                    raw.clear()
                    parser._raw_len = 0
                parser._key = piece
                if kind == _THEN_COLON_QUOTE:  # its value, a string
                    container[piece] = ""  # type: ignore[index]
                    parser._target, parser._slot = container, piece
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
                    parser._number.append(delta[pos:])
                    pos = end
                    break
                value = _number_value("".join(parser._number) + delta[pos:run_end])
                if value is None:
                    break
                parser._number.clear()
                pos = run_end
            elif state == _LITERAL:  # begun in an earlier delta
                word, value = parser._literal_value
                wanted = word[len(parser._literal):]
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
            if char == '"':
                if state > _VALUE_OR_CLOSE:  # a key begins, if one was due
                    if state != _KEY and state != _KEY_OR_CLOSE:
                        break
                    state, parser._raw_len = _KEY_STRING, 0
                    pos += 1
                    continue
                # A string value begins.
                container = frames[-1]
                if type(container) is list:
                    container.append("")
                    parser._target, parser._slot = container, -1
                else:
                    key = parser._key
                    container[key] = ""  # type: ignore[call-overload]
                    parser._target, parser._slot = container, key
                state = _STRING
                changed = True
                pos += 1
                continue
            if char == ",":
                if state != _AFTER:
                    break
                state = _VALUE if type(frames[-1]) is list else _KEY
                pos += 1
                continue
            if char in "]}" and state in _MAY_CLOSE:  # a container closes (the one branch)
                if char != ("]" if type(frames[-1]) is list else "}"):
                    break
                frames.pop()
                state = _AFTER if frames else _DONE
                pos += 1
                continue
            if state > _VALUE_OR_CLOSE:  # no value was due: only a key's ':' is left
                if char != ":" or state != _COLON:
                    break
                state = _VALUE
                pos += 1
                continue
            # Any other value.
            if char == "{":
                value, after = {}, _KEY_OR_CLOSE
                pos += 1
            elif char == "[":
                value, after = [], _VALUE_OR_CLOSE
                pos += 1
            elif char in _NUMBER_START:
                run_end = _NUMBER_RUN.match(delta, pos).end()  # type: ignore[union-attr]
                if run_end == end:  # the number may go on in the next delta
                    parser._number.append(delta[pos:])
                    state = _NUMBER
                    pos = end
                    break
                value = _number_value(delta[pos:run_end])
                if value is None:
                    break
                after, pos = _AFTER, run_end
            else:
                literal = _LITERALS.get(char)
                if literal is None:
                    break
                word, value = literal
                if not delta.startswith(word, pos):
                    piece = delta[pos:pos + len(word)]
                    if len(piece) < len(word) and word.startswith(piece):
                        # cut by the delta's end: the rest comes next
                        state, parser._literal, parser._literal_value = _LITERAL, piece, literal
                        pos = end
                    break
                after, pos = _AFTER, pos + len(word)
        # Place the value that began (or completed) in its container.
        container = frames[-1]
        if type(container) is list:
            container.append(value)
        else:
            container[parser._key] = value  # type: ignore[call-overload]
        if after != _AFTER:
            frames.append(value)
        state = after
        changed = True
    parser._state = state
    if pos == end:
        parser._offset += end
        return parser._root if changed else UNCHANGED
    return parser._feed(delta, pos, changed)
