"""`max_connections=`: how many of a provider's calls are in flight at once, per event
loop. Against a real server on 127.0.0.1 that holds every answer until the test lets it
go, the server sees exactly that many requests at a time, and every call ends with its
answer; a bad setting is refused by name, before any call."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from wire_server import WireServer

from selectools import AnthropicProvider, GeminiProvider, OllamaProvider, OpenAIProvider
from selectools.types import Message, Role

ANSWER = {"id": "x", "object": "chat.completion", "model": "m", "choices": [
    {"index": 0, "finish_reason": "stop",
     "message": {"role": "assistant", "content": "an answer"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
HI = [Message(Role.USER, "hi")]


async def _requests_reach(server: WireServer, count: int, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while len(server.requests) < count:
        assert time.monotonic() < deadline, f"only {len(server.requests)} requests came"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("limit", [1, 3, 120])
async def test_the_server_sees_at_most_max_connections_calls_at_once(
        wire_server: WireServer, limit: int) -> None:
    calls = limit + 4
    releases: list[threading.Event] = [wire_server.reply(body=ANSWER, hold_after=0)
                                       for _ in range(calls)]
    provider = OpenAIProvider(api_key="sk-test", base_url=wire_server.url + "/v1",
                              model="m", max_retries=0, max_connections=limit)
    try:
        pending = [asyncio.create_task(provider.acomplete(messages=HI)) for _ in range(calls)]
        await _requests_reach(wire_server, limit)
        await asyncio.sleep(0.2)  # (time for a call beyond the limit to arrive, were it sent)
        assert len(wire_server.requests) == limit
        for release in releases:
            release.set()
        answers = await asyncio.wait_for(asyncio.gather(*pending), 10)
    finally:
        for release in releases:
            release.set()
        await provider.aclose()
    assert [message.content for message, _ in answers] == ["an answer"] * calls
    assert len(wire_server.requests) == calls and not wire_server.hold_expired


def test_the_default_is_a_hundred_and_the_setting_is_read_back() -> None:
    default = OpenAIProvider(api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    wide = OpenAIProvider(api_key="sk-test", base_url="http://127.0.0.1:9/v1",
                          max_connections=500)
    assert (default.max_connections, wide.max_connections) == (100, 500)
    assert wide.with_options(max_retries=0).max_connections == 500


PROVIDERS: dict[str, Any] = {
    "openai": lambda **kw: OpenAIProvider(api_key="k", base_url="http://127.0.0.1:9/v1", **kw),
    "anthropic": lambda **kw: AnthropicProvider(api_key="k", **kw),
    "gemini": lambda **kw: GeminiProvider(api_key="k", **kw),
    "ollama": lambda **kw: OllamaProvider(host="http://127.0.0.1:9", **kw),
}


@pytest.mark.parametrize("make", PROVIDERS.values(), ids=PROVIDERS.keys())
@pytest.mark.parametrize(("value", "error", "says"), [
    (0, ValueError, "max_connections must be at least 1, got 0"),
    (-5, ValueError, "max_connections must be at least 1, got -5"),
    (True, TypeError, "max_connections must be an int (connections), got bool: True"),
    ("10", TypeError, "max_connections must be an int (connections), got str: '10'"),
    (None, TypeError, "max_connections must be an int (connections), got NoneType: None"),
])
def test_a_bad_max_connections_is_refused_by_name(make: Any, value: object,
                                                  error: type[Exception], says: str) -> None:
    with pytest.raises(error) as raised:
        make(max_connections=value)
    assert str(raised.value) == says


@pytest.mark.parametrize("make", PROVIDERS.values(), ids=PROVIDERS.keys())
def test_every_http_provider_takes_it(make: Any) -> None:
    assert make(max_connections=7).max_connections == 7
