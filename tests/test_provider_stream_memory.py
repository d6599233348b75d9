"""What an open stream holds: once its first item came (retries settled), the request (the
wire form of every message sent) is let go of, not held while the answer streams; a
stream retried before its first item sends the same request again."""

from __future__ import annotations

import dataclasses
import gc
import weakref
from typing import Any

from wire_server import WireServer

from selectools.providers import openai
from selectools.providers._http_provider import HttpProvider
from selectools.providers.protocol import WireRequest
from selectools.types import Message, Role

_ASK = [Message(Role.USER, "hello")]
_STREAM = (b'data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n'
           b'data: {"choices":[{"index":0,"delta":{"content":" there"},"finish_reason":"stop"}]}'
           b'\n\n' b"data: [DONE]\n\n")


class _Body(dict[str, Any]):
    """A request body that a weak reference can watch (a plain dict cannot be one's)."""


def _watched(bodies: list[weakref.ref[_Body]], url: str) -> HttpProvider:
    def build_request(request: Any) -> WireRequest:
        made = openai.PROTOCOL.build_request(request)
        body = _Body(made.body)
        bodies.append(weakref.ref(body))
        return made._replace(body=body)

    protocol = dataclasses.replace(openai.PROTOCOL, build_request=build_request)
    return HttpProvider(protocol, api_key="sk-test", base_url=url, max_retries=1)


async def test_an_open_stream_holds_no_request(wire_server: WireServer) -> None:
    bodies: list[weakref.ref[_Body]] = []
    provider = _watched(bodies, wire_server.url)
    first_event_end = _STREAM.index(b"\n\n") + 2
    release = wire_server.reply(body=_STREAM, content_type="text/event-stream",
                                hold_after=first_event_end)
    stream = provider.astream(messages=_ASK)
    try:
        assert await anext(stream) == "Hi"  # the rest held back by the server: mid-stream
        gc.collect()
        assert len(bodies) == 1 and bodies[0]() is None
        release.set()
        assert [item async for item in stream][0] == " there"
    finally:
        release.set()
        await stream.aclose()
        await provider.aclose()


async def test_a_stream_retried_before_its_first_item_sends_its_request_again(
        wire_server: WireServer) -> None:
    bodies: list[weakref.ref[_Body]] = []
    provider = _watched(bodies, wire_server.url)
    wire_server.reply(status=503, body={"error": {"message": "busy"}},
                      headers={"retry-after": "0"})
    wire_server.reply(body=_STREAM, content_type="text/event-stream")
    try:
        items = [item async for item in provider.astream(messages=_ASK)]
    finally:
        await provider.aclose()
    assert items[:2] == ["Hi", " there"]
    first, second = (request.body for request in wire_server.requests)
    assert first == second and b'"hello"' in first
    assert len(bodies) == 1


def test_a_decoder_of_whole_events_holds_no_buffers() -> None:
    from selectools.providers._framing import NdjsonDecoder, SseDecoder, SseEvent

    sse = SseDecoder()
    assert sse.feed(b"data: 1\n\n") == [SseEvent(None, "1")]
    assert sse.feed(b"data: 2\n\ndata: 3\n\n") == [SseEvent(None, "2"), SseEvent(None, "3")]
    assert (sse._partial, sse._data) == (None, None)  # (a list each only once needed)
    # A read that ends mid-line, and an event split across reads, decode as before.
    assert sse.feed(b"event: x\ndata: 4") == []
    assert sse.feed(b"\n\ndata: 5\n\n") == [SseEvent("x", "4"), SseEvent(None, "5")]
    assert sse.close() == []
    ndjson = NdjsonDecoder()
    assert ndjson.feed(b'{"a": 1}\n') == [{"a": 1}]
    assert ndjson._partial is None
    assert ndjson.feed(b'{"b"') == [] and ndjson.feed(b": 2}\n{}") == [{"b": 2}]
    assert ndjson.close() == [{}] and NdjsonDecoder().close() == []
