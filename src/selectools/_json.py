"""JSON on the hot paths: decoding stream events and arguments, encoding request bodies.

`loads` is `json.loads`, the same value or the same error, for less.

On the short texts a provider sends most (a stream event, a tool call's arguments),
`json.loads` spends more time in its Python layers (type checks, two regular-expression
matches for whitespace) than in decoding: about 1 us of a 1.2 us call. `loads` goes
straight to json's own C scanner when the text is exactly one JSON value, and hands
anything else (leading or trailing whitespace, a BOM, UTF-16, not JSON at all) to
`json.loads`, which decides it and words the error as always. `scan` is that scanner, for
a loop that decodes one short text per step (the OpenAI stream's events, tool arguments):
it takes a text that is exactly one JSON object itself and leaves anything else to the
general path, one Python call fewer per step.

`encode` writes a request body as compact UTF-8 JSON, with `RawJson` values at its top
level placed as they are: a part that is the same on every call (a provider's tool
definitions: often most of a request's bytes) is encoded once, not on every call.
"""

from __future__ import annotations

import json
import json.scanner
from _json import encode_basestring, encode_basestring_ascii, make_encoder
from typing import Any

# The scanner json.loads itself ends up in (the C one), built with the default options.
# (typeshed types make_scanner's argument oddly; a JSONDecoder is what it takes.)
_scan_once = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
#: `scan(text, 0)`: the JSON value at the very start of the str `text` and the index just
#: past it, as json.loads decodes it (StopIteration when no value starts there, a
#: JSONDecodeError for a value that goes wrong, RecursionError for one nested too deep,
#: TypeError for a `text` that is not a str). See the module doc.
scan = _scan_once


def loads(data: str | bytes | bytearray) -> Any:
    """`json.loads(data)`."""
    try:
        text = data if type(data) is str else data.decode()  # type: ignore[union-attr]
        value, end = _scan_once(text, 0)
    except (StopIteration, ValueError, AttributeError):
        # No value at the very start, one that goes wrong, bytes that are not UTF-8, or
        # not text at all: json.loads decides, and words the error as always. (Bytes in
        # UTF-16 or UTF-32 may decode as UTF-8, but every JSON text in them has a NUL
        # beside an ASCII character, which no JSON value may hold: they end up here too.)
        return json.loads(data)
    if end != len(text):  # something follows the value: json.loads keeps or refuses it
        return json.loads(data)
    return value


class RawJson(bytes):
    """JSON text already encoded: as a top-level value of a body given to `encode`, it is
    placed in the output as it is."""


# One encoder for every body, json's own C encoder made once: `json.JSONEncoder.encode`
# builds it anew on every call (through two Python-level calls). No circular-reference
# bookkeeping (15 % of the time): a body is built from messages and tools, and a value that
# contains itself still fails, with a RecursionError. Its output is `json.dumps(value,
# ensure_ascii=False, separators=(",", ":"))`'s.
_DEFAULT = json.JSONEncoder().default  # (raises the usual "is not JSON serializable")
_ENCODE = make_encoder(None, _DEFAULT, encode_basestring, None, ":", ",", False, False, True)
_ENCODE_ASCII = make_encoder(None, _DEFAULT, encode_basestring_ascii, None, ":", ",", False,
                             False, True)


def encode(body: Any) -> bytes:
    """`body` as compact UTF-8 JSON; top-level `RawJson` values come last, as they are."""
    if type(body) is dict and body:
        # The usual body, a request's: one RawJson, its last value (the provider's tools).
        last = next(reversed(body))
        raw = body[last]
        if type(raw) is RawJson and type(last) is str:
            plain = body.copy()
            del plain[last]
            # One text, encoded once, with json's C encoders called here (no _dumps call
            # per part). Another RawJson at the top (bytes: json refuses them), a value
            # json cannot write, or a lone surrogate: the one pass below, which decides
            # and words the error.
            try:
                text = "".join(_ENCODE(plain, 0))
                text = f"{text[:-1]},{encode_basestring(last)}:" if plain else \
                    f"{{{encode_basestring(last)}:"
                return text.encode() + raw + b"}"
            except (TypeError, UnicodeEncodeError):
                pass
        # Any other: one pass, no comprehension (each is a function call of its own).
        others: dict[Any, Any] = {}
        raws: list[bytes] = []
        for key, value in body.items():
            if type(value) is RawJson:
                raws.append(_dumps(key) + b":" + value)
            else:
                others[key] = value
        if raws:
            head = _dumps(others)[:-1] + (b"," if others else b"")
            return head + b",".join(raws) + b"}"
    return _dumps(body)


def dumps_text(value: Any) -> str:
    """`value` as compact JSON text (`json.dumps(value, ensure_ascii=False, separators=(",",
    ":"))`'s), or, when that text has no UTF-8 (half a surrogate pair: a client's lone
    "\\ud83d"), the same with JSON escapes: text that can always be sent or stored."""
    text = "".join(_ENCODE(value, 0))
    if not text.isascii():  # (a flag of the str: free for the usual ASCII text)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "".join(_ENCODE_ASCII(value, 0))
    return text


def _dumps(value: Any) -> bytes:
    try:
        return "".join(_ENCODE(value, 0)).encode()
    except UnicodeEncodeError:  # a lone surrogate (a file name's, say): escaped, as JSON can
        return "".join(_ENCODE_ASCII(value, 0)).encode()
