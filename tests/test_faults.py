"""FallbackProvider and the agent over real HTTP, against servers that fail on purpose.

Two OpenAI-compatible fault servers on 127.0.0.1 stand for a primary and a backup provider.
Every case must end in the right provider's answer or a clear typed error, with no text
repeated and no tool result lost.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fault_server import (
    Answer,
    FaultServer,
    bad_request,
    hang,
    openai_text,
    openai_tool_calls,
    overloaded,
    rate_limited,
    reset,
    server_error,
    sse,
)

from selectools import Agent, AgentConfig, AgentObserver, AgentResult, StreamChunk, tool
from selectools.providers.errors import (
    InvalidRequestError,
    OverloadedError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from selectools.providers.fallback import AllProvidersFailedError, FallbackProvider
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role, TurnEnd

HI = [Message(role=Role.USER, content="hi")]
READ_TIMEOUT = 0.4


class Primary(OpenAIProvider):
    name = "primary"


class Backup(OpenAIProvider):
    name = "backup"


@pytest.fixture
def servers() -> Iterator[tuple[FaultServer, FaultServer]]:
    with FaultServer() as primary, FaultServer() as backup:
        yield primary, backup


@pytest.fixture
async def fallback(servers: tuple[FaultServer, FaultServer]) -> AsyncIterator[FallbackProvider]:
    primary, backup = servers
    first = Primary(base_url=primary.url, max_retries=0, timeout=READ_TIMEOUT)
    second = Backup(base_url=backup.url, max_retries=0, timeout=READ_TIMEOUT)
    provider = FallbackProvider([first, second])
    yield provider
    await first.aclose()
    await second.aclose()


@tool()
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
    """
    return f"sunny in {city}"


class Recorder(AgentObserver):
    def __init__(self) -> None:
        self.fallbacks: list[tuple[str, str, str, type[BaseException]]] = []
        self.retries: list[tuple[int, type[BaseException]]] = []

    def on_provider_fallback(self, run_id: str, failed_provider: str, next_provider: str,
                             error: BaseException) -> None:
        self.fallbacks.append((run_id, failed_provider, next_provider, type(error)))

    def on_llm_retry(self, run_id: str, attempt: int, max_retries: int | None,
                     error: BaseException, backoff_seconds: float) -> None:
        self.retries.append((attempt, type(error)))


async def stream_items(provider: FallbackProvider) -> list[Any]:
    return [item async for item in provider.astream(messages=HI, system_prompt="")]


def text_of(items: list[Any]) -> str:
    return "".join(item for item in items if isinstance(item, str))


BACKUP_TEXT = ["The backup", " answers", "."]

# Faults that come before the first byte of an answer.
EARLY_FAULTS = {
    "429 with retry-after": (rate_limited(0), RateLimitError),
    "500": (server_error(), ServerError),
    "529": (overloaded(), OverloadedError),
    "hang past the read timeout": (hang(5), ProviderTimeoutError),
    "connection reset": (reset(), ProviderConnectionError),
}


# -- FallbackProvider alone ---------------------------------------------------------------------


@pytest.mark.parametrize("case", list(EARLY_FAULTS))
async def test_early_fault_fails_over_transparently(
        case: str, servers: tuple[FaultServer, FaultServer],
        fallback: FallbackProvider) -> None:
    primary, backup = servers
    answer, error_class = EARLY_FAULTS[case]
    primary.queue(answer)
    backup.queue(sse(openai_text(BACKUP_TEXT)))
    seen: list[tuple[str, str, BaseException]] = []
    watched = fallback.with_options(on_fallback=lambda *a: seen.append(a))

    items = await stream_items(watched)

    assert items[:-2] == BACKUP_TEXT  # no discard event: nothing had been shown
    assert isinstance(items[-2], TurnEnd) and items[-2].reason == "completed"
    assert items[-1].provider == "backup" and items[-1].completion_tokens == 3
    assert [(f, n, type(e)) for f, n, e in seen] == [("primary", "backup", error_class)]
    assert fallback.provider_used == "backup"
    assert len(primary.requests) == len(backup.requests) == 1


