"""The served stream's short path for text deltas, held to the general one.

`EventStream` writes a text delta (most of a run's items) with the mapping's `text(content)`
and appends its content to the transcript itself; every other item goes through `feed`
(the mapping's and the transcript's). Here: the two give the same bytes and the same kept
conversation, for any text (hypothesis), and a run served through real uvicorn writes
exactly what the general path writes for the same items."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_serve_support import TOOL_RUN, get_weather, post, user_message, uvicorn_in_process

from selectools import Agent, AgentResult, Message, Role, StreamChunk
from selectools.serve.agui import AgUiStream
from selectools.serve.conversations import RunTranscript
from selectools.serve.ui_stream import (
    DELTA_TAIL,
    DONE,
    UIMessageStream,
    delta_frame,
    delta_head,
    quote,
    sse,
)
from selectools.testing import TranscriptProvider

Item = StreamChunk | AgentResult

#: Any text, lone surrogates and JSON's own characters included.
TEXT = st.text(st.characters(exclude_categories=()), min_size=1) | st.text(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1) | st.sampled_from(
    ['"}\n\ndata: {"type":"finish"}', "caf\u00e9 \u2603 \U0001f600", "\ud800", "\\",
     "\r\n\t\x00", "</script>"])


def _text(content: str) -> StreamChunk:
    return StreamChunk(content=content)


def _other(kind: str, argument: str, index: int) -> StreamChunk:
    if kind == "reasoning":
        return StreamChunk(content=argument, event="reasoning")
    if kind == "tool_call_delta":
        return StreamChunk(content="", event="tool_call_delta", data={
            "index": index, "call_id": f"call_{index}", "tool_name": "get_weather",
            "arguments_delta": argument})
    if kind == "tool_calls":  # a chunk with calls and no text: nothing to show
        return StreamChunk(content="")
    return StreamChunk(content="", event=kind, data={"iteration": index + 1})


ITEMS = st.lists(TEXT.map(_text) | st.builds(
    _other, st.sampled_from(["reasoning", "tool_call_delta", "tool_calls", "iteration_start",
                             "iteration_end", "fallback"]), TEXT, st.integers(0, 1)),
    max_size=30)


@contextmanager
def counted_ids() -> Iterator[None]:
    """The mappings' ids counted from 1 (uuid4 otherwise), so that two runs compare."""
    numbers = itertools.count(1)

    def new_id(prefix: str) -> str:
        return f"{prefix}_{next(numbers)}"

    with mock.patch("selectools.serve.ui_stream.new_id", new_id), \
            mock.patch("selectools.serve.agui.new_id", new_id), \
            mock.patch("selectools.serve._calls.new_id", new_id):
        yield


def general(mapping: Any, transcript: RunTranscript, item: Item) -> bytes:
    transcript.feed(item)
    return b"".join(map(sse, mapping.feed(item)))


def short(mapping: Any, transcript: RunTranscript, item: Item) -> bytes:
    """What EventStream.pump does with an item: a text delta by `text`, then (the part
    open) by its head, which a `feed` forgets."""
    if type(item) is StreamChunk and item.event is None and item.content:
        transcript.text.append(item.content)
        head = getattr(mapping, "_pump_head", None)
        if head is not None:  # delta_frame, inline as pump writes it
            return head + quote(item.content).encode() + DELTA_TAIL
        data = bytes(mapping.text(item.content))
        mapping._pump_head = mapping.text_head()
        return data
    mapping._pump_head = None
    return general(mapping, transcript, item)


def both_ways(make: Any, items: list[Item]) -> None:
    results = []
    for way in (general, short):
        with counted_ids():
            mapping, transcript = make(), RunTranscript()
            frames = [way(mapping, transcript, item) for item in items]
        transcript.feed(AgentResult(message=Message(role=Role.ASSISTANT, content="end")))
        results.append((frames, transcript.messages()))
    assert results[0] == results[1]
    for frames, _ in results:
        for frame in frames:  # each frame compact JSON, as json.dumps writes it
            for event in frame.split(b"\n\n")[:-1]:
                assert event.startswith(b"data: ")
                value = json.loads(event[6:])
                assert event[6:] == json.dumps(value, separators=(",", ":")).encode()


@settings(max_examples=300, deadline=None)
@given(ITEMS)
def test_ui_stream_text_frames_are_the_general_paths(items: list[Item]) -> None:
    both_ways(lambda: UIMessageStream("msg_0"), items)


@settings(max_examples=300, deadline=None)
@given(ITEMS)
def test_agui_text_frames_are_the_general_paths(items: list[Item]) -> None:
    both_ways(lambda: AgUiStream("thread-1", "run-1"), items)


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_pumps_inline_delta_frame_is_delta_frame(part_id: str, content: str) -> None:
    head = delta_head("text-delta", "id", part_id, "delta")
    assert head + quote(content).encode() + DELTA_TAIL == delta_frame(head, content)


def test_a_text_delta_frame_is_its_chunk_as_json() -> None:
    stream = UIMessageStream("msg_0")
    opening = stream.text("a\n\"b\"\ud800")  # the part opens with its first delta
    start, delta = opening.split(b"\n\n")[:2]
    part = json.loads(start[6:])
    assert part["type"] == "text-start"
    assert delta[6:] == json.dumps({"type": "text-delta", "id": part["id"],
                                    "delta": "a\n\"b\"\ud800"}, separators=(",", ":")).encode()
    assert stream.text("c") == b'data: {"type":"text-delta","id":"' + part["id"].encode() + \
        b'","delta":"c"}\n\n'


# -- through uvicorn -----------------------------------------------------------------------

pytest.importorskip("uvicorn")


def recorded_tool_run() -> Agent:
    return Agent(tools=[get_weather], provider=TranscriptProvider(TOOL_RUN, "anthropic"))


def numbered(body: bytes) -> bytes:
    """Every generated id (`<prefix>_<32 hex digits>`) numbered in the order it first
    appears: two runs that made the same frames compare equal."""
    seen: dict[bytes, bytes] = {}
    return re.sub(rb"[a-z]+_[0-9a-f]{32}",
                  lambda m: seen.setdefault(m.group(), b"id%d" % len(seen)), body)


async def test_a_served_run_writes_what_the_general_path_writes() -> None:
    """The recorded tool run (streamed arguments, a tool, two texts) through create_app in
    uvicorn: the body is byte for byte the general path's frames for the same items, and
    the conversation kept is the general transcript's."""
    from selectools.serve import create_app

    items = [item async for item in recorded_tool_run().astream(
        "What is the weather in San Francisco?", events=True)]
    mapping, transcript = UIMessageStream(), RunTranscript()
    expected = b"".join(map(sse, mapping.start())) + b"".join(
        general(mapping, transcript, item) for item in items) + DONE
    assert sum(type(item) is StreamChunk and item.event is None and bool(item.content)
               for item in items) > 5  # the short path was taken, often

    app = create_app(recorded_tool_run())
    with uvicorn_in_process(app) as address:
        status, headers, body = post(f"http://{address}/api/chat", {
            "id": "chat-1", "messages": [user_message("What is the weather in San Francisco?")]})
    assert status == 200 and headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert numbered(body) == numbered(expected)
    kept = app.state.conversations.get("chat-1")
    assert kept[1:] == transcript.messages()  # (the first: the question)
    assert [m.role for m in kept] == [Role.USER, Role.ASSISTANT, Role.TOOL, Role.ASSISTANT]
