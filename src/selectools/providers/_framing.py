"""Stream framing: server-sent events and newline-delimited JSON, decoded incrementally,
and reading a finished stream to its end so that its connection is reused."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, NamedTuple

from .._json import loads as loads_json
from ._status import body_snippet
from .errors import ProviderError

# ---------------------------------------------------------------------------------------------
# Server-sent events


class SseEvent(NamedTuple):
    """One dispatched server-sent event: its `event:` name (None when absent) and its data.

    A NamedTuple, not a dataclass: one is made per streamed token, and a tuple is cheapest.
    """

    event: str | None
    data: str


#: `SseEvent(name, data)` without the Python-level `__new__` a NamedTuple's constructor
#: runs (one is made per streamed token): the tuple made directly, as `SseEvent._make` does.
_sse_event = functools.partial(tuple.__new__, SseEvent)
#: The name of each event of a read decoded in bulk: none.
_NO_NAMES = itertools.repeat(None)


class SseDecoder:
    """Incremental SSE parser (the WHATWG event-stream rules, minus `id`/`retry`).

    Feed it network chunks in any split; the events come out the same. Lines may end in
    LF, CRLF or CR, and a CRLF split across two chunks still counts as one line end.
    """

    # (slots: one decoder per stream in flight, no dict each)
    __slots__ = ("_partial", "_skip_lf", "_started", "_event", "_data")

    def __init__(self) -> None:
        # The bytes after the last line end so far, as the reads brought them: joined only
        # once their line ends, so a long line costs its length, not its length per read.
        # (Both lists are made when first needed, None until then: most streams' reads end
        # with whole events, and each stream in flight would hold two empty lists.)
        self._partial: list[bytes] | None = None
        self._skip_lf = False  # the last chunk ended in CR; an LF opening the next one is its pair
        self._started = False
        self._event: str | None = None
        #: The data lines of the event open (begun in a read, not yet ended by a blank line).
        self._data: list[str] | None = None

    def feed(self, chunk: bytes) -> list[SseEvent]:
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        # Only whole lines are decoded: a line end is ASCII, so it never splits a character.
        # Searched for in this chunk alone: the partial line before it has none.
        end = max(chunk.rfind(b"\n"), chunk.rfind(b"\r")) + 1
        partial = self._partial
        if end == len(chunk) and end:  # the usual case: the read ends with an event
            self._skip_lf = chunk[-1] == 0x0D
            if partial:
                chunk = _whole_lines(chunk, end, partial)
        else:
            whole = _lines_ended(self, chunk, end)
            if whole is None:
                return []
            chunk = whole
        text = chunk.decode("utf-8", errors="replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        if text.startswith("data: ") and not self._data and self._event is None:
            # The usual reads: nothing but whole events of one `data: ` line each, one a
            # read at a model's pace, many in a fast stream's. Their only line ends are the
            # blank lines' pairs, one at the end and one before each further "data: ": the
            # data are the pieces between those, split and made events in C, with no Python
            # step per event.
            if text.find("\n") == len(text) - 2 and text.endswith("\n\n"):  # one event
                return [_sse_event((None, text[6:-2]))]
            between = text.count("\n\ndata: ")
            if text.endswith("\n\n") and text.count("\n") == 2 * between + 2:
                datas = text[6:-2].split("\n\ndata: ")
                return list(map(_sse_event, zip(_NO_NAMES, datas, strict=False)))
        events: list[SseEvent] = []
        # Split at the blank lines that end events: each block but the last is an event's
        # lines. Most events are one `data: ` line (every token of every model API): that
        # block is its data, unless an event begun in an earlier read is still open (then
        # its lines are the rest of that event). Any other block is read line by line.
        blocks = text.split("\n\n")
        rest = blocks.pop()  # after the last blank line: "" or the lines of an open event
        for block in blocks:
            if block.startswith("data: ") and "\n" not in block and not self._data \
                    and self._event is None:
                events.append(_sse_event((None, block[6:])))
            else:
                lines = block.split("\n")
                lines.append("")  # the blank line that ended it
                self._take_lines(lines, events)
        if rest:
            lines = rest.split("\n")
            lines.pop()  # the text ends with a line end: the last piece is empty
            self._take_lines(lines, events)
        return events

    def close(self) -> list[SseEvent]:
        """Flush: a last line without its line end, and an event without its blank line."""
        events: list[SseEvent] = []
        if self._partial:
            self._take_lines([b"".join(self._partial).decode("utf-8", errors="replace")], events)
            self._partial = None
        self._take_lines([""], events)
        return events

    def _take_lines(self, lines: list[str], events: list[SseEvent]) -> None:
        if not self._started and lines:
            self._started = True
            lines[0] = lines[0].removeprefix("\ufeff")
        data = self._data
        if data is None:
            data = self._data = []
        for line in lines:
            if line.startswith("data:"):  # by far the most common line: take it first
                data.append(line[6:] if line.startswith(" ", 5) else line[5:])
            elif not line:  # a blank line dispatches the event
                if data:
                    events.append(_sse_event((self._event, data[0] if len(data) == 1
                                              else "\n".join(data))))
                    data = self._data = []
                self._event = None
            elif line[0] != ":":  # ":" opens a comment, often a keep-alive
                name, colon, value = line.partition(":")
                if colon and value.startswith(" "):
                    value = value[1:]
                if name == "data":
                    data.append(value)
                elif name == "event":
                    self._event = value or None
                # `id`, `retry` and unknown fields are ignored, as the spec allows.


def _whole_lines(chunk: bytes, end: int, partial: list[bytes]) -> bytes:
    """The complete lines so far: the pieces in `partial` (the start of a line before
    `chunk`) joined with `chunk[:end]`, where `end` is just past the chunk's last line end.
    `partial` is left holding the unfinished rest, `chunk[end:]`."""
    whole = chunk if end == len(chunk) else chunk[:end]
    if partial:
        partial.append(whole)
        whole = b"".join(partial)
        partial.clear()
    if end != len(chunk):
        partial.append(chunk[end:])
    return whole


def _lines_ended(decoder: SseDecoder | NdjsonDecoder, chunk: bytes, end: int) -> bytes | None:
    """A decoder's complete lines so far (see `_whole_lines`), its `_partial` list made
    at this first need; None when `chunk` ends no line (`end` 0): it is held whole."""
    partial = decoder._partial
    if partial is None:
        partial = decoder._partial = []
    if not end:
        if chunk:
            partial.append(chunk)
        return None
    return _whole_lines(chunk, end, partial)


class WholeJson(NamedTuple):
    """What `HttpTransport.post_events` yields, alone, when a stream was asked for and the
    server answered with one whole JSON document instead (a proxy that ignored
    `"stream": true`): the provider decodes it as that whole answer."""

    data: Any


# ---------------------------------------------------------------------------------------------
# Newline-delimited JSON


class MalformedLineError(ValueError):
    """A stream line that is not JSON."""


class NdjsonDecoder:
    """Incremental NDJSON parser: one JSON value per non-empty line, in any chunk split.

    A line that is not JSON raises `MalformedLineError` (a `ValueError`) naming the line.
    """

    __slots__ = ("_partial",)

    def __init__(self) -> None:
        # The bytes of the unfinished last line, joined once its line end arrives; None
        # until a read ends mid-line (see SseDecoder).
        self._partial: list[bytes] | None = None

    def feed(self, chunk: bytes) -> list[Any]:
        if chunk[-1:] == b"\n" and not self._partial:  # the usual case: the read ends with a line
            lines = chunk.split(b"\n")
            lines.pop()  # the chunk ends with a line end: the last piece is empty
            return [_json_line(line) for line in lines if line.strip()]
        whole = _lines_ended(self, chunk, chunk.rfind(b"\n") + 1)
        if whole is None:
            return []
        lines = whole.split(b"\n")
        lines.pop()
        return [_json_line(line) for line in lines if line.strip()]

    def close(self) -> list[Any]:
        line = b"".join(self._partial or ())
        self._partial = None
        return [_json_line(line)] if line.strip() else []


def _json_line(line: bytes) -> Any:
    try:
        return loads_json(line)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to read
        raise MalformedLineError(f"stream line is not JSON: {body_snippet(line)!r}") from None


# ---------------------------------------------------------------------------------------------
# A stream's events, one by one or by the read


class EventStream:
    """The events of a streamed answer (`HttpTransport.post_events`): an async iterator of
    events, as every decoder reads them, which also hands them out in the lists each read
    of the body brought (`batches()`, through `event_batches`). Where many events arrive
    in one read (a fast model, a proxy that buffers) a decoder reading batches saves a
    generator step per event; one read per event costs the same either way.

    Both views draw on the same reads. A decoder reads one of them, and may go on with
    events after batches (`read_to_end` after its end marker: from the next read on); the
    other way round, the batches would miss the rest of the read the events were taken
    from. `aclose()` closes the stream and its HTTP response.

    `open_batches(stream)` makes the batches' generator; it may set `stream.body` to the
    HTTP body's reader (an aiohttp StreamReader) for as long as it reads it, so that
    `received_whole` can tell whether every byte of the body is in.
    """

    __slots__ = ("_batches", "_events", "body")

    def __init__(self, open_batches: Callable[[EventStream], AsyncGenerator[list[Any], None]],
                 ) -> None:
        self.body: Any = None
        self._batches = open_batches(self)
        self._events: AsyncGenerator[Any, None] | None = None

    def received_whole(self) -> bool:
        """Whether the whole body has arrived (read or not): reading on cannot wait."""
        body = self.body
        return body is not None and body.is_eof() is True

    def batches(self) -> AsyncGenerator[list[Any], None]:
        return self._batches

    def __aiter__(self) -> AsyncGenerator[Any, None]:
        # One event iterator for the stream's life: a second `async for` (read_to_end after
        # a decoder's loop) goes on where the first stopped.
        if self._events is None:
            self._events = _one_by_one(self._batches)
        return self._events

    def __anext__(self) -> Awaitable[Any]:
        return self.__aiter__().__anext__()

    async def aclose(self) -> None:
        if self._events is not None:
            await self._events.aclose()
        await self._batches.aclose()


async def _one_by_one(batches: AsyncIterator[list[Any]]) -> AsyncGenerator[Any, None]:
    async for batch in batches:
        for event in batch:
            yield event


def event_batches(events: AsyncIterator[Any]) -> AsyncIterator[list[Any]]:
    """The events of a stream in lists: as each read brought them from an `EventStream`,
    one per list from any other iterator (a recorded transcript, a test's events)."""
    if type(events) is EventStream:
        return events.batches()
    return _EachAlone(events)


class _EachAlone:
    """Each event of `events` in a list of its own. (Not an async generator: one left
    unfinished, by a decoder that stopped at its end marker, would be closed by a task of
    the loop's when collected.)"""

    __slots__ = ("_events",)

    def __init__(self, events: AsyncIterator[Any]) -> None:
        self._events = events

    def __aiter__(self) -> _EachAlone:
        return self

    async def __anext__(self) -> list[Any]:
        return [await anext(self._events)]


# ---------------------------------------------------------------------------------------------
# The end of a stream

# How long a server may keep a stream open after its end marker before we stop waiting.
_DRAIN_LIMIT = 1.0


async def read_to_end(events: AsyncIterator[Any]) -> None:
    """Read and drop whatever follows a stream's end marker (`[DONE]`, `"done": true`).

    Normally that is only the end of the body, but it often comes in a later read, and
    aiohttp returns a connection to the pool only once its response was read to the end:
    stopping at the marker would cost a new TCP connection per call. The answer is complete
    by now, so a failure here only means the connection is not reused, and a server that
    holds the stream open is waited for `_DRAIN_LIMIT` seconds at most.
    """
    try:
        if type(events) is EventStream and events.received_whole():
            # The usual end: every byte of the body is in, so reading it cannot wait, and
            # no timer is set for it (one set and cancelled per stream cost the event
            # loop's timer heap about 500 opcodes a call).
            async for _ in events:
                pass
            return
        async with asyncio.timeout(_DRAIN_LIMIT):
            async for _ in events:
                pass
    except (ProviderError, TimeoutError):
        pass
