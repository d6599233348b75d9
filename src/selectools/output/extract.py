"""Find the JSON value in a model's answer.

Models asked for JSON often wrap it: in a ```json fence, or in a sentence ("Here is the
result: {...} Let me know..."). The value taken is the outermost one: the whole answer
if it is JSON; else a fence's content if it is JSON; else the first complete JSON value
that starts with one of the characters the expected type can start with (`{` for an
object, `[` for an array), searched from the left (in the first fence, then in the whole
answer), so a value nested in another is never taken for it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .._json import loads
from .errors import OutputValidationError, Problem
from .partial_syntax import _first_of

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|json5)?[ \t]*\r?\n?(.*?)(?:```|\Z)", re.DOTALL)
# A candidate that fails to decode is skipped; this many failures end the search (the
# text is then prose with braces in it, not an answer holding JSON).
_MAX_ATTEMPTS = 64


def _no_constants(name: str) -> Any:
    # json.loads accepts NaN and Infinity, which JSON does not have.
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def find_json(text: str, starts: str = "{[") -> tuple[Any, str]:
    """The outermost JSON value in `text` and its own text.

    `starts` are the characters a value of the expected type begins with; a value
    elsewhere in prose is looked for only from them. Raises OutputValidationError (path
    `$`) when there is no JSON value, naming the first JSON error found.
    """
    stripped = text.strip()
    if not stripped:
        raise OutputValidationError([Problem("$", "the answer is empty; answer with JSON only")])
    whole = _decode_whole(stripped)
    if whole is not _MISSING:
        return whole, stripped
    fences = [fence.group(1).strip() for fence in _FENCE.finditer(text)]
    for region in fences:
        inner = _decode_whole(region)
        if inner is not _MISSING:
            return inner, region
    errors: list[str] = []
    # A fence's content first (the answer meant it), then the whole text.
    for region in [*fences[:1], text]:
        found = _search(region, starts, errors)
        if found is not None:
            return found
    if errors:
        problem = f"the answer holds no valid JSON value ({errors[0]})"
    else:
        problem = "the answer holds no JSON value; answer with JSON only"
    raise OutputValidationError([Problem("$", problem)])


def _search(region: str, starts: str, errors: list[str]) -> tuple[Any, str] | None:
    """The first complete JSON value in `region` that begins with one of `starts`;
    each failed attempt's error is added to `errors`."""
    attempts = 0
    position = _first_of(region, 0, starts)
    while position >= 0 and attempts < _MAX_ATTEMPTS:
        try:
            value, end = _DECODER.raw_decode(region, position)
            return value, region[position:end]
        except (ValueError, RecursionError) as exc:
            attempts += 1
            errors.append(_describe(exc))
        position = _first_of(region, position + 1, starts)
    return None


_MISSING: Any = object()


def _decode_whole(text: str) -> Any:
    """`text` decoded if it is exactly one JSON value, else `_MISSING`."""
    try:
        value = loads(text)
    except (ValueError, RecursionError):
        return _MISSING
    # json.loads takes NaN and Infinity, which JSON does not have: the rare text that
    # could hold one is decoded again by the decoder that refuses them.
    if "NaN" in text or "Infinity" in text:
        try:
            _DECODER.decode(text)
        except (ValueError, RecursionError):
            return _MISSING
    return value


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)
