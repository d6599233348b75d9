"""OpenAIProvider end to end over real HTTP on 127.0.0.1 (WireServer replays transcripts)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from held_end_server import held_end_server
from wire_server import WireServer

from selectools.providers._http_provider import HttpProvider
from selectools.providers.errors import (
    AuthenticationError,
    InvalidRequestError,
    ProviderConnectionError,
    ProviderError,
    RateLimitError,
)
from selectools.providers.openai import OpenAIProvider
from selectools.tools import tool
from selectools.types import Message, Role, ToolCall, TurnEnd
from selectools.usage import UsageStats

WIRE = Path(__file__).parent / "fixtures" / "wire"
KEY = "sk-test-0123456789abcdef"
ASK = [Message(Role.USER, "What is the capital of the UK? Use the tool, then answer.")]


@tool()
def get_capital(country: str) -> str:
    """The capital city of a country."""
    return "London"


@pytest.fixture(autouse=True)
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def provider(wire_server: WireServer) -> AsyncIterator[OpenAIProvider]:
    made = OpenAIProvider(api_key=KEY, base_url=wire_server.url + "/v1", organization="org-1")
    yield made
    await made.aclose()


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = OpenAIProvider(api_key=KEY)
    assert (plain.name, plain.default_model) == ("openai", "gpt-4o-mini")
    assert plain.base_url == "https://api.openai.com/v1"
    assert isinstance(plain, HttpProvider)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    assert OpenAIProvider().base_url == "http://127.0.0.1:8080/v1"
    assert OpenAIProvider(model="qwen2.5").default_model == "qwen2.5"


async def test_astream_sends_the_request_and_assembles_the_call(
        wire_server: WireServer, provider: OpenAIProvider,
        openai_request_schema: Callable[[Any], None]) -> None:
    wire_server.reply_file(WIRE / "openai_chat_stream_tool_call_role_in_first_chunk.sse",
                           chunk_size=64)
    items = [item async for item in provider.astream(
        model="", system_prompt="Use tools.", messages=ASK, tools=[get_capital.definition])]
    assert items[0] == ToolCall("get_capital", {"country": "UK"},
                                id="call_ZR5UUuTt3pf61kjwAJIYdVMj")
    assert items[1] == TurnEnd("tool_calls", "tool_calls")
    assert isinstance(items[2], UsageStats) and items[2].total_tokens == 68
    request = wire_server.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["openai-organization"] == "org-1"
    assert request.headers["content-type"] == "application/json"
    openai_request_schema(request.json)
    assert request.json["model"] == "gpt-4o-mini"
    assert request.json["messages"][0] == {"role": "system", "content": "Use tools."}
    assert request.json["stream_options"] == {"include_usage": True}
    assert request.json["tools"][0]["function"]["name"] == "get_capital"
    # a compatible server (not api.openai.com) gets the classic max_tokens field
    assert request.json["max_tokens"] == 1000


async def test_streams_reuse_their_connection_when_the_body_ends_after_done() -> None:
    # A real server's end of body often arrives in a read after `[DONE]`; the stream is read
    # to that end, so the next call goes over the same connection instead of a new one.
    body = (WIRE / "openai_chat_stream_tool_calls.sse").read_bytes()
    async with held_end_server(body, "text/event-stream") as server:
        provider = OpenAIProvider(api_key=KEY, base_url=server.url + "/v1")
        try:
            for _ in range(3):
                items = []
                async for item in provider.astream(model="", messages=ASK):
                    items.append(item)
                    if isinstance(item, UsageStats):
                        server.end.set()  # all items are out: now let the body end
                assert [type(i) for i in items] == [ToolCall, ToolCall, TurnEnd, UsageStats]
        finally:
            await provider.aclose()
    assert len(server.peers) == 3 and len(set(server.peers)) == 1


async def test_a_stream_left_early_closes_its_connection_at_once() -> None:
    # Stopping after the first item must not wait for the rest of the body (the answer may
    # be long) nor put a connection with unread bytes back in the pool.
    body = (WIRE / "openai_chat_stream_tool_calls.sse").read_bytes()
    async with held_end_server(body, "text/event-stream") as server:
        provider = OpenAIProvider(api_key=KEY, base_url=server.url + "/v1")
        try:
            stream = provider.astream(model="", messages=ASK)
            assert isinstance(await anext(stream), ToolCall)
            await stream.aclose()  # the server has not ended the body: nothing waits for it
            items = []
            async for item in provider.astream(model="", messages=ASK):
                items.append(item)
                if isinstance(item, UsageStats):
                    server.end.set()
            assert [type(i) for i in items] == [ToolCall, ToolCall, TurnEnd, UsageStats]
        finally:
            await provider.aclose()
    assert len(server.peers) == 2 and server.peers[0] != server.peers[1]


async def test_a_server_holding_the_stream_open_after_done_does_not_hold_the_call(
        wire_server: WireServer, provider: OpenAIProvider,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("selectools.providers._framing._DRAIN_LIMIT", 0.05)
    body = (WIRE / "openai_chat_stream_tool_calls.sse").read_bytes()
    release = wire_server.reply(body=body, content_type="text/event-stream",
                                hold_after=len(body))
    try:
        items = [item async for item in provider.astream(model="", messages=ASK)]
    finally:
        release.set()
    assert [type(i) for i in items] == [ToolCall, ToolCall, TurnEnd, UsageStats]


async def test_acomplete_parses_the_answer(wire_server: WireServer, provider: OpenAIProvider,
                                           openai_request_schema: Callable[[Any], None]) -> None:
    body = json.loads((WIRE / "openai_chat_tool_calls_parallel.json").read_text())
    wire_server.reply(body=body)
    message, usage = await provider.acomplete(model="gpt-4o", system_prompt="", messages=ASK,
                                              temperature=0.5, max_tokens=64)
    assert [call.tool_name for call in message.tool_calls or []] == ["delete_file", "create_file"]
    assert usage == UsageStats.priced(model="gpt-4o", provider="openai", prompt_tokens=71,
                                      completion_tokens=46)
    sent = wire_server.requests[0].json
    openai_request_schema(sent)
    assert (sent["model"], sent["temperature"], sent["max_tokens"]) == ("gpt-4o", 0.5, 64)
    assert "stream" not in sent


def test_sync_complete_and_stream_twice_share_the_pool(wire_server: WireServer,
                                                       provider: OpenAIProvider) -> None:
    for _ in range(2):
        wire_server.reply_file(WIRE / "openai_chat_stream_text_after_tool_result.sse",
                               chunk_size=100)
        text = [i for i in provider.stream(model="", system_prompt="", messages=ASK)
                if isinstance(i, str)]
        assert "".join(text) == "The capital of the UK is London."
        wire_server.reply(body=json.loads((WIRE / "openai_chat_tool_call_single.json").read_text()))
        message, _ = provider.complete(model="", system_prompt="", messages=ASK)
        assert message.tool_calls == [ToolCall("get_user_country", {},
                                               id="call_iXFttys57ap0o16JSlC8yhYo")]
    assert len(wire_server.requests) == 4
    assert len(provider._transport._sessions) == 1  # one pool, on the library loop


async def test_local_server_needs_no_key(wire_server: WireServer) -> None:
    wire_server.reply(body={"choices": [{"message": {"role": "assistant", "content": "hi"}}]})
    async with OpenAIProvider(base_url=wire_server.url + "/v1") as local:
        message, usage = await local.acomplete(model="smollm2", system_prompt="", messages=ASK)
    assert message.content == "hi" and usage.cost_usd is None
    assert "authorization" not in wire_server.requests[0].headers


def test_openai_without_a_key_is_refused_when_made() -> None:
    # One rule for every protocol: the hosted endpoint needs a key, refused up front.
    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY"):
        OpenAIProvider()
    with pytest.raises(AuthenticationError):
        OpenAIProvider(base_url="https://api.openai.com/v1/")


async def test_429_with_retry_after_zero_is_retried_then_succeeds(
        wire_server: WireServer, provider: OpenAIProvider) -> None:
    error = json.loads((WIRE / "openai_error_429_rate_limit.json").read_text())["body"]
    wire_server.reply(429, body=error, headers={"retry-after": "0"})
    wire_server.reply_file(WIRE / "openai_chat_stream_text_after_tool_result.sse")
    retries: list[tuple[int, ProviderError, float]] = []
    patient = provider.with_options(on_retry=lambda *args: retries.append(args))
    items = [i async for i in patient.astream(model="", system_prompt="", messages=ASK)]
    assert "".join(i for i in items if isinstance(i, str)) == "The capital of the UK is London."
    assert len(wire_server.requests) == 2
    assert [(attempt, type(err), delay) for attempt, err, delay in retries] == [
        (1, RateLimitError, 0.0)]
    assert patient._transport is provider._transport  # with_options shares the pool


async def test_400_is_not_retried(wire_server: WireServer, provider: OpenAIProvider) -> None:
    data = json.loads((WIRE / "openai_error_400_invalid_request.json").read_text())
    wire_server.reply(400, body=data["body"])
    with pytest.raises(InvalidRequestError, match="does not support 'system'") as caught:
        await provider.acomplete(model="o1-mini", system_prompt="sys", messages=ASK)
    assert len(wire_server.requests) == 1
    assert (caught.value.status, caught.value.provider) == (400, "openai")


async def test_retries_stop_at_max_retries(wire_server: WireServer) -> None:
    for _ in range(3):
        wire_server.reply(503, body={"error": {"message": "overloaded"}},
                          headers={"retry-after": "0"})
    provider = OpenAIProvider(api_key=KEY, base_url=wire_server.url, max_retries=1)
    with pytest.raises(ProviderError, match="overloaded") as raised:
        await provider.acomplete(model="", system_prompt="", messages=ASK)
    await provider.aclose()
    assert len(wire_server.requests) == 2
    # The last attempt's error alone, not "during handling of" the first one.
    assert raised.value.__context__ is None and raised.value.__cause__ is None


async def test_connection_dropped_mid_stream(wire_server: WireServer,
                                             provider: OpenAIProvider) -> None:
    wire_server.reply_file(WIRE / "openai_chat_stream_text_after_tool_result.sse",
                           chunk_size=200, cut_after=1500)
    seen: list[Any] = []
    with pytest.raises(ProviderConnectionError):
        async for item in provider.astream(model="", system_prompt="", messages=ASK):
            seen.append(item)
    assert seen and all(isinstance(i, str) for i in seen)  # text came, then the cut
    assert len(wire_server.requests) == 1  # never retried after the first item


async def test_the_key_is_in_no_error_and_no_repr(wire_server: WireServer,
                                                  provider: OpenAIProvider) -> None:
    wire_server.reply(401, body={"error": {"message": f"Incorrect API key provided: {KEY}",
                                           "type": "invalid_request_error",
                                           "code": "invalid_api_key"}})
    with pytest.raises(AuthenticationError) as caught:
        await provider.acomplete(model="", system_prompt="", messages=ASK)
    assert KEY not in str(caught.value) and KEY not in caught.value.message
    assert "Incorrect API key provided" in caught.value.message
    assert KEY not in repr(provider) and KEY not in repr(provider.with_options(max_retries=0))


async def test_text_deltas_arrive_before_the_stream_ends(wire_server: WireServer,
                                                         provider: OpenAIProvider) -> None:
    raw = (WIRE / "openai_chat_stream_text_after_tool_result.sse").read_bytes()
    first_text_event_end = raw.index(b"\n\n", raw.index(b'"content":"The"')) + 2
    release = wire_server.reply(body=raw, content_type="text/event-stream",
                                hold_after=first_text_event_end)
    stream = provider.astream(model="", system_prompt="", messages=ASK)
    assert await stream.__anext__() == "The"  # while the server still holds the rest
    release.set()
    rest = [item async for item in stream]
    assert "".join(i for i in rest if isinstance(i, str)) == " capital of the UK is London."
    assert not wire_server.hold_expired


async def test_agent_streams_a_full_tool_loop(wire_server: WireServer,
                                              provider: OpenAIProvider) -> None:
    from selectools import Agent, AgentConfig
    from selectools.types import AgentResult, StreamChunk

    wire_server.reply_file(WIRE / "openai_chat_stream_tool_call_role_in_first_chunk.sse",
                           chunk_size=80)
    wire_server.reply_file(WIRE / "openai_chat_stream_text_after_tool_result.sse", chunk_size=80)
    agent = Agent(tools=[get_capital], provider=provider, config=AgentConfig())
    items = [item async for item in agent.astream(ASK[0].content)]

    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.content == "The capital of the UK is London."
    assert [(c.tool_name, c.parameters) for c in result.tool_calls] == [
        ("get_capital", {"country": "UK"})]
    assert "".join(i.content for i in items if isinstance(i, StreamChunk)) == result.content
    assert result.usage is not None and result.usage.total_tokens == 68 + 87
    # the second request carries the call and its result, as the live one did
    recorded = json.loads((WIRE / "openai_chat_stream_text_after_tool_result.meta.json")
                          .read_text())["request"]["body"]["messages"]
    sent = wire_server.requests[1].json["messages"]
    assert sent[-1] == recorded[-1]
    assert sent[-2]["tool_calls"][0]["id"] == recorded[-2]["tool_calls"][0]["id"]
    assert json.loads(sent[-2]["tool_calls"][0]["function"]["arguments"]) == {"country": "UK"}
