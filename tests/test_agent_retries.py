"""AgentConfig's retry and timeout settings reach a real provider over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from wire_server import WireServer

from selectools import Agent, AgentConfig, AgentObserver, AgentResult, StreamChunk, tool
from selectools.providers.errors import RateLimitError
from selectools.providers.openai import OpenAIProvider

TEXT_STREAM = "openai_chat_stream_text_after_tool_result.sse"
RATE_LIMITED = (b'{"error": {"message": "Rate limit reached", "type": "requests", '
                b'"code": "rate_limit_exceeded"}}')


@tool(description="Unused")
def noop() -> str:
    return ""


class Retries(AgentObserver):
    def __init__(self) -> None:
        self.seen: list[tuple[int, int, str]] = []

    def on_llm_retry(self, run_id, attempt, max_retries, error,  # type: ignore[no-untyped-def]
                     backoff_seconds):
        self.seen.append((attempt, max_retries, type(error).__name__))


def provider_for(server: WireServer) -> OpenAIProvider:
    return OpenAIProvider(base_url=server.url + "/v1", api_key="sk-test", max_retries=5)


@pytest.mark.parametrize("mode", ["astream", "arun"])
async def test_a_rate_limited_call_is_retried_and_observed(
        wire_server: WireServer, wire_dir: Path, mode: str) -> None:
    wire_server.reply(status=429, body=RATE_LIMITED, headers={"retry-after": "0"})
    if mode == "astream":
        wire_server.reply_file(wire_dir / TEXT_STREAM, content_type="text/event-stream")
    else:
        wire_server.reply(body=b'{"id": "x", "object": "chat.completion", "created": 1, '
                               b'"model": "gpt-4o-mini", "choices": [{"index": 0, "message": '
                               b'{"role": "assistant", "content": "fine"}, '
                               b'"finish_reason": "stop"}]}')
    retries = Retries()
    agent = Agent(tools=[noop], provider=provider_for(wire_server),
                  config=AgentConfig(observers=[retries], max_retries=2))
    if mode == "astream":
        items = [i async for i in agent.astream("hello")]
        result = items[-1]
        assert any(isinstance(i, StreamChunk) and i.content for i in items)
    else:
        result = await agent.arun("hello")
    assert isinstance(result, AgentResult) and result.content
    assert retries.seen == [(1, 2, "RateLimitError")]  # the run's max_retries, not the provider's 5
    assert len(wire_server.requests) == 2


async def test_max_retries_zero_raises_the_typed_error_at_once(wire_server: WireServer) -> None:
    wire_server.reply(status=429, body=RATE_LIMITED, headers={"retry-after": "0"})
    agent = Agent(tools=[noop], provider=provider_for(wire_server),
                  config=AgentConfig(max_retries=0))
    with pytest.raises(RateLimitError) as caught:
        [_ async for _ in agent.astream("hello")]
    assert caught.value.status == 429 and caught.value.provider == "openai"
    assert len(wire_server.requests) == 1
