"""Conversation memory that outlives a run, trimmed without breaking tool call pairs."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from .types import Message, Role, text_content


def estimate_tokens(message: Message) -> int:
    """A cheap token estimate (4 characters a token), good enough for a trimming budget."""
    # `or ""`: a message whose content a custom provider left as None still counts.
    chars = len(text_content(message) or "") + len(message.tool_result or "")
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
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) \
                or max_messages < 1:
            raise ValueError(f"max_messages must be at least 1 (an int), got {max_messages!r}")
        if max_tokens is not None and (isinstance(max_tokens, bool)
                                       or not isinstance(max_tokens, int) or max_tokens < 1):
            raise ValueError(f"max_tokens must be at least 1 (an int) or None, "
                             f"got {max_tokens!r}")
        self.max_messages = max_messages
        self.max_tokens = max_tokens
        self._messages: list[Message] = []
        #: A summary of what trimming dropped, when something made one; kept and saved
        #: with the messages.
        self.summary: str | None = None

    def add(self, message: Message) -> int:
        return self.add_many([message])

    def add_many(self, messages: Iterable[Message]) -> int:
        """Append messages, then trim; returns how many messages were dropped."""
        self._messages.extend(messages)
        return self._trim()

    def get_history(self) -> list[Message]:
        return list(self._messages)

    def get_recent(self, n: int) -> list[Message]:
        """The last `n` messages (all of them when there are fewer)."""
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError(f"n must be at least 1 (an int), got {n!r}")
        return self._messages[-n:]

    def clear(self) -> None:
        """Forget every message and the summary; the limits stay."""
        self._messages.clear()
        self.summary = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the limits, the messages and the summary."""
        return {"max_messages": self.max_messages, "max_tokens": self.max_tokens,
                "message_count": len(self._messages),
                "messages": [message.to_dict() for message in self._messages],
                "summary": self.summary}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationMemory:
        """The memory `to_dict` saved, exactly: the limits are not applied again to what is
        restored (they apply to what is added next)."""
        if not isinstance(data, Mapping):
            raise TypeError(f"ConversationMemory.from_dict needs a dict, got "
                            f"{type(data).__name__}")
        memory = cls(max_messages=data.get("max_messages", 20),
                     max_tokens=data.get("max_tokens"))
        memory._messages = [Message.from_dict(item) for item in data.get("messages") or []]
        memory.summary = data.get("summary")
        return memory

    def branch(self) -> ConversationMemory:
        """An independent copy: what either memory does later does not touch the other."""
        return copy.deepcopy(self)

    def __len__(self) -> int:
        return len(self._messages)

    def __bool__(self) -> bool:
        # An empty memory is still a memory: `if agent.memory:` must not read it as absent.
        return True

    def __repr__(self) -> str:
        return (f"ConversationMemory(max_messages={self.max_messages}, "
                f"max_tokens={self.max_tokens}, current_messages={len(self._messages)})")

    def _over(self, count: int, tokens: int) -> bool:
        return count > self.max_messages or (
            self.max_tokens is not None and tokens > self.max_tokens)

    def _trim(self) -> int:
        """Work out what goes in one pass, then cut once: linear in the messages, however
        many exchanges or rounds a large restored history must lose."""
        messages = self._messages
        before = count = len(messages)
        costs = [estimate_tokens(m) for m in messages] if self.max_tokens is not None else []
        tokens = sum(costs)
        # Older exchanges go whole, from the front.
        cut = 0
        while self._over(count, tokens):
            end = _next_question(messages, cut + 1)
            if end >= len(messages):
                break  # only the newest exchange is left
            count -= end - cut
            tokens -= sum(costs[cut:end])
            cut = end
        # Within the newest exchange, its oldest rounds go; its question stays (a lone
        # question over the token budget stays too: the newest message is always kept).
        rounds = cut + 1 if cut < len(messages) and messages[cut].role == Role.USER else cut
        dropped = rounds
        while dropped < len(messages) and self._over(count, tokens):
            length = _round_length(messages, dropped)
            count -= length
            tokens -= sum(costs[dropped:dropped + length])
            dropped += length
        del messages[rounds:dropped]
        del messages[:cut]
        return before - len(messages)


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
