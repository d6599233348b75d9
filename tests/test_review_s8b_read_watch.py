"""Hostile review (session 8, second): the read watch's clock (a146971). `_ReadWatch` reads
time.monotonic itself when the loop's class keeps asyncio's own `time`, but sets its timer
with `loop.call_at`, which reads `loop.time()`: a loop whose `time` is replaced on the
instance (a clock of its own, as time-travel test tools set) keeps its class's method, so
the two clocks differ and a stalled stream fails that difference past its limit (with the
loop's clock 30 s behind, a 0.2 s limit waited 30 s). At 99ed814 both were `loop.time`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import pytest
from wire_server import WireServer

from selectools.providers._http import HttpTransport
from selectools.providers.errors import ProviderError, ProviderTimeoutError

BODY = (Path(__file__).parent / "fixtures" / "wire" / "openai_chat_stream_tool_calls.sse"
        ).read_bytes()
FIRST_EVENT_END = BODY.index(b"\n\n") + 2


def _error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    return ProviderError(f"HTTP {status}", status=status)


async def test_a_stall_fails_at_its_limit_on_a_loop_with_its_own_clock(
        wire_server: WireServer) -> None:
    loop = asyncio.get_running_loop()
    own_time = loop.time
    loop.time = lambda: own_time() - 30.0  # type: ignore[method-assign]
    transport = HttpTransport(provider="test", base_url=wire_server.url,
                              error_from_response=_error)
    release = wire_server.reply(body=BODY, content_type="text/event-stream",
                                hold_after=FIRST_EVENT_END)
    try:
        events = aiter(transport.post_events("/c", {}, framing="sse", timeout=0.2))
        await anext(events)
        with pytest.raises(ProviderTimeoutError):  # (not wait_for's TimeoutError)
            await asyncio.wait_for(anext(events), 4)
    finally:
        release.set()
        del loop.time  # (the class's method again)
        await transport.aclose()
