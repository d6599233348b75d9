"""Find tool calls that a model without native tool calling wrote as text.

A call is a JSON object naming a tool and its arguments, found in any of these forms:

    TOOL_CALL {"tool_name": "search", "parameters": {"query": "python"}}
    TOOL_CALL: {...}
    ```json
    {"name": "search", "arguments": {"query": "python"}}
    ```
    {"tool": "search", "args": "{\\"query\\": \\"python\\"}"}      (arguments as a JSON string)

Only objects naming a registered tool count, so an ordinary answer that shows some JSON is
not mistaken for a call. After an explicit `TOOL_CALL` marker the model plainly meant a call:
it is returned even when the tool is unknown or its arguments are unreadable, so the agent
can tell the model what went wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .tools import Tool
from .types import RAW_ARGUMENTS_KEY, ToolCall

_NAME_KEYS = ("tool_name", "tool", "name", "function")
_ARGUMENT_KEYS = ("parameters", "arguments", "args", "input")
# Keys a bare call object may carry besides its name and arguments.
_CALL_ENVELOPE_KEYS = frozenset({"id", "type"})
# `name` alone is too common in ordinary JSON to signal a call without an arguments key.
_UNAMBIGUOUS_NAME_KEYS = ("tool_name", "tool")
_START = re.compile(r"TOOL_CALL|\{")
_AFTER_MARKER = re.compile(r"\s*:?\s*(?:```[A-Za-z]*\s*)?")
_DECODER = json.JSONDecoder()
_DEEP_SKIP = 64


class ToolCallParser:
    """Finds the tool calls in a model's text answer, in the order they were written."""

    def __init__(self, tool_names: Iterable[str | Tool]) -> None:
        self.tool_names: frozenset[str] = frozenset(
            name.name if isinstance(name, Tool) else name for name in tool_names
        )

    def parse(self, text: str, *, id_prefix: str = "text_call") -> list[ToolCall]:
        """Every tool call written in `text`; ids are `{id_prefix}_1`, `{id_prefix}_2`, ..."""
        # Every form of a call holds a JSON object: no brace, nothing to search (and most
        # answers have none, so this is the common, cheap path).
        if not isinstance(text, str) or "{" not in text:
            return []
        found: list[tuple[str, dict[str, Any]]] = []
        position = 0
        while match := _START.search(text, position):
            if match.group() == "TOOL_CALL":
                position = self._read_marked_call(text, match.end(), found)
            else:
                position = self._read_json(text, match.start(), found)
        return [ToolCall(tool_name=name, parameters=arguments, id=f"{id_prefix}_{index}")
                for index, (name, arguments) in enumerate(found, start=1)]

    def _read_marked_call(
        self, text: str, after_marker: int, found: list[tuple[str, dict[str, Any]]]
    ) -> int:
        start = _AFTER_MARKER.match(text, after_marker)
        opening = start.end() if start else after_marker
        try:
            value, end = _decode_object(text, opening)
        except RecursionError:
            return after_marker
        if value is None:
            return after_marker
        call = _as_call(value, known=self.tool_names, explicit=True)
        if call is not None:
            found.append(call)
            return end
        found.extend(self._calls_within(value))
        return end

    def _read_json(self, text: str, opening: int, found: list[tuple[str, dict[str, Any]]]) -> int:
        try:
            value, end = _decode_object(text, opening)
        except RecursionError:
            # Nested deeper than Python's recursion limit: the braces just inside are too,
            # so skip a stretch of them rather than fail on each in turn (quadratic).
            return _after_braces(text, opening, _DEEP_SKIP)
        if value is None:
            return opening + 1
        found.extend(self._calls_within(value))
        return end

    def _calls_within(self, value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        """Call objects in a parsed JSON value, outermost first, in document order:
        `{"tool_calls": [{...}, {...}]}` and `{"type": "function", "function": {...}}` too."""
        stack: list[Any] = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                call = _as_call(node, known=self.tool_names, explicit=False)
                if call is not None:
                    yield call
                    continue
                stack.extend(reversed(list(node.values())))
            elif isinstance(node, list):
                stack.extend(reversed(node))


def _decode_object(text: str, opening: int) -> tuple[Any, int]:
    """The JSON object starting at `opening` and where it ends, or (None, opening).
    Lets RecursionError through, for the caller to skip absurdly nested text."""
    if opening >= len(text) or text[opening] != "{":
        return None, opening
    try:
        return _DECODER.raw_decode(text, opening)
    except ValueError:
        return None, opening


def _after_braces(text: str, position: int, count: int) -> int:
    for _ in range(count):
        position = text.find("{", position + 1)
        if position < 0:
            return len(text)
    return position


def _as_call(
    value: dict[str, Any], *, known: frozenset[str], explicit: bool
) -> tuple[str, dict[str, Any]] | None:
    """(tool name, arguments) when `value` is a call object, else None."""
    name_key = next((k for k in _NAME_KEYS if isinstance(value.get(k), str)), None)
    if name_key is None:
        return None
    name: str = value[name_key]
    argument_key = next((k for k in _ARGUMENT_KEYS if k in value), None)
    if not explicit:
        if name not in known:
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
