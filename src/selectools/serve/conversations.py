"""Conversations kept by id, in memory, and the transcript of a run read off its events.

`Conversations` holds at most `limit` conversations (the least recently used goes first),
each trimmed to its last `max_messages` messages by ConversationMemory's policy (whole
exchanges go from the front; a tool call never loses its results), so a server that many
browsers talk to, or one long conversation, does not grow without bound. It is what the
WebSocket continues from, and what /api/chat continues from when a body sends only its new
`message`; a body with the whole `messages` (useChat's default) is taken as the truth and
replaces what was kept for its id.

`RunTranscript` rebuilds what a run added to a conversation from the `events=True` stream
the endpoints read anyway: per iteration, the assistant's text and calls, then the calls'
results; the final answer is the AgentResult's message. (A typed-output repair prompt is not
kept: the conversation holds the answer the user saw.)
"""

from __future__ import annotations

from collections import OrderedDict

from ..memory import ConversationMemory
from ..types import AgentResult, Message, Role, StreamChunk, ToolCall


class Conversations:
    def __init__(self, limit: int = 1000, max_messages: int = 200) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        ConversationMemory(max_messages=max_messages)  # refuses a bad limit, naming it
        self.limit = limit
        self.max_messages = max_messages
        self._histories: OrderedDict[str, list[Message]] = OrderedDict()

    def get(self, conversation_id: str) -> list[Message]:
        history = self._histories.get(conversation_id)
        if history is None:
            return []
        self._histories.move_to_end(conversation_id)
        return list(history)

    def put(self, conversation_id: str, history: list[Message]) -> None:
        kept = list(history)
        if len(kept) > self.max_messages:
            # The library's one trimming policy, the memory's, applied on a scratch memory.
            trimmer = ConversationMemory(max_messages=self.max_messages)
            trimmer.add_many(kept)
            kept = trimmer.get_history()
        self._histories[conversation_id] = kept
        self._histories.move_to_end(conversation_id)
        while len(self._histories) > self.limit:
            self._histories.popitem(last=False)

    def __len__(self) -> int:
        return len(self._histories)

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._histories


class RunTranscript:
    """Feed it a run's items; `messages()` is what the run added, once it has ended."""

    def __init__(self) -> None:
        self._added: list[Message] = []
        #: The iteration's text so far. One list for the whole run (cleared, never
        #: replaced): the server appends a text delta's content to it itself, its common
        #: case, as `feed` would (held to `feed` by a test).
        self.text: list[str] = []
        self._calls: list[ToolCall] = []
        self._results: dict[str, Message] = {}
        self.result: AgentResult | None = None

    def feed(self, item: StreamChunk | AgentResult) -> None:
        if isinstance(item, AgentResult):
            self.result = item
            return
        event = item.event
        if event is None:
            if item.content:
                self.text.append(item.content)
            elif item.tool_calls:
                self._calls.extend(item.tool_calls)
        elif event == "tool_result":
            data = item.data
            self._results[data["call_id"]] = Message(
                role=Role.TOOL, content=str(data["result"]), tool_call_id=data["call_id"],
                tool_name=data["tool_name"])
        elif event == "iteration_end":
            self._end_iteration()
        elif event == "fallback":
            self.text.clear()  # the answer restarted on another provider
            self._calls.clear()

    def _end_iteration(self) -> None:
        ran = [call for call in self._calls if call.id in self._results]
        if ran:
            self._added.append(Message(role=Role.ASSISTANT, content="".join(self.text),
                                       tool_calls=ran))
            self._added.extend(self._results[call.id] for call in ran if call.id)
        self.text.clear()
        self._calls.clear()
        self._results.clear()

    def messages(self) -> list[Message]:
        """The run's turns; the last is the final answer (when the run had one)."""
        added = list(self._added)
        final = self.result.message if self.result is not None else None
        if final is not None and final.content:
            # Without its calls: a routing answer's calls were never run.
            added.append(Message(role=Role.ASSISTANT, content=final.content,
                                 reasoning=final.reasoning))
        return added
