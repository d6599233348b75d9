"""A whole call's first attempt is awaited by the provider itself, and the retry loop takes
over from its error (`call_with_retries(..., failed=...)`): the retries, their count, the
waits the server asks for, `on_retry` and the last error are what they were."""

from __future__ import annotations

import pytest
from wire_server import WireServer

from selectools.providers._retry import RetryPolicy, call_with_retries
from selectools.providers.errors import (
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role

FAST = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)
ANSWER = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
          "choices": [{"index": 0, "finish_reason": "stop",
                       "message": {"role": "assistant", "content": "hi"}}],
          "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


async def test_the_loop_goes_on_from_the_callers_first_attempt() -> None:
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 2:
            raise ServerError("down")
        return "ok"

    assert await call_with_retries(flaky, FAST, failed=RateLimitError("slow down")) == "ok"
    assert len(calls) == 2  # the first attempt was the caller's: two more at most


async def test_a_first_error_not_to_retry_is_raised_without_another_attempt() -> None:
    calls: list[int] = []

    async def never() -> str:
        calls.append(1)
        return "ok"

    error = InvalidRequestError("bad")
    with pytest.raises(InvalidRequestError) as raised:
        await call_with_retries(never, FAST, failed=error)
    assert raised.value is error and calls == []


async def test_max_retries_count_the_callers_attempt() -> None:
    calls: list[int] = []

    async def down() -> str:
        calls.append(1)
        raise ServerError(f"down {len(calls)}")

    with pytest.raises(ServerError, match="down 2"):
        await call_with_retries(down, FAST, failed=ServerError("down 0"))
    assert len(calls) == 2


def _provider(server: WireServer, retries: int, seen: list[int]) -> OpenAIProvider:
    provider = OpenAIProvider(base_url=server.url + "/v1", api_key="sk-secret-key-1234",
                              max_retries=retries)
    return provider.with_options(on_retry=lambda attempt, error, delay: seen.append(attempt))


async def test_a_whole_call_is_retried_over_http_and_observed(wire_server: WireServer) -> None:
    for _ in range(2):
        wire_server.reply(status=503, body={"error": {"message": "busy"}},
                          headers={"retry-after": "0"})
    wire_server.reply(body=ANSWER)
    seen: list[int] = []
    provider = _provider(wire_server, 3, seen)
    try:
        message, usage = await provider.acomplete(
            messages=[Message(role=Role.USER, content="hello")])
    finally:
        await provider.aclose()
    assert message.content == "hi" and usage.total_tokens == 2
    assert seen == [1, 2] and len(wire_server.requests) == 3


async def test_the_last_error_is_not_chained_and_carries_no_key(wire_server: WireServer) -> None:
    for _ in range(3):
        wire_server.reply(status=503, body={"error": {"message": "busy sk-secret-key-1234"}},
                          headers={"retry-after": "0"})
    seen: list[int] = []
    provider = _provider(wire_server, 2, seen)
    try:
        with pytest.raises(ProviderError) as raised:
            await provider.acomplete(messages=[Message(role=Role.USER, content="hello")])
    finally:
        await provider.aclose()
    error = raised.value
    assert seen == [1, 2] and len(wire_server.requests) == 3
    assert error.__cause__ is None and error.__context__ is None
    assert "sk-secret-key-1234" not in str(error) and "busy" in str(error)
