"""Find tool calls that a model without native tool calling wrote as text.

A call is a JSON object naming a tool and its arguments, found in any of these forms:

    TOOL_CALL {"tool_name": "search", "parameters": {"query": "python"}}
    TOOL_CALL: {...}
    ```json
    {"name": "search", "arguments": {"query": "python"}}
    ```
    {"tool": "search", "args": "{\\"query\\": \\"python\\"}"}      (arguments as a JSON string)

Two readers share one scanner. `TextToolCalls(tools).parse(text)` is the engine's: every call
in an answer, in order, counting only objects that name a registered tool, so an ordinary
answer that shows some JSON is not mistaken for a call. `ToolCallParser().parse(text)` is
selectools 1.x's: the first call in the text, whatever tool it names, as a `ParseResult`.
After the marker (`TOOL_CALL` unless told otherwise) the model plainly meant a call: it is
returned even when the tool is unknown or its arguments are unreadable, so the agent can tell
the model what went wrong. A marked call cut short (its object never closes) or malformed
(it closes, but is not JSON) is returned with its text as unreadable arguments when its
leading members name the tool, and nothing inside it is read as a call of its own:
its arguments are data the model wrote, and an object among them that names a tool (a plan,
a quoted call) is not a call it made. `TextToolCalls.parse(text, marked_only=True)` reads
only marked calls: for an answer that is JSON by design (typed output), where a bare object
shaped like a call is the answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ._dataclass import DataclassMethods
from .tools import Tool
from .types import RAW_ARGUMENTS_KEY, ToolCall

_NAME_KEYS = ("tool_name", "tool", "name", "function")
_ARGUMENT_KEYS = ("parameters", "arguments", "args", "params", "input")
# Keys a bare call object may carry besides its name and arguments.
_CALL_ENVELOPE_KEYS = frozenset({"id", "type"})
# `name` alone is too common in ordinary JSON to signal a call without an arguments key.
_UNAMBIGUOUS_NAME_KEYS = ("tool_name", "tool")
# Where a call may begin, besides the marker: a brace opening an object whose first key and
# the start of its value look like JSON. Code (`{ if`, `{"x": a}`), `{}` and `{{` are passed
# over by the regex instead of each costing a failed decode.
_OBJECT_START = r'\{(?=\s*"(?:[^"\\\x00-\x1f]|\\.)*"\s*:\s*["{\[\-0-9tfn])'
_AFTER_MARKER = re.compile(r"\s*:?\s*(?:```[A-Za-z]*\s*)?")
# One member of an object, up to its value: `"key": ` (possessive: no backtracking).
_MEMBER_KEY = re.compile(r'\s*("(?:[^"\\]++|\\.)*+")\s*:\s*', re.DOTALL)
_MEMBER_SEPARATOR = re.compile(r"\s*,")
# An object whose first member names a tool, as every form of a call writes it: the name.
_NAMED_OPENING = re.compile(
    r'\{\s*"(?:tool_name|tool|name|function)"\s*:\s*("(?:[^"\\]++|\\.)*+")')
_SINGLE_QUOTED_OBJECT = re.compile(r"\{\s*'")
_DECODER = json.JSONDecoder()

# The cost of one parse is bounded, whatever the text (a model can be made to write anything):
#: the longest call object looked for, unless a reader is given another bound; each decode
#: reads at most this much of the text, and first only `_FIRST_WINDOW` of it (most objects
#: fit; a failure far shorter is final).
_MAX_PAYLOAD_CHARS = 32_768
_FIRST_WINDOW = 2_048
#: decodes tried per text; a text with more JSON openings than this is not a tool call.
_MAX_ATTEMPTS = 10_000
#: openings skipped after one nested deeper than Python's recursion limit (the ones just
#: inside it are too deep as well).
_DEEP_SKIP = 1_024
#: how much re-reading the openings inside a failed object may cost, as a multiple of its
#: length, before the rest of it is skipped (see _Scan).
_NESTED_REREAD = 2

#: (tool name, arguments) of one call found.
_Found = tuple[str, dict[str, Any]]


class _CallFinder:
    """The one scanner: finds call objects in a text, in the order they were written.

    `known` is the set of tool names a call without the marker must name; None accepts any
    name (selectools 1.x's reader, which knows no tools)."""

    __slots__ = ("known", "marker", "max_payload_chars", "_start", "_marked", "_extent")

    def __init__(self, known: frozenset[str] | None, marker: str,
                 max_payload_chars: int) -> None:
        if not isinstance(marker, str) or not marker.strip():
            raise TypeError(f"marker must be a non-empty string, not {marker!r}")
        if (isinstance(max_payload_chars, bool) or not isinstance(max_payload_chars, int)
                or max_payload_chars < 0):
            raise ValueError("max_payload_chars must be an int >= 0 (0: the library's own "
                             f"bound, {_MAX_PAYLOAD_CHARS}), not {max_payload_chars!r}")
        self.known = known
        self.marker = marker
        # 0 asks for no bound of the caller's; the library's own then holds (an unbounded
        # decode window would make a parse quadratic in a text full of openings).
        self.max_payload_chars = max_payload_chars or _MAX_PAYLOAD_CHARS
        self._start = re.compile(f"(?P<marker>{re.escape(marker)})|{_OBJECT_START}")
        self._marked = re.compile(f"(?P<marker>{re.escape(marker)})")
        # The tokens that delimit a marked object that failed to decode (see _extent_of):
        # a string (to its closing quote, or the end of a text that cuts it), a brace, and
        # what cannot stand inside JSON outside a string: a code fence or the next marker.
        self._extent = re.compile(
            r'"(?:[^"\\]++|\\.?)*+(?:(?P<closed>")|\Z)|[{}]|```|' + re.escape(marker),
            re.DOTALL)

    def find(self, text: str, *, first_only: bool = False,
             marked_only: bool = False) -> list[_Found]:
        """The calls in `text`; with `first_only`, the first one written after the marker
        or, if none is, the first one at all (a call object shown as an example before the
        model's marked call is not the call it makes); with `marked_only`, only the calls
        written after the marker.

        Linear in the text: each candidate opening is decoded at most once, from a bounded
        window, and a text with more than `_MAX_ATTEMPTS` openings is searched that far."""
        # Every form of a call holds a JSON object: no brace, nothing to search (and most
        # answers have none, so this is the common, cheap path).
        if not isinstance(text, str) or "{" not in text:
            return []
        # A call outside a marker names a known tool: without either, nothing to look for.
        known = self.known
        if marked_only:
            if self.marker not in text:
                return []
            start = self._marked
        elif (known is not None and self.marker not in text
                and not any(name in text for name in known)):
            return []
        else:
            start = self._start
        found: list[_Found] = []
        scan = _Scan(text, min(self.max_payload_chars, _FIRST_WINDOW), self.max_payload_chars)
        position = 0
        while scan.attempts_left and (match := start.search(text, position)):
            if match.lastgroup == "marker":
                before = len(found)
                position = self._read_marked_call(scan, match.end(), found)
                if first_only and len(found) > before:
                    return [found[before]]
                if position == match.end():
                    # No object after this marker. Of the markers before the next brace,
                    # only the last can introduce it: go straight there (a text of markers
                    # and no objects costs one search, not one step per marker).
                    brace = text.find("{", position)
                    if brace < 0:
                        break
                    last = text.rfind(self.marker, position, brace)
                    position = last if last >= 0 else brace
            else:
                position = self._read_json(scan, match.start(), found)
        return found[:1] if first_only else found

    def _read_marked_call(self, scan: _Scan, after_marker: int, found: list[_Found]) -> int:
        start = _AFTER_MARKER.match(scan.text, after_marker)
        opening = start.end() if start else after_marker
        if not scan.text.startswith("{", opening):
            return after_marker
        value, end = scan.decode(opening)
        single_quoted = value is None and _SINGLE_QUOTED_OBJECT.match(scan.text, opening)
        if single_quoted:
            value, end = scan.decode_single_quoted(opening, end)
        if value is None:
            # Never search on from inside it (`end` may be): whatever its arguments hold,
            # shaped like a call or not, is part of this call, not a call of its own.
            return self._read_failed_call(scan, opening, bool(single_quoted), found)
        call = _as_call(value, known=self.known, explicit=True)
        if call is not None:
            found.append(call)
            return end
        found.extend(self._calls_within(value))
        return end

    def _read_failed_call(self, scan: _Scan, opening: int, single_quoted: bool,
                          found: list[_Found]) -> int:
        """A marked object at `opening` that did not decode: where its text ends (the
        search resumes there). One whose leading members name a tool, cut short or closed
        but malformed (a comma left out, a trailing one), is that tool's call with its text
        as unreadable arguments: the tool refuses them with an error the model reads and
        can answer by writing the call again. (selectools 1.x passed a malformed call over,
        and the run ended with the call's text as its answer.)"""
        end, cut = self._extent_of(scan.text, opening)
        if not cut and end - opening > scan.max_window:
            return end  # whole, but longer than a call may be: not read, like a valid one
        written = scan.text[opening:min(end, opening + scan.max_window)].rstrip()
        members = _leading_members(written.replace("'", '"') if single_quoted else written)
        call = _as_call(members, known=self.known, explicit=True) if members else None
        if call is not None:
            found.append((call[0], {RAW_ARGUMENTS_KEY: written}))
        return end

    def _extent_of(self, text: str, opening: int) -> tuple[int, bool]:
        """(where the object opening at `opening` ends, whether it is cut short): after
        the brace that closes it, or, cut, where a code fence or the next marker stands
        outside its strings, else at the end of the text. Only for a call object that
        failed to decode; the search resumes after it, so the text is read once however
        many do."""
        depth = 0
        for token in self._extent.finditer(text, opening):
            first = token.group()[0]
            if first == "{":
                depth += 1
            elif first == "}":
                depth -= 1
                if not depth:
                    return token.end(), False
            elif first == '"':
                if token.group("closed") is None:
                    return len(text), True  # a string still open at the end of the text
            else:  # a fence or a marker: the object stopped before it
                return token.start(), True
        return len(text), True

    def _read_json(self, scan: _Scan, opening: int, found: list[_Found]) -> int:
        value, end = scan.decode(opening)
        if value is not None:
            found.extend(self._calls_within(value))
        elif end == opening + 1 and self._names_a_tool(scan.text, opening):
            # A call object, cut or malformed, without the marker: not read (its arguments
            # are not), and neither is anything inside it, for the reason a marked one's
            # inside is not (an object among its arguments is not a call the model made).
            # Another failed object is searched inside: a wrapper's complete calls count.
            return self._extent_of(scan.text, opening)[0]
        return end

    def _names_a_tool(self, text: str, opening: int) -> bool:
        """Whether the object at `opening` begins by naming a tool (one of `known`)."""
        named = _NAMED_OPENING.match(text, opening)
        if named is None:
            return False
        try:
            name = json.loads(named.group(1))
        except ValueError:
            return False
        return self.known is None or name in self.known

    def _calls_within(self, value: Any) -> list[_Found]:
        """Call objects in a parsed JSON value, outermost first, in document order:
        `{"tool_calls": [{...}, {...}]}` and `{"type": "function", "function": {...}}` too."""
        calls: list[_Found] = []
        stack: list[Any] = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                call = _as_call(node, known=self.known, explicit=False)
                if call is not None:
                    calls.append(call)
                    continue
                children: Iterable[Any] = reversed(node.values())
            else:
                children = reversed(node)
            stack.extend(child for child in children if isinstance(child, (dict, list)))
        return calls


class TextToolCalls:
    """The engine's reader: every tool call in a model's text answer, in the order written.

    Only calls naming one of `tools` count, unless written after the marker."""

    def __init__(self, tools: Iterable[str | Tool], *, marker: str = "TOOL_CALL",
                 max_payload_chars: int = _MAX_PAYLOAD_CHARS) -> None:
        if isinstance(tools, str):
            raise TypeError("tools must be an iterable of tool names or Tools, not one str")
        self.tool_names: frozenset[str] = frozenset(
            name.name if isinstance(name, Tool) else name for name in tools)
        self._finder = _CallFinder(self.tool_names, marker, max_payload_chars)

    def parse(self, text: str, *, id_prefix: str = "text_call",
              marked_only: bool = False) -> list[ToolCall]:
        """Every tool call written in `text`; ids are `{id_prefix}_1`, `{id_prefix}_2`, ...

        With `marked_only`, only calls written after the marker count: for an answer that
        is JSON by design (typed output), where a bare object naming a tool is data."""
        return [ToolCall(tool_name=name, parameters=arguments, id=f"{id_prefix}_{index}")
                for index, (name, arguments) in enumerate(
                    self._finder.find(text, marked_only=marked_only), start=1)]


@dataclass(repr=False, eq=False)  # repr and eq from DataclassMethods: none compiled at import
class ParseResult(DataclassMethods):
    """What `ToolCallParser.parse` found: the first tool call (None if there was none) and
    the text it read."""

    tool_call: ToolCall | None
    raw_text: str


class ToolCallParser:
    """selectools 1.x's reader: the first tool call written in a text, naming any tool.

    `marker` introduces a call (`TOOL_CALL: {...}`); a call object without it is found too.
    A call object longer than `max_payload_chars` is not read (0: the library's own bound,
    32,768 characters); each candidate object costs at most that much reading. Calls are
    read as `TextToolCalls` reads them, by the same scanner.
    """

    def __init__(self, marker: str = "TOOL_CALL", max_payload_chars: int = 8000) -> None:
        self._finder = _CallFinder(None, marker, max_payload_chars)
        self._max_payload_chars = max_payload_chars

    # Read-only: the scanner is built from them once.
    @property
    def marker(self) -> str:
        return self._finder.marker

    @property
    def max_payload_chars(self) -> int:
        return self._max_payload_chars

    def parse(self, text: str) -> ParseResult:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        found = self._finder.find(text, first_only=True)
        if not found:
            return ParseResult(tool_call=None, raw_text=text)
        name, arguments = found[0]
        return ParseResult(tool_call=ToolCall(tool_name=name, parameters=arguments),
                           raw_text=text)


class _Scan:
    """One text being searched: decodes the JSON object at an opening, at a bounded cost.

    Each decode reads a window of the text that starts at the opening: json's errors count
    the lines before the failure, so a decode on the whole text would cost the text before
    it too (quadratic on a text full of openings).

    Complete objects inside one that failed to decode decode on their own, so a call in a
    malformed or cut answer is still found. The other openings inside it are the objects
    enclosing its failure point, and each fails there again (JSON never backtracks): that
    costs the depth times the length, so once re-reading them has cost `_NESTED_REREAD`
    times the failed object's length (never, for the few levels a real answer has), the
    rest of it is skipped.
    """

    __slots__ = ("text", "attempts_left", "_first_window", "max_window", "_failed_from",
                 "_failed_until", "_reread")

    def __init__(self, text: str, first_window: int, max_window: int) -> None:
        self.text = text
        self._first_window = first_window
        self.max_window = max_window
        self.attempts_left = _MAX_ATTEMPTS
        # The last failed decode that was not inside another: where it began and stopped.
        self._failed_from = self._failed_until = -1
        self._reread = 0  # characters read again by failed decodes inside it

    def decode(self, opening: int) -> tuple[Any, int]:
        """(the object at `opening`, where it ends), or (None, where to search on)."""
        self.attempts_left -= 1
        text = self.text
        try:
            try:
                value, length = _DECODER.raw_decode(text[opening:opening + self._first_window])
            except json.JSONDecodeError as exc:
                if (opening + self._first_window >= len(text)
                        or self._first_window >= self.max_window or not _cut_by_window(exc)):
                    raise
                value, length = _DECODER.raw_decode(text[opening:opening + self.max_window])
        except ValueError as exc:
            stop = opening + getattr(exc, "pos", 0)
            until = self._failed_until
            if opening < until <= stop:  # inside the last failure, and failing there too
                self._reread += stop - opening
                if self._reread > _NESTED_REREAD * (until - self._failed_from):
                    self._failed_from = self._failed_until = -1
                    return None, until
            else:
                self._failed_from, self._failed_until, self._reread = opening, stop, 0
            return None, opening + 1
        except RecursionError:
            return None, _after_braces(text, opening)
        return value, opening + length

    def decode_single_quoted(self, opening: int, on_failure: int) -> tuple[Any, int]:
        """A call written with Python's quotes after the marker, `{'tool_name': 'x'}`:
        decoded with its quotes made JSON's (as selectools 1.x reads it), from one bounded
        window; (None, `on_failure`) if that is not an object either."""
        self.attempts_left -= 1
        text = self.text
        try:
            try:
                value, length = _DECODER.raw_decode(
                    text[opening:opening + self._first_window].replace("'", '"'))
            except json.JSONDecodeError as exc:
                if (opening + self._first_window >= len(text)
                        or self._first_window >= self.max_window or not _cut_by_window(exc)):
                    raise
                value, length = _DECODER.raw_decode(
                    text[opening:opening + self.max_window].replace("'", '"'))
        except (ValueError, RecursionError):
            return None, on_failure
        return (value, opening + length) if isinstance(value, dict) else (None, on_failure)


def _cut_by_window(error: json.JSONDecodeError) -> bool:
    """Whether a decode may have failed only because its window ended: at the window's end
    (a literal or number cut short ends a few characters before it), or in a string that
    was still open there (json reports where such a string began)."""
    return error.pos >= len(error.doc) - 8 or error.msg.startswith("Unterminated string")


def _after_braces(text: str, position: int) -> int:
    """Where the `_DEEP_SKIP`th brace after `position` is (the end of the text if fewer)."""
    skipped = _DEEP_BRACES.match(text, position + 1)
    return skipped.end() - 1 if skipped else len(text)


_DEEP_BRACES = re.compile(rf"(?:[^{{]*+\{{){{{_DEEP_SKIP}}}")


def _as_call(
    value: dict[str, Any], *, known: frozenset[str] | None, explicit: bool
) -> _Found | None:
    """(tool name, arguments) when `value` is a call object, else None. Without the marker
    (`explicit`) it must name a tool of `known` (any tool, when None)."""
    for name_key in _NAME_KEYS:
        name = value.get(name_key)
        if isinstance(name, str):
            break
    else:
        return None
    argument_key = next((k for k in _ARGUMENT_KEYS if k in value), None)
    if not name:
        return None
    if not explicit:
        if known is not None and name not in known:
            return None
        if argument_key is None and (
            name_key not in _UNAMBIGUOUS_NAME_KEYS
            or set(value) - {name_key} - _CALL_ENVELOPE_KEYS
        ):
            return None
    arguments = _arguments(value.get(argument_key) if argument_key else None)
    if arguments is None:
        if not explicit:
            return None
        arguments = {RAW_ARGUMENTS_KEY: _raw_text(value.get(argument_key or ""))}
    return name, arguments


def _leading_members(written: str) -> dict[str, Any]:
    """The members at the start of an object's text that decode, up to the first that
    does not (or the end of a text cut short): `{"tool_name": "x", "parameters": {...`
    gives {"tool_name": "x"}. Each value is decoded once, in place (no slice per member)."""
    members: dict[str, Any] = {}
    position = 1  # after the opening brace
    while key := _MEMBER_KEY.match(written, position):
        try:
            name = json.loads(key.group(1))
            members[name], position = _DECODER.raw_decode(written, key.end())
        except (ValueError, RecursionError):
            break
        separator = _MEMBER_SEPARATOR.match(written, position)
        if separator is None:
            break
        position = separator.end()
    return members


def _arguments(value: Any) -> dict[str, Any] | None:
    """The arguments as a dict: given as an object, as a JSON string, or absent."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            return None
        return decoded if isinstance(decoded, dict) else None
    return None


def _raw_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):
        return repr(type(value))


def tool_instructions(tools: Sequence[Tool]) -> str:
    """The system-prompt text telling a model without native tool calling how to call
    `tools`: the TOOL_CALL form, then each tool's name, description and JSON schema."""
    if not tools:
        return ""
    listed = "\n\n".join(
        f"- {t.name}: {t.description or '(no description)'}\n"
        f"  Parameters (JSON schema): {json.dumps(t.parameters_schema, ensure_ascii=False)}"
        for t in tools
    )
    return (
        "You can call tools. To call one, write a line with TOOL_CALL followed by a JSON "
        "object giving the tool's name and its arguments, exactly like this:\n"
        'TOOL_CALL {"tool_name": "<tool name>", "parameters": {<arguments as JSON>}}\n'
        "Arguments must match the tool's JSON schema. To call several tools, write one "
        "TOOL_CALL line for each. After your tool calls, stop: each tool's result comes back "
        "to you in the next message. When you need no tool, answer normally, without "
        "TOOL_CALL.\n\n"
        f"Available tools:\n\n{listed}"
    )
