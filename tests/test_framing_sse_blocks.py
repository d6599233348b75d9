"""The SSE decoder's shortcut for events of one `data: ` line (the tokens of every model API)
gives the events that reading the same bytes line by line gives, whatever else the stream
holds: event names, comments, data lines without a space, several data lines, runs of blank
lines, a byte-order mark, an event left open at the end of a read."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from selectools.providers._framing import SseDecoder, SseEvent

_LINES = st.sampled_from([
    "data: 1", "data: {\"a\": 2}", "data:2", "data:  padded ", "data", "data: ", "event: tool",
    "event:", ": keep-alive", "id: 7", "retry: 10", "", "", "", "data: é☃", "\ufeffdata: bom",
    "data: [DONE]", "other: x",
])


def line_by_line(raw: bytes) -> list[SseEvent]:
    """Each line fed alone: a read holding one line never holds a blank line after it, so
    the decoder reads every event line by line, the way the shortcut must match."""
    decoder = SseDecoder()
    events: list[SseEvent] = []
    for line in re.findall(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", raw):
        events += decoder.feed(line)
    return events + decoder.close()


def in_reads(raw: bytes, cuts: list[int]) -> list[SseEvent]:
    decoder = SseDecoder()
    events: list[SseEvent] = []
    start = 0
    for cut in sorted(set(cuts)):
        events += decoder.feed(raw[start:cut])
        start = cut
    events += decoder.feed(raw[start:])
    return events + decoder.close()


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.tuples(_LINES, st.sampled_from(["\n", "\n", "\r\n", "\r"])),
                      max_size=24),
       last_end=st.booleans(), data=st.data())
def test_blocks_decode_as_lines_do(lines: list[tuple[str, str]], last_end: bool,
                                   data: st.DataObject) -> None:
    raw = "".join(line + end for line, end in lines).encode()
    if not last_end and raw:
        raw = raw.rstrip(b"\r\n")  # a stream whose last line has no line end
    expected = line_by_line(raw)
    assert in_reads(raw, []) == expected
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=12))
    assert in_reads(raw, cuts) == expected


def test_an_event_open_across_reads_keeps_its_earlier_lines() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"event: tool\ndata: a\n") == []
    assert decoder.feed(b"data: b\n\ndata: c\n\n") == [SseEvent("tool", "a\nb"),
                                                        SseEvent(None, "c")]
    assert decoder.feed(b"data: d\n") == []
    assert decoder.feed(b"\ndata: e\n\n") == [SseEvent(None, "d"), SseEvent(None, "e")]


def test_events_are_sse_events() -> None:
    events = SseDecoder().feed(b"data: 1\n\nevent: x\ndata: 2\n\n")
    assert events == [SseEvent(None, "1"), SseEvent("x", "2")]
    assert all(type(event) is SseEvent for event in events)
    assert events[0].data == "1" and events[1].event == "x"