@pytest.mark.parametrize("case", list(EARLY_FAULTS))
async def test_early_fault_fails_over_for_whole_answers(
        case: str, servers: tuple[FaultServer, FaultServer],
        fallback: FallbackProvider) -> None:
    primary, backup = servers
    answer, _ = EARLY_FAULTS[case]
    primary.queue(answer)
    reply = {"id": "x", "object": "chat.completion", "model": "gpt-4o-mini", "choices": [
        {"index": 0, "finish_reason": "stop",
         "message": {"role": "assistant", "content": "whole backup answer"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
    backup.queue(Answer(body=json.dumps(reply).encode()))

    message, usage = await fallback.acomplete(messages=HI, system_prompt="")

    assert message.content == "whole backup answer"
    assert usage.provider == "backup" and usage.total_tokens == 8


@pytest.mark.parametrize("fault", ["cut", "reset", "hang"])
async def test_midstream_fault_restarts_on_backup_and_says_discard(
        fault: str, servers: tuple[FaultServer, FaultServer],
        fallback: FallbackProvider) -> None:
    primary, backup = servers
    started = sse(openai_text(["The primary", " was", " saying"]))
    primary.queue({"cut": started.cut_after(3), "reset": started.reset_after(3),
                   "hang": started.hang_after(3, 5)}[fault])
    backup.queue(sse(openai_text(BACKUP_TEXT)))

    items = await stream_items(fallback)

    discard = [i for i, item in enumerate(items) if getattr(item, "discard_partial", False)]
    assert len(discard) == 1
    before, after = items[:discard[0]], items[discard[0] + 1:]
    assert before == ["The primary", " was"]
    assert text_of(after) == "".join(BACKUP_TEXT)  # the whole backup answer, once
    event = items[discard[0]]
    assert event.data["failed_provider"] == "primary"
    assert event.data["error_type"] in ("ProviderConnectionError", "ProviderTimeoutError")


async def test_midstream_fault_raises_when_configured(
        servers: tuple[FaultServer, FaultServer]) -> None:
    primary, backup = servers
    first = Primary(base_url=primary.url, max_retries=0, timeout=READ_TIMEOUT)
    second = Backup(base_url=backup.url, max_retries=0)
    strict = FallbackProvider([first, second], on_midstream_error="raise")
    primary.queue(sse(openai_text(["The primary", " was", " saying"])).cut_after(3))

    items: list[Any] = []
    with pytest.raises(ProviderConnectionError, match="cut mid-answer"):
        async for item in strict.astream(messages=HI, system_prompt=""):
            items.append(item)
    assert items == ["The primary", " was"]
    assert backup.requests == []
    await first.aclose()
    await second.aclose()


async def test_each_providers_own_retries_run_first_and_once(
        servers: tuple[FaultServer, FaultServer]) -> None:
    primary, backup = servers
    first = Primary(base_url=primary.url, max_retries=1, timeout=READ_TIMEOUT)
    second = Backup(base_url=backup.url, max_retries=1)
    retries: list[tuple[int, float]] = []
    provider = FallbackProvider([first, second]).with_options(
        on_retry=lambda attempt, error, delay: retries.append((attempt, delay)))
    primary.queue(rate_limited(0), rate_limited(0))
    backup.queue(sse(openai_text(BACKUP_TEXT)))

    items = await stream_items(provider)

    assert text_of(items) == "".join(BACKUP_TEXT)
    assert len(primary.requests) == 2  # one try, one retry honouring retry-after: 0
    assert retries == [(1, 0.0)]
    await first.aclose()
    await second.aclose()


async def test_bad_request_is_raised_and_backup_never_called(
        servers: tuple[FaultServer, FaultServer], fallback: FallbackProvider) -> None:
    primary, backup = servers
    primary.queue(bad_request("Invalid 'messages': rate limit words do not matter"))
    with pytest.raises(InvalidRequestError) as raised:
        await stream_items(fallback)
    assert raised.value.status == 400
    assert backup.requests == []
    assert fallback.breakers[0].consecutive_failures == 0


async def test_every_provider_failing_gives_one_clear_error(
        servers: tuple[FaultServer, FaultServer], fallback: FallbackProvider) -> None:
    primary, backup = servers
    primary.queue(server_error())
    backup.queue(overloaded())
    with pytest.raises(AllProvidersFailedError) as raised:
        await stream_items(fallback)
    message = str(raised.value)
    assert "primary" in message and "ServerError" in message
    assert "backup" in message and "OverloadedError" in message
    assert isinstance(raised.value.__cause__, OverloadedError)


async def test_open_circuit_skips_the_primary_until_a_probe_succeeds(
        servers: tuple[FaultServer, FaultServer]) -> None:
    primary, backup = servers
    now = [0.0]
    first = Primary(base_url=primary.url, max_retries=0)
    second = Backup(base_url=backup.url, max_retries=0)
    provider = FallbackProvider([first, second], circuit_breaker_threshold=2,
                                circuit_breaker_cooldown=60, clock=lambda: now[0])
    primary.queue(server_error(), server_error())
    for _ in range(4):
        backup.queue(sse(openai_text(BACKUP_TEXT)))
    for _ in range(3):
        assert text_of(await stream_items(provider)) == "".join(BACKUP_TEXT)
    assert len(primary.requests) == 2  # the third call skipped it

    now[0] += 60
    primary.queue(sse(openai_text(["primary", " is back"])))
    assert text_of(await stream_items(provider)) == "primary is back"
    assert provider.breakers[0].state == "closed"
    assert provider.provider_used == "primary"
    await first.aclose()
    await second.aclose()


# -- through the agent --------------------------------------------------------------------------


def weather_call(call_id: str = "call_1") -> Answer:
    return sse(openai_tool_calls([(call_id, "get_weather", {"city": "Paris"})]))


async def test_agent_stream_survives_a_midstream_cut_without_duplicates_or_lost_tools(
        servers: tuple[FaultServer, FaultServer], fallback: FallbackProvider) -> None:
    primary, backup = servers
    recorder = Recorder()
    agent = Agent(tools=[get_weather], provider=fallback,
                  config=AgentConfig(observers=[recorder], max_retries=0))
    # Turn 1: the primary asks for the tool. Turn 2: it dies mid-answer; the backup answers.
    primary.queue(weather_call(), sse(openai_text(["It is", " sun", "ny"])).cut_after(3))
    backup.queue(sse(openai_text(["Paris:", " sunny", "."])))

    chunks = [item async for item in agent.astream("Weather in Paris?")]
    result = chunks[-1]

    assert isinstance(result, AgentResult)
    assert result.content == "Paris: sunny."
    assert result.provider_used == "backup"
    assert [c.tool_name for c in result.tool_calls] == ["get_weather"]
    tool_messages = [m for m in agent.history if m.role == Role.TOOL]
    assert [m.content for m in tool_messages] == ["sunny in Paris"]
    # The backup was sent the tool result: nothing lost in the switch.
    sent = backup.requests[0].json["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny in Paris"}

    events = [c for c in chunks[:-1] if isinstance(c, StreamChunk) and c.event == "fallback"]
    assert len(events) == 1
    shown_after = "".join(c.content for c in chunks[chunks.index(events[0]) + 1:-1]
                          if isinstance(c, StreamChunk))
    assert shown_after == "Paris: sunny."
    assert [(f, n, e) for _, f, n, e in recorder.fallbacks] == [
        ("primary", "backup", ProviderConnectionError)]
    assert recorder.fallbacks[0][0] == result.run_id


async def test_agent_run_fails_over_on_each_turn_and_counts_usage(
        servers: tuple[FaultServer, FaultServer], fallback: FallbackProvider) -> None:
    primary, backup = servers
    recorder = Recorder()
    agent = Agent(tools=[get_weather], provider=fallback,
                  config=AgentConfig(observers=[recorder], request_timeout=READ_TIMEOUT))
    primary.queue(rate_limited(0), hang(5))
    reply = {"id": "x", "object": "chat.completion", "model": "gpt-4o-mini", "choices": [
        {"index": 0, "finish_reason": "stop",
         "message": {"role": "assistant", "content": "Sunny in Paris."}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 4, "total_tokens": 24}}
    call = {"id": "y", "object": "chat.completion", "model": "gpt-4o-mini", "choices": [
        {"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None, "tool_calls": [
                {"id": "call_9", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16}}
    backup.queue(Answer(body=json.dumps(call).encode()), Answer(body=json.dumps(reply).encode()))

    result = await agent.arun("Weather in Paris?")

    assert result.content == "Sunny in Paris."
    assert result.provider_used == "backup"
    assert result.usage is not None and result.usage.total_tokens == 40
    assert [e for _, _, _, e in recorder.fallbacks] == [RateLimitError, ProviderTimeoutError]


async def test_agent_reports_a_typed_error_when_everything_fails(
        servers: tuple[FaultServer, FaultServer], fallback: FallbackProvider) -> None:
    primary, backup = servers
    primary.queue(server_error())
    backup.queue(reset())
    agent = Agent(tools=[get_weather], provider=fallback)
    with pytest.raises(AllProvidersFailedError, match="primary.*\n.*backup"):
        async for _ in agent.astream("Weather?"):
            pass
    # The agent is still usable afterwards.
    primary.queue(sse(openai_text(["fine", " now"])))
    result = [item async for item in agent.astream("Again?")][-1]
    assert isinstance(result, AgentResult)
    assert result.content == "fine now" and result.provider_used == "primary"


def test_sync_agent_run_through_the_fallback(servers: tuple[FaultServer, FaultServer]) -> None:
    primary, backup = servers
    first = Primary(base_url=primary.url, max_retries=0)
    second = Backup(base_url=backup.url, max_retries=0)
    agent = Agent(tools=[get_weather], provider=FallbackProvider([first, second]))
    primary.queue(overloaded())
    backup.queue(sse(openai_text(["sync", " works"])))
    streamed: list[str] = []
    result = agent.run("hello", stream_handler=streamed.append)
    assert result.content == "sync works" and result.provider_used == "backup"
    assert "".join(streamed) == "sync works"
    first.close()
    second.close()
