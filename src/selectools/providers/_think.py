"""Reasoning written into the answer's text as `<think>...</think>`.

Reasoning models served without a reasoning parser (DeepSeek-R1 and its distills, QwQ,
Qwen3 on a plain llama.cpp server, vLLM without `--reasoning-parser`, LM Studio, older
Ollama) begin their answer's content with their reasoning between these tags. Left in,
it would be shown as the answer, kept in `result.content`, parsed as typed output and
sent back to the model. Only a block that opens the content counts (after whitespace): a
tag later in an answer is the answer's own text (a model explaining HTML, say).

The reasoning becomes what a reasoning API would have sent: ReasoningDeltas while it
streams and one `ReasoningPart(protocol=THINK_TAGS)` when it ends, which no protocol
sends back (the chat templates of these models drop earlier turns' reasoning anyway).
"""

from __future__ import annotations

from ..types import ReasoningDelta, ReasoningPart

THINK_TAGS = "think-tags"
OPEN, CLOSE = "<think>", "</think>"

_START, _THINKING, _AFTER, _PLAIN = range(4)
Piece = str | ReasoningDelta | ReasoningPart


def split_think(content: str) -> tuple[ReasoningPart | None, str]:
    """A whole answer's opening reasoning block, and the answer without it."""
    if OPEN not in content:  # (most answers: found without copying the text)
        return None, content
    stripped = content.lstrip()
    if not stripped.startswith(OPEN):
        return None, content
    end = stripped.find(CLOSE, len(OPEN))
    if end < 0:  # the model stopped while still thinking: there is no answer
        return ReasoningPart(stripped[len(OPEN):].strip(), protocol=THINK_TAGS), ""
    thought = stripped[len(OPEN):end].strip()
    return ReasoningPart(thought, protocol=THINK_TAGS), stripped[end + len(CLOSE):].lstrip()


class ThinkSplitter:
    """The same for a streamed answer, fed its text deltas in any split.

    Until the content shows whether it opens with the tag, its first characters are
    held (at most the tag's length, plus leading whitespace); after the block, or when
    there is none, every delta passes through as it is, after one test.
    """

    __slots__ = ("_state", "_held", "_thought")

    def __init__(self) -> None:
        self._state = _START
        self._held = ""  # text not yet passed on: a possible tag, or its end's start
        self._thought: list[str] = []

    @property
    def plain(self) -> bool:
        """Whether every further delta is answer text (no block, or the block is over)."""
        return self._state == _PLAIN

    def feed(self, text: str) -> list[Piece]:
        state = self._state
        if state == _PLAIN:
            return [text]
        text = self._held + text
        self._held = ""
        if state == _START:
            stripped = text.lstrip()
            if len(stripped) < len(OPEN) and OPEN.startswith(stripped):
                self._held = text  # "", whitespace, or the tag's beginning: not known yet
                return []
            if not stripped.startswith(OPEN):
                self._state = _PLAIN
                return [text]
            self._state = _THINKING
            return self._thinking(stripped[len(OPEN):].lstrip())
        if state == _THINKING:
            return self._thinking(text)
        return self._after(text)

    def close(self) -> list[Piece]:
        """The end of the answer: what was held, and a block the model never closed."""
        held, self._held = self._held, ""
        state, self._state = self._state, _PLAIN
        if state == _THINKING:
            self._thought.append(held)
            return [*([ReasoningDelta(held)] if held else []), self._part()]
        return [held] if held and state == _START else []

    def _thinking(self, text: str) -> list[Piece]:
        end = text.find(CLOSE)
        if end >= 0:
            pieces: list[Piece] = []
            if end:
                self._thought.append(text[:end])
                pieces.append(ReasoningDelta(text[:end]))
            pieces.append(self._part())
            self._state = _AFTER
            return pieces + self._after(text[end + len(CLOSE):])
        # Hold back a tail that may be the closing tag's beginning.
        keep = 0
        for size in range(min(len(CLOSE) - 1, len(text)), 0, -1):
            if CLOSE.startswith(text[-size:]):
                keep = size
                break
        shown = text[:len(text) - keep]
        self._held = text[len(text) - keep:]
        if not shown:
            return []
        self._thought.append(shown)
        return [ReasoningDelta(shown)]

    def _after(self, text: str) -> list[Piece]:
        # The whitespace between the block and the answer is neither.
        text = text.lstrip()
        if not text:
            return []
        self._state = _PLAIN
        return [text]

    def _part(self) -> ReasoningPart:
        thought = "".join(self._thought).strip()
        self._thought = []
        return ReasoningPart(thought, protocol=THINK_TAGS)
