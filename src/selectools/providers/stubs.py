"""LocalProvider: an offline provider with no dependencies, for demos and tests.

Two modes:

- Scripted, `LocalProvider(responses=[...])`: each model call plays the next turn, in order,
  across all calls to this instance. A turn is a `str` (a text answer), a `ToolCall`, a list
  of `ToolCall`s, or a `Message` (text and tool calls together). When the script is used up,
  the call raises `ScriptExhaustedError`.
- Unscripted (no `responses`), deterministic:
  1. If the conversation ends with tool results, it answers from them:
     "Here is what I found with <tool>: <result>" (one sentence per result).
  2. Else, if the last user message names a tool the agent offers (its name, or its name
     with underscores read as spaces, case-insensitive; the first one mentioned wins), it
     calls it, passing the rest of the message (the text without the tool's name) as the
     tool's first string parameter (no arguments if the tool has none).
  3. Else it echoes the last user message.

Streaming yields the answer word by word (each word with its trailing space), then tool
calls, then the turn's end (`TurnEnd`: "tool_calls" or "completed"), then a `UsageStats`
whose token counts are word counts. A whole answer carries the same `stop_reason`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from ..types import Message, Role, ToolCall, ToolDefinition, TurnEnd, text_content
from ..usage import UsageStats
from . import _wire
from .base import StreamItem

Turn = str | ToolCall | Sequence[ToolCall] | Message
_WORDS = re.compile(r"\s*\S+\s*")


class ScriptExhaustedError(RuntimeError):
    """A scripted LocalProvider was called more often than it has turns."""


class LocalProvider:
    name = "local"
    supports_streaming = True
    supports_async = True
    supports_native_tools = True
    default_model = "local"

    def __init__(self, responses: Sequence[Turn] | None = None) -> None:
        self._script = [_as_message(turn) for turn in responses] if responses is not None else None
        self._next_turn = 0
        self._ids = itertools.count(1)
        #: Every request received, for tests: (system_prompt, messages, tool names).
        self.requests: list[tuple[str, list[Message], list[str]]] = []

    def complete(self, *, model: str | None = None, system_prompt: str = "",
                 messages: list[Message], tools: Sequence[ToolDefinition] | None = None,
                 temperature: float | None = None, max_tokens: int = 1000,
                 timeout: float | None = None) -> tuple[Message, UsageStats]:
        answer = self._answer(system_prompt, messages, tools)
        return answer, _usage(messages, answer, model)

    async def acomplete(self, **kwargs: Any) -> tuple[Message, UsageStats]:
        return self.complete(**kwargs)

    def stream(self, *, model: str | None = None, system_prompt: str = "",
               messages: list[Message], tools: Sequence[ToolDefinition] | None = None,
               temperature: float | None = None, max_tokens: int = 1000,
               timeout: float | None = None) -> Iterator[StreamItem]:
        answer = self._answer(system_prompt, messages, tools)
        yield from _WORDS.findall(answer.content)
        yield from answer.tool_calls or ()
        if answer.stop_reason is not None:
            yield TurnEnd(answer.stop_reason)
        yield _usage(messages, answer, model)

    async def astream(self, **kwargs: Any) -> AsyncIterator[StreamItem]:
        for item in self.stream(**kwargs):
            yield item

    def _answer(self, system_prompt: str, messages: list[Message],
                tools: Sequence[ToolDefinition] | None) -> Message:
        answer = self._turn(system_prompt, messages, tools)
        answer.stop_reason = "tool_calls" if answer.tool_calls else "completed"
        return answer

    def _turn(self, system_prompt: str, messages: list[Message],
              tools: Sequence[ToolDefinition] | None) -> Message:
        self.requests.append((system_prompt, list(messages), [t.name for t in tools or ()]))
        if self._script is not None:
            return self._scripted()
        if not messages:
            raise ValueError("LocalProvider needs at least one message")
        tool_results = _trailing_tool_results(messages)
        if tool_results:
            return Message(role=Role.ASSISTANT, content=" ".join(
                f"Here is what I found with {m.tool_name or 'the tool'}: "
                f"{_wire.tool_result_text(m)}"
                for m in tool_results))
        said = _last_user_text(messages)
        call = self._call_named_tool(said, tools or ())
        if call is not None:
            return Message(role=Role.ASSISTANT, tool_calls=[call])
        return Message(role=Role.ASSISTANT, content=said)

    def _scripted(self) -> Message:
        assert self._script is not None
        if self._next_turn >= len(self._script):
            raise ScriptExhaustedError(
                f"LocalProvider was called {self._next_turn + 1} times but has "
                f"{len(self._script)} scripted turns")
        turn = self._script[self._next_turn]
        self._next_turn += 1
        calls = [ToolCall(c.tool_name, dict(c.parameters), c.id or f"local_{next(self._ids)}")
                 for c in turn.tool_calls or ()]
        return Message(role=Role.ASSISTANT, content=turn.content, tool_calls=calls or None)

    def _call_named_tool(self, said: str, tools: Sequence[ToolDefinition]) -> ToolCall | None:
        lowered = said.lower()
        found: list[tuple[int, int, ToolDefinition]] = []
        for tool in tools:
            for spelling in {tool.name.lower(), tool.name.lower().replace("_", " ")}:
                match = re.search(rf"\b{re.escape(spelling)}\b", lowered)
                if match:
                    found.append((match.start(), match.end(), tool))
                    break
        if not found:
            return None
        start, end, tool = min(found, key=lambda f: f[0])
        rest = (said[:start] + said[end:]).strip(" \t\n,.:;!?") or said
        parameter = _first_string_parameter(tool)
        arguments = {parameter: rest} if parameter else {}
        return ToolCall(tool.name, arguments, f"local_{next(self._ids)}")


def _as_message(turn: Turn) -> Message:
    if isinstance(turn, Message):
        return turn
    if isinstance(turn, str):
        return Message(role=Role.ASSISTANT, content=turn)
    if isinstance(turn, ToolCall):
        return Message(role=Role.ASSISTANT, tool_calls=[turn])
    calls = list(turn)
    if calls and all(isinstance(c, ToolCall) for c in calls):
        return Message(role=Role.ASSISTANT, tool_calls=calls)
    raise TypeError(
        f"a scripted turn must be a str, ToolCall, list of ToolCall or Message, got {turn!r}")


def _trailing_tool_results(messages: list[Message]) -> list[Message]:
    results: list[Message] = []
    for message in reversed(messages):
        if message.role != Role.TOOL:
            break
        results.append(message)
    return results[::-1]


def _last_user_text(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.role == Role.USER:
            return text_content(message)
    return text_content(messages[-1])


def _first_string_parameter(tool: ToolDefinition) -> str | None:
    properties = tool.parameters_schema.get("properties", {})
    for name, schema in properties.items():
        if schema.get("type") == "string":
            return str(name)
    return None


def _usage(messages: list[Message], answer: Message, model: str | None) -> UsageStats:
    prompt = sum(len(text_content(m).split()) if m.content_parts else len(m.content.split())
                 for m in messages)
    completion = len(answer.content.split()) + len(answer.tool_calls or ())
    return UsageStats(prompt, completion, prompt + completion, None, model or "local", "local")
