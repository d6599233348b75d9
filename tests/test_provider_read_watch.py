"""One timer (`_ReadWatch`) bounds the waits of every stream in flight on a loop: each
stream's wait for its next bytes still fails at its own limit, whatever the others' limits,
a consumer's pauses still never count, and a stream ended leaves nothing in the watch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from wire_server import WireServer

from selectools.providers._http import HttpTransport
from selectools.providers.errors import ProviderError, ProviderTimeoutError

WIRE = Path(__file__).parent / "fixtures" / "wire"
BODY = (WIRE / "openai_chat_stream_tool_calls.sse").read_bytes()
FIRST_EVENT_END = BODY.index(b"\n\n") + 2


def _error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    return ProviderError(f"HTTP {status}", status=status)


def _transport(url: str) -> HttpTransport:
    return HttpTransport(provider="test", base_url=url, error_from_response=_error)


async def _read(transport: HttpTransport, timeout: float) -> list[object]:
    return [event async for event in transport.post_events("/c", {}, framing="sse",
                                                           timeout=timeout)]


async def test_each_stream_fails_at_its_own_limit_beside_others(
        wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    long_release = wire_server.reply(body=BODY, content_type="text/event-stream",
                                     hold_after=FIRST_EVENT_END)
    short_release = wire_server.reply(body=BODY, content_type="text/event-stream",
                                      hold_after=FIRST_EVENT_END)
    try:
        # The first stream sets the watch for 5 s; the second, stalled, must not wait that.
        patient = asyncio.ensure_future(_read(transport, 5.0))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(ProviderTimeoutError):
            await asyncio.wait_for(_read(transport, 0.2), 3)
        assert time.monotonic() - started < 2
        assert not patient.done()  # (its own limit is not reached)
        long_release.set()
        assert len(await patient) > 1  # it read on to the end
    finally:
        long_release.set()
        short_release.set()
        await transport.aclose()


async def test_a_stream_ended_or_failed_leaves_the_watch_empty(
        wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    try:
        wire_server.reply(body=BODY, content_type="text/event-stream")
        assert await _read(transport, 1.0)
        release = wire_server.reply(body=BODY, content_type="text/event-stream",
                                    hold_after=FIRST_EVENT_END)
        with pytest.raises(ProviderTimeoutError):
            await _read(transport, 0.1)
        release.set()
        stream = transport.post_events("/c", {}, framing="sse", timeout=1.0)
        wire_server.reply(body=BODY, content_type="text/event-stream")
        await anext(aiter(stream))
        await stream.aclose()  # left early
        (watch,) = transport._watches.values()
        assert watch.streams == set()
    finally:
        await transport.aclose()


async def test_a_slow_consumer_beside_a_stalled_stream_is_not_a_timeout(
        wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    release = wire_server.reply(body=BODY, content_type="text/event-stream",
                                hold_after=FIRST_EVENT_END)
    wire_server.reply(body=BODY, content_type="text/event-stream", chunk_size=200)
    try:
        stalled = asyncio.ensure_future(_read(transport, 0.2))
        await asyncio.sleep(0.05)
        events = []
        async for event in transport.post_events("/c", {}, framing="sse", timeout=0.2):
            events.append(event)
            await asyncio.sleep(0.1)  # pauses of the consumer's, longer in all than 0.2 s
        assert len(events) > 2
        with pytest.raises(ProviderTimeoutError):
            await stalled
    finally:
        release.set()
        await transport.aclose()


async def test_the_watch_reads_its_loops_clock() -> None:
    from selectools.providers._http import _ReadWatch

    # asyncio's own loop: its time() is time.monotonic(), called directly (no Python frame).
    loop = asyncio.get_running_loop()
    assert _ReadWatch(loop).clock is time.monotonic
    assert abs(_ReadWatch(loop).clock() - loop.time()) < 0.5

    class OwnClock(asyncio.SelectorEventLoop):
        def time(self) -> float:
            return 1000.0 + super().time()

    own = OwnClock()
    try:
        assert _ReadWatch(own).clock() - own.time() < 0.5 and _ReadWatch(own).clock() > 1000
    finally:
        own.close()
