"""Hostile review of session 9's short paths in providers/_http.py: behaviour the general
paths had that the one timer per loop (_CallWatch) changed. On a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from wire_server import WireServer

from selectools.providers._http import HttpTransport
from selectools.providers.errors import ProviderError

BODY = b'{"ok": true}'


def _error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    return ProviderError(f"HTTP {status}", status=status)


async def test_a_call_waiting_for_a_slot_when_the_transport_closes_says_why(
        wire_server: WireServer) -> None:
    transport = HttpTransport(provider="test", base_url=wire_server.url,
                              error_from_response=_error)
    transport.pool_size = 1  # (read when the pool is made, on the first call)
    release = wire_server.reply(body=BODY, hold_after=2)
    wire_server.reply(body=BODY)
    first = asyncio.ensure_future(transport.post_json("/c", {}, timeout=0.5))
    await asyncio.sleep(0.1)  # the first holds the one slot
    second = asyncio.ensure_future(transport.post_json("/c", {}, timeout=5.0))
    await asyncio.sleep(0.05)  # the second waits for it
    try:
        await transport.aclose()
    finally:
        release.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    error = results[1]
    assert isinstance(error, ProviderError)
    # The call says what happened to it (the session is closed), not an internal lookup's
    # KeyError naming the event loop.
    assert "KeyError" not in str(error), str(error)


async def test_a_stream_waiting_for_a_slot_when_the_transport_closes_says_why(
        wire_server: WireServer) -> None:
    transport = HttpTransport(provider="test", base_url=wire_server.url,
                              error_from_response=_error)
    transport.pool_size = 1
    release = wire_server.reply(body=BODY, hold_after=2)
    wire_server.reply(body=b"data: {}\n\n", content_type="text/event-stream")

    async def stream() -> list[object]:
        return [event async for event in transport.post_events(
            "/c", {}, framing="sse", timeout=5.0)]

    first = asyncio.ensure_future(transport.post_json("/c", {}, timeout=0.5))
    await asyncio.sleep(0.1)
    second = asyncio.ensure_future(stream())
    await asyncio.sleep(0.05)
    try:
        await transport.aclose()
    finally:
        release.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    error = results[1]
    assert isinstance(error, ProviderError)
    assert "KeyError" not in str(error), str(error)
