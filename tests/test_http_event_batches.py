"""A streamed answer's events by the read (`EventStream.batches()`, what the OpenAI decoder
reads) and one by one (every other decoder) are the same events, over real HTTP, in any
split of the body; the connection is still reused, and closing the stream closes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from wire_server import WireServer

from selectools.providers._framing import EventStream, SseDecoder, SseEvent, event_batches
from selectools.providers._http import HttpTransport
from selectools.providers._status import error_for_status
from selectools.providers.errors import ProviderError
from selectools.providers.openai import OpenAIProvider, decode_stream
from selectools.types import Message, Role, ToolCall

WIRE = Path(__file__).parent / "fixtures" / "wire"
TRANSCRIPT = WIRE / "openai_chat_stream_tool_calls.sse"


def _error(status: int, headers: Any, body: bytes) -> ProviderError:
    return error_for_status(provider="test", status=status, message=body.decode(),
                            headers=headers)


def _transport(url: str) -> HttpTransport:
    return HttpTransport(provider="test", base_url=url + "/v1", error_from_response=_error)


def _all_events(raw: bytes) -> list[SseEvent]:
    decoder = SseDecoder()
    return decoder.feed(raw) + decoder.close()


@pytest.mark.parametrize("chunk_size", [1, 7, 100, 100_000])
async def test_batches_and_single_events_are_the_same_events(wire_server: WireServer,
                                                             chunk_size: int) -> None:
    expected = _all_events(TRANSCRIPT.read_bytes())
    transport = _transport(wire_server.url)
    try:
        wire_server.reply_file(TRANSCRIPT, chunk_size=chunk_size)
        stream = transport.post_events("/c", {}, framing="sse")
        batches = [batch async for batch in event_batches(stream)]
        assert all(batches) and [e for batch in batches for e in batch] == expected
        if chunk_size == 100_000:
            assert len(batches) <= 2  # many events a read: few batches

        # Batches, then events (a decoder stopping at its end marker, then read_to_end):
        # the events go on from the next read.
        wire_server.reply_file(TRANSCRIPT, chunk_size=chunk_size)
        stream = transport.post_events("/c", {}, framing="sse")
        first = await anext(event_batches(stream))
        rest = [event async for event in stream]
        assert [*first, *rest] == expected
        assert len(transport._sessions) == 1
    finally:
        await transport.aclose()
    assert len(wire_server.requests) == 2


async def test_a_second_loop_goes_on_where_the_first_stopped(wire_server: WireServer) -> None:
    expected = _all_events(TRANSCRIPT.read_bytes())
    transport = _transport(wire_server.url)
    try:
        wire_server.reply_file(TRANSCRIPT, chunk_size=50)
        stream = transport.post_events("/c", {}, framing="sse")
        seen: list[SseEvent] = []
        async for event in stream:
            seen.append(event)
            if len(seen) == 3:
                break
        seen += [event async for event in stream]
        assert seen == expected
    finally:
        await transport.aclose()


async def test_closing_the_stream_early_closes_its_response(wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    try:
        wire_server.reply_file(TRANSCRIPT, chunk_size=20)
        stream = transport.post_events("/c", {}, framing="sse")
        assert isinstance(stream, EventStream)
        await anext(event_batches(stream))
        await stream.aclose()
        # The connection went with the unread body; the next call opens another and works.
        wire_server.reply_file(TRANSCRIPT, chunk_size=20)
        events = [e async for e in transport.post_events("/c", {}, framing="sse")]
        assert events == _all_events(TRANSCRIPT.read_bytes())
    finally:
        await transport.aclose()


@pytest.mark.parametrize("chunk_size", [3, 64, 100_000])
async def test_openai_decodes_the_same_answer_by_the_read_as_event_by_event(
        wire_server: WireServer, chunk_size: int) -> None:
    async def one_by_one() -> Any:
        for event in _all_events(TRANSCRIPT.read_bytes()):
            yield event

    expected = [item async for item in decode_stream(one_by_one(), "m")]
    wire_server.reply_file(TRANSCRIPT, chunk_size=chunk_size)
    provider = OpenAIProvider(base_url=wire_server.url + "/v1", api_key="k")
    try:
        items = [item async for item in provider.astream(
            model="m", system_prompt="", messages=[Message(role=Role.USER, content="hi")])]
    finally:
        await provider.aclose()
    assert items == expected and any(isinstance(item, ToolCall) for item in items)
