"""Conversation memory that outlives a run, trimmed without breaking tool call pairs."""

from __future__ import annotations

from collections.abc import Iterable

from .types import Message, Role, text_content


def estimate_tokens(message: Message) -> int:
    """A cheap token estimate (4 characters a token), good enough for a trimming budget."""
    chars = len(text_content(message)) + len(message.tool_result or "")
    for call in message.tool_calls or ():
        chars += len(call.tool_name) + len(str(call.parameters))
    return chars // 4 + 4


class ConversationMemory:
    """Keeps the last `max_messages` messages (and at most `max_tokens`, if set).

    Trimming drops whole exchanges (a user message and everything up to the next one) from
    the front, so the history always starts with a user's question. When the newest
    exchange alone is over the limit, its oldest tool rounds go first and its question
    stays. A tool call and its results are never separated: providers refuse either alone.
    """

    def __init__(self, max_messages: int = 20, max_tokens: int | None = None) -> None:
        if max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, got {max_messages}")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1 or None, got {max_tokens}")
        self.max_messages = max_messages
        self.max_tokens = max_tokens
        self._messages: list[Message] = []

    def add(self, message: Message) -> int:
        return self.add_many([message])

    def add_many(self, messages: Iterable[Message]) -> int:
        """Append messages, then trim; returns how many messages were dropped."""
        self._messages.extend(messages)
        return self._trim()

    def get_history(self) -> list[Message]:
        return list(self._messages)

    def clear(self) -> None:
        self._messages.clear()

    def __len__(self) -> int:
        return len(self._messages)

    def _over_budget(self) -> bool:
        if len(self._messages) > self.max_messages:
            return True
        if self.max_tokens is None:
            return False
        return sum(estimate_tokens(m) for m in self._messages) > self.max_tokens

    def _trim(self) -> int:
        before = len(self._messages)
        while self._messages and self._over_budget():
            messages = self._messages
            end = _next_question(messages, 1)
            if end < len(messages):  # an older exchange: it goes whole
                del messages[:end]
                continue
            # Only the newest exchange is left: drop its oldest round, keep its question.
            start = 1 if messages[0].role == Role.USER else 0
            if start >= len(messages):
                messages.clear()  # a lone question over the token budget
                continue
            del messages[start:start + _round_length(messages, start)]
        return before - len(self._messages)


def _next_question(messages: list[Message], start: int) -> int:
    """Index of the first user message at or after `start` (len if none)."""
    for index in range(start, len(messages)):
        if messages[index].role == Role.USER:
            return index
    return len(messages)


def _round_length(messages: list[Message], start: int) -> int:
    """Length of the round at `start`: a message plus the tool results answering it."""
    end = start + 1
    while end < len(messages) and messages[end].role == Role.TOOL:
        end += 1
    return end - start
