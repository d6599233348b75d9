"""Ollama /api/chat: the pure parts on the docs' transcripts, and the provider over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from held_end_server import held_end_server
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_replay import decoded, frames
from wire_server import WireServer

from selectools.providers import ollama
from selectools.providers._framing import NdjsonDecoder
from selectools.providers.base import StreamItem
from selectools.providers.errors import (
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    ServerError,
    StreamError,
)
from selectools.providers.ollama import OllamaProvider, normalize_host
from selectools.tools import tool
from selectools.types import RAW_ARGUMENTS_KEY, ContentPart, Message, Role, ToolCall, TurnEnd
from selectools.usage import UsageStats

WIRE = Path(__file__).parent / "fixtures" / "wire"
Item = StreamItem
ASK = [Message(Role.USER, "What is the weather in Tokyo?")]


@tool()
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return "sunny"


def decode(raw: bytes, cuts: list[int] | None = None) -> list[Item]:
    return decoded(ollama.decode_stream, frames(raw, cuts or (), ndjson=True), "llama3.2")


def ndjson(*lines: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


# -- decoding ----------------------------------------------------------------------------------


def test_stream_with_a_tool_call() -> None:
    items = decode((WIRE / "ollama_chat_stream_tools.ndjson").read_bytes())
    call, end, usage = items
    assert end == TurnEnd("tool_calls", "stop")
    assert isinstance(call, ToolCall)
    assert (call.tool_name, call.parameters) == ("get_weather", {"city": "Tokyo"})
    assert call.id and call.id.startswith("call_")  # Ollama gave none: one is made
    assert usage == UsageStats(169, 15, 184, None, "llama3.2", "ollama")


def test_stream_of_text() -> None:
    assert decode((WIRE / "ollama_chat_stream_text.ndjson").read_bytes()) == [
        "The", TurnEnd("completed"), UsageStats(26, 282, 308, None, "llama3.2", "ollama")]


@pytest.mark.parametrize("name", ["ollama_chat_stream_tools.ndjson",
                                  "ollama_chat_stream_text.ndjson"])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_network_chunking_decodes_identically(name: str, data: st.DataObject) -> None:
    raw = (WIRE / name).read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    first, second = decode(raw, cuts), decode(raw)
    # made-up call ids differ between runs; everything else must not
    for a, b in zip(first, second, strict=True):
        if isinstance(a, ToolCall) and isinstance(b, ToolCall):
            assert (a.tool_name, a.parameters) == (b.tool_name, b.parameters)
        else:
            assert a == b


def test_newer_servers_give_ids_and_indexes_in_any_key_order() -> None:
    raw = ndjson(
        {"message": {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"index": 1, "name": "b", "arguments": {}}, "id": "call_b"},
            {"id": "call_a", "function": {"arguments": {"x": [1, 2]}, "name": "a", "index": 0}},
        ]}, "done": False},
        {"done": True, "done_reason": "stop", "message": {"role": "assistant", "content": ""},
         "prompt_eval_count": 5, "eval_count": 2},
    )
    assert decode(raw) == [ToolCall("a", {"x": [1, 2]}, id="call_a"),
                           ToolCall("b", {}, id="call_b"),
                           TurnEnd("tool_calls", "stop"),
                           UsageStats(5, 2, 7, None, "llama3.2", "ollama")]


def test_string_arguments_are_parsed_and_bad_ones_kept_raw() -> None:
    raw = ndjson({"message": {"tool_calls": [
        {"function": {"name": "f", "arguments": '{"a": 1}'}},
        {"function": {"name": "g", "arguments": "{broken"}},
    ]}, "done": True})
    calls = decode(raw)[:2]
    assert [c.parameters for c in calls if isinstance(c, ToolCall)] == [
        {"a": 1}, {RAW_ARGUMENTS_KEY: "{broken"}]


def test_error_line_mid_stream_is_a_stream_error_after_the_text() -> None:
    raw = (WIRE / "ollama_generate_stream_midstream_error.ndjson").read_bytes()
    seen: list[Item] = []

    async def run() -> None:
        async def source() -> Any:
            for line in NdjsonDecoder().feed(raw):
                yield line
        async for item in ollama.decode_stream(source(), "gemma4"):
            seen.append(item)

    with pytest.raises(StreamError, match="an error was encountered while running the model"):
        asyncio.run(run())
    assert seen == [" Yes", ".", "I", "can"]


def test_parse_whole_response() -> None:
    data = json.loads((WIRE / "ollama_chat_tools.json").read_text())
    message, usage = ollama.parse_response(data, "llama3.2")
    assert message.role == Role.ASSISTANT and message.content == ""
    assert [(c.tool_name, c.parameters) for c in message.tool_calls or []] == [
        ("get_weather", {"city": "Tokyo"})]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (169, 18, 187)


# -- requests ----------------------------------------------------------------------------------


def test_request_body_for_a_tool_turn(ollama_request_schema: Callable[[Any], None]) -> None:
    call = ToolCall("get_weather", {"city": "Tokyo"}, id="call_1")
    body = ollama.build_request_body(
        model="llama3.2", system_prompt="Be brief.", tools=[get_weather.definition], stream=True,
        temperature=0.2, max_tokens=99, messages=[
            *ASK,
            Message(Role.ASSISTANT, "", tool_calls=[call]),
            Message(Role.TOOL, "", tool_name="get_weather", tool_result="sunny",
                    tool_call_id="call_1"),
        ])
    ollama_request_schema(body)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the weather in Tokyo?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "Tokyo"}},
             "id": "call_1"}]},
        {"role": "tool", "content": "sunny", "tool_name": "get_weather",
         "tool_call_id": "call_1"},
    ]
    assert body["options"] == {"temperature": 0.2, "num_predict": 99}
    assert body["stream"] is True
    assert body["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city.",
        "parameters": get_weather.parameters_schema}}]


def test_images_go_as_base64_list(ollama_request_schema: Callable[[Any], None]) -> None:
    message = Message(Role.USER, content_parts=[
        ContentPart(type="text", text="What is this?"),
        ContentPart(type="image_base64", image_base64="iVBORw0KGgo="),
        ContentPart(type="image_url", image_url="data:image/png;base64,R0lGOD=="),
    ])
    body = ollama.build_request_body(model="llava", system_prompt="", messages=[message])
    ollama_request_schema(body)
    assert body["messages"] == [{"role": "user", "content": "What is this?",
                                 "images": ["iVBORw0KGgo=", "R0lGOD=="]}]


def test_image_url_is_refused_clearly() -> None:
    message = Message(Role.USER, content_parts=[
        ContentPart(type="image_url", image_url="https://example.com/cat.png")])
    with pytest.raises(ValueError, match="base64"):
        ollama.build_request_body(model="llava", system_prompt="", messages=[message])


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "kind"), [
    (400, InvalidRequestError), (404, NotFoundError), (429, RateLimitError),
    (500, ServerError), (502, ServerError)])
def test_error_body_with_each_status(status: int, kind: type[ProviderError]) -> None:
    body = (WIRE / "ollama_error.json").read_bytes()
    error = ollama.error_from_response(status, {}, body)
    assert type(error) is kind
    assert error.message == "the model failed to generate a response"
    assert (error.status, error.provider) == (status, "ollama")


# -- provider ----------------------------------------------------------------------------------


def test_host_from_argument_environment_or_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert OllamaProvider().host == "http://localhost:11434"
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11434")
    assert OllamaProvider().host == "http://127.0.0.1:11434"
    assert OllamaProvider(host="https://ollama.example.com/").host == "https://ollama.example.com"
    assert normalize_host("gpu-box") == "http://gpu-box:11434"
    provider = OllamaProvider(model="qwen3")
    assert (provider.name, provider.default_model) == ("ollama", "qwen3")
    assert OllamaProvider.default_model == "llama3.2"


@pytest.fixture
async def provider(wire_server: WireServer) -> AsyncIterator[OllamaProvider]:
    made = OllamaProvider(host=wire_server.url)
    yield made
    await made.aclose()


async def test_astream_end_to_end(wire_server: WireServer, provider: OllamaProvider,
                                  ollama_request_schema: Callable[[Any], None]) -> None:
    wire_server.reply_file(WIRE / "ollama_chat_stream_tools.ndjson", chunk_size=50)
    items = [i async for i in provider.astream(model="", system_prompt="s", messages=ASK,
                                               tools=[get_weather.definition])]
    assert [(i.tool_name, i.parameters) for i in items if isinstance(i, ToolCall)] == [
        ("get_weather", {"city": "Tokyo"})]
    assert isinstance(items[-1], UsageStats) and items[-1].total_tokens == 184
    request = wire_server.requests[0]
    assert (request.method, request.path) == ("POST", "/api/chat")
    assert "authorization" not in request.headers
    ollama_request_schema(request.json)
    assert request.json["model"] == "llama3.2" and request.json["stream"] is True


async def test_streams_reuse_their_connection_when_the_body_ends_after_done() -> None:
    # The end of the body may come in a read after the `"done": true` line; the stream is
    # read to that end, so the next call goes over the same connection.
    body = (WIRE / "ollama_chat_stream_tools.ndjson").read_bytes()
    async with held_end_server(body, "application/x-ndjson") as server:
        provider = OllamaProvider(host=server.url)
        try:
            for _ in range(3):
                items = []
                async for item in provider.astream(model="", system_prompt="", messages=ASK):
                    items.append(item)
                    if isinstance(item, UsageStats):
                        server.end.set()  # all items are out: now let the body end
                assert isinstance(items[-1], UsageStats)
        finally:
            await provider.aclose()
    assert len(server.peers) == 3 and len(set(server.peers)) == 1


async def test_acomplete_end_to_end(wire_server: WireServer, provider: OllamaProvider,
                                    ollama_request_schema: Callable[[Any], None]) -> None:
    wire_server.reply_file(WIRE / "ollama_chat_tools.json")
    message, usage = await provider.acomplete(model="llama3.2", system_prompt="", messages=ASK)
    assert message.tool_calls and message.tool_calls[0].parameters == {"city": "Tokyo"}
    assert usage.completion_tokens == 18
    ollama_request_schema(wire_server.requests[0].json)
    assert wire_server.requests[0].json["stream"] is False


def test_sync_methods_twice(wire_server: WireServer) -> None:
    provider = OllamaProvider(host=wire_server.url)
    for _ in range(2):
        wire_server.reply_file(WIRE / "ollama_chat_stream_text.ndjson")
        assert [i for i in provider.stream(model="", system_prompt="", messages=ASK)
                if isinstance(i, str)] == ["The"]
        wire_server.reply_file(WIRE / "ollama_chat_tools.json")
        message, _ = provider.complete(model="", system_prompt="", messages=ASK)
        assert message.tool_calls
    provider.close()


async def test_error_status_and_stream_error(wire_server: WireServer,
                                             provider: OllamaProvider) -> None:
    wire_server.reply_file(WIRE / "ollama_error.json", status=404)
    with pytest.raises(NotFoundError, match="failed to generate"):
        await provider.acomplete(model="", system_prompt="", messages=ASK)
    # an error line before any item is retried (once here), then raised
    for _ in range(2):
        wire_server.reply(body=b'{"error":"an error was encountered while running the model"}\n',
                          content_type="application/x-ndjson")
    quick = provider.with_options(max_retries=1)
    with pytest.raises(StreamError, match="while running the model"):
        async for _ in quick.astream(model="", system_prompt="", messages=ASK):
            pass
    assert len(wire_server.requests) == 3


async def test_text_arrives_before_the_stream_ends(wire_server: WireServer,
                                                   provider: OllamaProvider) -> None:
    raw = (WIRE / "ollama_chat_stream_text.ndjson").read_bytes()
    release = wire_server.reply(body=raw, content_type="application/x-ndjson",
                                hold_after=raw.index(b"\n") + 1)
    stream = provider.astream(model="", system_prompt="", messages=ASK)
    assert await stream.__anext__() == "The"  # while the server still holds the last line
    release.set()
    assert [item async for item in stream] == [
        TurnEnd("completed"), UsageStats(26, 282, 308, None, "llama3.2", "ollama")]
    assert not wire_server.hold_expired


async def test_agent_streams_a_full_tool_loop(wire_server: WireServer,
                                              provider: OllamaProvider) -> None:
    from selectools import Agent, AgentConfig
    from selectools.types import AgentResult

    wire_server.reply_file(WIRE / "ollama_chat_stream_tools.ndjson", chunk_size=64)
    wire_server.reply_file(WIRE / "ollama_chat_stream_text.ndjson", chunk_size=64)
    agent = Agent(tools=[get_weather], provider=provider, config=AgentConfig())
    items = [item async for item in agent.astream(ASK[0].content)]

    result = items[-1]
    assert isinstance(result, AgentResult) and result.content == "The"
    assert [(c.tool_name, c.parameters) for c in result.tool_calls] == [
        ("get_weather", {"city": "Tokyo"})]
    call_id = result.tool_calls[0].id
    second = wire_server.requests[1].json["messages"]
    assert second[-2]["tool_calls"] == [
        {"function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}, "id": call_id}]
    assert second[-1] == {"role": "tool", "content": "sunny", "tool_name": "get_weather",
                          "tool_call_id": call_id}
