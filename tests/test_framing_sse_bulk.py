"""The SSE decoder's bulk path: a read holding nothing but whole events of one `data: `
line each (a fast model's tokens, coalesced) is split in one go. It must give the events
that reading the same bytes line by line gives, whatever the data say (text that looks like
a field, "data: " inside the data, empty data) and whatever else shares the read."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_framing_sse_blocks import in_reads, line_by_line

from selectools.providers._framing import SseDecoder, SseEvent

# Data without line ends (an event's single line), often looking like SSE itself.
_DATA = st.one_of(
    st.text(st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]),
            max_size=12),
    st.sampled_from(["", " ", "data: x", "data:", "{\"content\": \"a\"}", "[DONE]", ": x",
                     "event: tool", "\ufeff", "é☃"]),
)
# Now and then something the bulk path must leave to the line-by-line rules.
_OTHER = st.sampled_from(["event: tool\n", ": keep-alive\n", "\n", "data:x\n", "id: 1\n",
                          "data: a\ndata: b\n", "\r\n", "data: c\r\n\r\n"])


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.one_of(_DATA.map(lambda d: f"data: {d}\n\n"), _OTHER), max_size=30),
       data=st.data())
def test_reads_of_data_events_decode_as_lines_do(pieces: list[str], data: st.DataObject) -> None:
    raw = "".join(pieces).encode()
    expected = line_by_line(raw)
    assert in_reads(raw, []) == expected
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=8))
    assert in_reads(raw, cuts) == expected


def test_a_read_of_whole_data_events_is_those_events() -> None:
    raw = b"data: {\"a\":1}\n\ndata: \n\ndata: data: x\n\ndata: [DONE]\n\n"
    events = SseDecoder().feed(raw)
    assert events == [SseEvent(None, "{\"a\":1}"), SseEvent(None, ""),
                      SseEvent(None, "data: x"), SseEvent(None, "[DONE]")]
    assert all(type(event) is SseEvent and event.event is None for event in events)


def test_an_event_left_open_by_the_last_read_is_not_taken_in_bulk() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"event: tool\n") == []
    assert decoder.feed(b"data: a\n\ndata: b\n\n") == [SseEvent("tool", "a"), SseEvent(None, "b")]
    decoder = SseDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"data: b\n\ndata: c\n\n") == [SseEvent(None, "a\nb"),
                                                       SseEvent(None, "c")]


def test_extra_blank_lines_and_other_lines_are_read_line_by_line() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"data: a\n\n\n\ndata: b\n\n") == [SseEvent(None, "a"),
                                                           SseEvent(None, "b")]
    assert decoder.feed(b"data: c\n\nevent: x\ndata: d\n\n") == [SseEvent(None, "c"),
                                                                  SseEvent("x", "d")]
    assert decoder.feed(b"data: e\n\n: ping\n\n") == [SseEvent(None, "e")]
