"""A stream read past its end marker (read_to_end, so that its connection is reused): with
the whole body already in, no timer is set (reading on cannot wait); with the rest still
to come, the wait is bounded as before. Either way the same items, the connection reused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from held_end_server import held_end_server
from wire_server import WireServer

from selectools.providers import _framing
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role, ToolCall, TurnEnd
from selectools.usage import UsageStats

WIRE = Path(__file__).parent / "fixtures" / "wire"
_ASK = [Message(Role.USER, "hi")]
_DRAIN = 0.987  # a limit no other timer of a call has


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The delays of the asyncio.timeout()s a call sets, in order."""
    delays: list[Any] = []
    real = asyncio.timeout

    def timeout(delay: Any) -> Any:
        delays.append(delay)
        return real(delay)

    monkeypatch.setattr(_framing, "_DRAIN_LIMIT", _DRAIN)
    monkeypatch.setattr(asyncio, "timeout", timeout)
    return delays


async def _items(provider: OpenAIProvider, on_usage: Any = None) -> list[type]:
    items = []
    async for item in provider.astream(model="", messages=_ASK):
        items.append(item)
        if isinstance(item, UsageStats) and on_usage is not None:
            on_usage()
    return [type(item) for item in items]


async def test_a_body_all_in_is_read_to_its_end_with_no_timer(
        wire_server: WireServer, timers: list[Any]) -> None:
    body = (WIRE / "openai_chat_stream_tool_calls.sse").read_bytes()
    provider = OpenAIProvider(api_key="sk-test", base_url=wire_server.url)
    try:
        for _ in range(2):
            wire_server.reply(body=body, content_type="text/event-stream")
            assert await _items(provider) == [ToolCall, ToolCall, TurnEnd, UsageStats]
        session = next(iter(provider._transport._sessions.values()))
        pooled = session.connector._conns.values()  # type: ignore[union-attr]
        assert sum(map(len, pooled)) == 1  # (the one connection, back in the pool)
    finally:
        await provider.aclose()
    # (and each call's wait for its headers is bounded by the loop's one timer, _CallWatch,
    # not by an asyncio.timeout: tests/test_s9_provider_call_watch.py)
    assert _DRAIN not in timers and 60.0 not in timers


async def test_a_body_still_coming_is_waited_for_within_the_drain_limit(
        timers: list[Any]) -> None:
    body = (WIRE / "openai_chat_stream_tool_calls.sse").read_bytes()
    async with held_end_server(body, "text/event-stream") as server:
        provider = OpenAIProvider(api_key="sk-test", base_url=server.url + "/v1")
        try:
            for _ in range(2):
                assert await _items(provider, server.end.set) == [ToolCall, ToolCall, TurnEnd,
                                                                   UsageStats]
        finally:
            await provider.aclose()
    assert timers.count(_DRAIN) == 2
    assert len(server.peers) == 2 and len(set(server.peers)) == 1
