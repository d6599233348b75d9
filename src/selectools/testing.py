"""Helpers for testing your own agents without a network.

- `ScriptedProvider`: plays scripted turns in order (text, tool calls, or both); it is
  `LocalProvider(responses=...)` under a name that says what it is for.
- `TranscriptProvider`: replays recorded provider streams (an OpenAI, Anthropic or Gemini
  SSE body, or an Ollama NDJSON body, saved byte for byte) through the same decoder that
  the real provider uses, one transcript per model call. Handy for testing a UI against
  exactly what a provider sent, tool call fragments and all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal

from .providers import registry
from .providers.base import AsyncFirstProvider, StreamItem, collect_stream
from .providers.stubs import LocalProvider, Turn
from .types import Message
from .usage import UsageStats

Protocol = Literal["openai", "anthropic", "gemini", "ollama"]


class ScriptedProvider(LocalProvider):
    """Plays `turns` in order, one per model call; see `LocalProvider` for the turn forms."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        super().__init__(responses=turns)


class TranscriptProvider(AsyncFirstProvider):
    """Replays recorded streams, one per model call, through the protocol's real decoder."""

    supports_native_tools = True
    #: With `astream(..., events=True)` it yields the recorded argument fragments as the
    #: real provider would.
    call_options = frozenset({"tool_deltas"})

    def __init__(self, transcripts: Sequence[str | Path], protocol: Protocol = "openai",
                 model: str = "recorded") -> None:
        self._wire = registry.protocol(protocol)  # an unknown name is refused here
        self._bodies = [Path(t).read_bytes() for t in transcripts]
        self._next = 0
        self.protocol = protocol
        self.name = f"{protocol}-transcript"
        self.default_model = model

    async def acomplete(self, **kwargs: Any) -> tuple[Message, UsageStats]:
        message, usage = await collect_stream(self.astream(**kwargs))
        return message, usage or UsageStats(model=self.default_model, provider=self.name)

    async def astream(self, **kwargs: Any) -> AsyncIterator[StreamItem]:
        if self._next >= len(self._bodies):
            raise RuntimeError(f"TranscriptProvider has {len(self._bodies)} transcripts and "
                               "all were replayed")
        body = self._bodies[self._next]
        self._next += 1
        model = kwargs.get("model") or self.default_model
        frames = self._frames(body)
        async for item in self._wire.open_stream(frames, model,
                                                 tool_deltas=bool(kwargs.get("tool_deltas"))):
            yield item

    async def _frames(self, body: bytes) -> AsyncIterator[Any]:
        from .providers._framing import NdjsonDecoder, SseDecoder

        decoder = NdjsonDecoder() if self._wire.framing == "ndjson" else SseDecoder()
        for frame in [*decoder.feed(body), *decoder.close()]:
            yield frame
