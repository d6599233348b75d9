"""Anthropic Messages API: the pure parts on recorded transcripts, then end to end over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_replay import aiter_of, decoded, frames

from selectools.providers._framing import SseEvent
from selectools.providers.anthropic import (
    AnthropicProvider,
    build_request_body,
    decode_stream,
    error_from_response,
    parse_response,
)
from selectools.providers.errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
)
from selectools.types import (
    RAW_ARGUMENTS_KEY,
    ContentPart,
    Message,
    ReasoningDelta,
    Role,
    ToolCall,
    ToolDefinition,
    TurnEnd,
)
from selectools.usage import UsageStats

WIRE = Path(__file__).parent / "fixtures" / "wire"
KEY = "sk-ant-test-0123456789-secret"


def schema_tool(name: str, description: str,
                parameters_schema: dict[str, Any] | None = None) -> ToolDefinition:
    """A ToolDefinition, with a default schema."""
    if parameters_schema is None:
        parameters_schema = {"type": "object",
                             "properties": {"location": {"type": "string"}},
                             "required": ["location"]}
    return ToolDefinition(name, description, parameters_schema)


WEATHER = schema_tool("get_weather", "Weather of a city")


def decode(events: list[SseEvent], model: str = "claude-haiku-4-5") -> list[Any]:
    return decoded(decode_stream, events, model)


def decode_file(name: str) -> list[Any]:
    return decode(frames((WIRE / name).read_bytes()))


def split(items: list[Any]) -> tuple[str, list[ToolCall], list[UsageStats]]:
    text = "".join(i for i in items if isinstance(i, str))
    calls = [i for i in items if isinstance(i, ToolCall)]
    usage = [i for i in items if isinstance(i, UsageStats)]
    return text, calls, usage


# --------------------------------------------------------------------------- stream decoding

def test_text_stream_yields_each_delta_and_usage_last() -> None:
    items = decode_file("anthropic_messages_stream_text.sse")
    assert items[:3] == ["Hello", " there", "!"]
    assert items[3] == TurnEnd("completed", "end_turn")
    assert items[4] == UsageStats.priced(model="claude-3-opus-latest", provider="anthropic",
                                         prompt_tokens=11, completion_tokens=6)
    assert len(items) == 5


def test_recorded_text_stream_with_space_padded_data_lines() -> None:
    text, calls, usage = split(decode_file("anthropic_messages_stream_text_recorded.sse"))
    assert text == ("The weather in San Francisco, CA is currently:\n- **Temperature:** 68°F\n"
                    "- **Condition:** Sunny\n\nIt's a nice sunny day!")
    assert calls == []
    [stats] = usage
    assert (stats.prompt_tokens, stats.completion_tokens, stats.total_tokens) == (770, 38, 808)
    assert stats.model == "claude-haiku-4-5-20251001"
    assert stats.cost_usd == pytest.approx((770 * 1.00 + 38 * 5.00) / 1_000_000)


def test_tool_use_stream_assembles_json_fragments() -> None:
    items = decode_file("anthropic_messages_stream_tool_use.sse")
    assert items[:2] == ["I", "'ll check the current weather in Paris for you."]
    assert items[2] == ToolCall("get_weather", {"location": "Paris"},
                                id="toolu_01NRLabsLyVHZPKxbKvkfSMn")
    assert items[3] == TurnEnd("tool_calls", "tool_use")
    assert isinstance(items[4], UsageStats)
    assert (items[4].prompt_tokens, items[4].completion_tokens) == (377, 65)
    assert len(items) == 5


def test_recorded_tool_use_stream_counts_usage_cumulatively() -> None:
    text, calls, usage = split(decode_file("anthropic_messages_stream_tool_use_recorded.sse"))
    assert text == ""
    assert calls == [ToolCall("get_weather", {"location": "San Francisco, CA", "units": "f"},
                              id="toolu_018acGYLtfR52q9yDbWaEdQZ")]
    # message_start said 26 output tokens; message_delta's 74 is the running total, not +74.
    assert (usage[0].prompt_tokens, usage[0].completion_tokens) == (656, 74)


def test_tool_use_cut_off_by_max_tokens_is_yielded_raw_with_a_length_end() -> None:
    # Once dropped with only a log line; now the call comes with the input received so far
    # under RAW_ARGUMENTS_KEY and the turn ends "length": the agent does not run it.
    items = decode_file("anthropic_messages_stream_tool_use_max_tokens_incomplete_json.sse")
    text, calls, usage = split(items)
    assert text == ("I'll create a comprehensive tax guide for someone with multiple W2s and "
                    "save it in a file called taxes.txt. Let me do that for you now.")
    [call] = calls
    assert (call.tool_name, call.id) == ("make_file", "toolu_01EKqbqmZrGRXy18eN7m9kvY")
    assert set(call.parameters) == {RAW_ARGUMENTS_KEY}
    assert call.parameters[RAW_ARGUMENTS_KEY].startswith('{"filename": "taxes.txt", ')
    assert call.parameters[RAW_ARGUMENTS_KEY].endswith('"Filing taxes')
    assert items[-2:] == [TurnEnd("length", "max_tokens"), usage[0]]
    assert items.index(call) < items.index(TurnEnd("length", "max_tokens"))
    assert (usage[0].prompt_tokens, usage[0].completion_tokens) == (450, 124)


def test_error_event_mid_stream_raises_typed_error() -> None:
    with pytest.raises(OverloadedError) as caught:
        decode_file("anthropic_messages_stream_error_event.sse")
    assert caught.value.message == "Overloaded"
    assert caught.value.error_type == "overloaded_error"
    assert caught.value.provider == "anthropic"
    assert caught.value.should_retry


def test_error_event_after_text_raises_after_the_text() -> None:
    text = (WIRE / "anthropic_messages_stream_text.sse").read_bytes()
    data = text.split(b"event: content_block_stop")[0]
    data += (WIRE / "anthropic_messages_stream_error_event.sse").read_bytes()
    seen: list[Any] = []

    async def consume() -> None:
        async for item in decode_stream(aiter_of(frames(data)), "claude-haiku-4-5"):
            seen.append(item)

    with pytest.raises(OverloadedError):
        asyncio.run(consume())
    assert seen == ["Hello", " there", "!"]  # what came before the error was delivered


def test_unknown_block_types_are_skipped_and_thinking_is_never_text() -> None:
    events = [
        SseEvent("message_start", json.dumps({"type": "message_start", "message": {
            "model": "claude-sonnet-4-5", "usage": {"input_tokens": 5, "output_tokens": 1}}})),
        SseEvent("content_block_start", json.dumps({"type": "content_block_start", "index": 0,
                 "content_block": {"type": "thinking", "thinking": ""}})),
        SseEvent("content_block_delta", json.dumps({"type": "content_block_delta", "index": 0,
                 "delta": {"type": "thinking_delta", "thinking": "hmm"}})),
        SseEvent("content_block_stop", json.dumps({"type": "content_block_stop", "index": 0})),
        SseEvent("content_block_start", json.dumps({"type": "content_block_start", "index": 1,
                 "content_block": {"type": "server_tool_use", "id": "srvtoolu_1",
                                   "name": "web_search", "input": {}}})),
        SseEvent("content_block_delta", json.dumps({"type": "content_block_delta", "index": 1,
                 "delta": {"type": "input_json_delta", "partial_json": "{\"q\": 1}"}})),
        SseEvent("content_block_stop", json.dumps({"type": "content_block_stop", "index": 1})),
        SseEvent("content_block_start", json.dumps({"type": "content_block_start", "index": 2,
                 "content_block": {"type": "text", "text": ""}})),
        SseEvent("content_block_delta", json.dumps({"type": "content_block_delta", "index": 2,
                 "delta": {"type": "text_delta", "text": "Done."}})),
        SseEvent("brand_new_event", json.dumps({"type": "brand_new_event"})),
        SseEvent("message_delta", json.dumps({"type": "message_delta", "delta": {},
                 "usage": {"output_tokens": 9}})),
        SseEvent("message_stop", json.dumps({"type": "message_stop"})),
    ]
    items = decode(events)
    text, calls, usage = split(items)
    assert (text, calls) == ("Done.", [])
    assert (usage[0].prompt_tokens, usage[0].completion_tokens) == (5, 9)
    # (the thinking, unsigned here, shows as reasoning; see test_anthropic_reasoning.py)
    assert [i for i in items if isinstance(i, ReasoningDelta)] == [ReasoningDelta("hmm")]


def test_text_is_yielded_before_the_rest_of_the_stream_arrives() -> None:
    events = frames((WIRE / "anthropic_messages_stream_text.sse").read_bytes())
    consumed = 0

    async def counting() -> AsyncIterator[SseEvent]:
        nonlocal consumed
        for event in events:
            consumed += 1
            yield event

    async def first_item() -> tuple[Any, int]:
        stream = decode_stream(counting(), "m")
        item = await anext(stream)
        await stream.aclose()
        return item, consumed

    item, consumed_then = asyncio.run(first_item())
    assert item == "Hello"
    assert consumed_then < len(events)


SSE_FILES = sorted(p.name for p in WIRE.glob("anthropic_*.sse"))


@pytest.mark.parametrize("name", SSE_FILES)
def test_every_transcript_decodes(name: str) -> None:
    if "error" in name:
        with pytest.raises(OverloadedError):
            decode_file(name)
    else:
        assert isinstance(decode_file(name)[-1], UsageStats)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(SSE_FILES), data=st.data())
def test_any_chunking_decodes_identically(name: str, data: st.DataObject) -> None:
    raw = (WIRE / name).read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    if "error" in name:
        assert frames(raw, cuts) == frames(raw)
        return
    assert decode(frames(raw, cuts)) == decode(frames(raw))


# --------------------------------------------------------------------------- whole responses

def test_parse_recorded_tool_use_response() -> None:
    body = json.loads((WIRE / "anthropic_messages_tool_use.json").read_text())["body"]
    message, usage = parse_response(body, "claude-haiku-4-5")
    assert message.role is Role.ASSISTANT
    assert message.content == ""
    assert message.tool_calls == [ToolCall(
        "get_weather", {"location": "San Francisco, CA", "units": "c"},
        id="toolu_01GHndag5wQmbzNihYmV2UBj")]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.provider) == (659, 74,
                                                                              "anthropic")


def test_parse_text_and_parallel_tool_uses() -> None:
    body = json.loads((WIRE / "anthropic_messages_tool_use_parallel.json").read_text())
    message, usage = parse_response(body, "claude-haiku-4-5")
    assert message.content.startswith("I'll help you find out who is the youngest")
    assert [(c.tool_name, c.parameters, c.id) for c in message.tool_calls or []] == [
        ("retrieve_entity_info", {"name": "Alice"}, "toolu_0167cfEnoQaPviGdVXA95zcu"),
        ("retrieve_entity_info", {"name": "Bob"}, "toolu_01EEe2V5HD1Ac4rKiUR4HD2T"),
        ("retrieve_entity_info", {"name": "Charlie"}, "toolu_01XFyAjstT3966qvRynZyVPo"),
        ("retrieve_entity_info", {"name": "Daisy"}, "toolu_013mnQZbgtK2oe3Mo3XKJsx3"),
    ]
    assert (usage.prompt_tokens, usage.completion_tokens) == (423, 202)


# --------------------------------------------------------------------------- request bodies

def test_system_prompt_goes_in_the_system_field() -> None:
    body = build_request_body(model="claude-haiku-4-5", system_prompt="Be brief.",
                              messages=[Message(Role.SYSTEM, "Answer in French."),
                                        Message(Role.USER, "Hi")],
                              max_tokens=64, temperature=0.2)
    assert body["system"] == "Be brief.\n\nAnswer in French."
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("claude-haiku-4-5", 64,
                                                                         0.2)
    assert "stream" not in body and "tools" not in body


def test_tools_are_declared_with_input_schema() -> None:
    body = build_request_body(model="m", system_prompt="", messages=[Message(Role.USER, "x")],
                              tools=[WEATHER, schema_tool("now", "Current time", {})])
    assert body["tools"] == [
        {"name": "get_weather", "description": "Weather of a city",
         "input_schema": WEATHER.parameters_schema},
        {"name": "now", "description": "Current time",
         "input_schema": {"type": "object", "properties": {}}},
    ]
    assert "system" not in body


def test_parallel_tool_results_are_batched_into_one_user_message() -> None:
    calls = [ToolCall("get_weather", {"location": "Paris"}, id="toolu_a"),
             ToolCall("get_weather", {"location": "Rome"}, id="toolu_b")]
    messages = [
        Message(Role.USER, "Weather in Paris and Rome?"),
        Message(Role.ASSISTANT, "Checking both.", tool_calls=calls),
        Message(Role.TOOL, "18C", tool_name="get_weather", tool_call_id="toolu_a"),
        Message(Role.TOOL, "24C", tool_name="get_weather", tool_call_id="toolu_b"),
    ]
    body = build_request_body(model="m", system_prompt="", messages=messages, tools=[WEATHER])
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking both."},
            {"type": "tool_use", "id": "toolu_a", "name": "get_weather",
             "input": {"location": "Paris"}},
            {"type": "tool_use", "id": "toolu_b", "name": "get_weather",
             "input": {"location": "Rome"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "24C"}]},
    ]


def test_consecutive_same_role_messages_are_merged() -> None:
    messages = [Message(Role.USER, "one"), Message(Role.USER, "two"),
                Message(Role.ASSISTANT, "three"), Message(Role.ASSISTANT, ""),
                Message(Role.ASSISTANT, "four")]
    body = build_request_body(model="m", system_prompt="", messages=messages)
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "one"},
                                     {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "three"},
                                          {"type": "text", "text": "four"}]},
    ]


def test_tool_results_without_ids_are_linked_to_their_calls() -> None:
    messages = [
        Message(Role.USER, "go"),
        Message(Role.ASSISTANT, tool_calls=[ToolCall("a", {}), ToolCall("b", {"x": 1})]),
        Message(Role.TOOL, "B done", tool_name="b"),
        Message(Role.TOOL, "A done", tool_name="a"),
    ]
    body = build_request_body(model="m", system_prompt="", messages=messages)
    uses = body["messages"][1]["content"]
    results = body["messages"][2]["content"]
    assert [u["name"] for u in uses] == ["a", "b"]
    assert uses[0]["id"] != uses[1]["id"]
    assert results == [{"type": "tool_result", "tool_use_id": uses[1]["id"], "content": "B done"},
                       {"type": "tool_result", "tool_use_id": uses[0]["id"], "content": "A done"}]


def test_an_unlinkable_tool_result_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="tool_call_id"):
        build_request_body(model="m", system_prompt="",
                           messages=[Message(Role.TOOL, "orphan", tool_name="x")])


def test_images_become_base64_and_url_source_blocks() -> None:
    parts = [ContentPart("text", text="Compare these"),
             ContentPart("image_base64", image_base64="iVBORw0KGgo=", media_type="image/png"),
             ContentPart("image_url", image_url="https://example.com/cat.jpg"),
             ContentPart("image_url", image_url="data:image/jpeg;base64,/9j/4AAQ")]
    body = build_request_body(model="m", system_prompt="",
                              messages=[Message(Role.USER, "Compare these", content_parts=parts)])
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "Compare these"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg",
                                     "data": "/9j/4AAQ"}},
    ]


# --------------------------------------------------------------------------- errors

def _error_file(name: str) -> tuple[int, dict[str, str], bytes]:
    record = json.loads((WIRE / name).read_text())
    headers = {k: v[0] if isinstance(v, list) else v
               for k, v in (record.get("headers") or {}).items()}
    return record["status"], headers, json.dumps(record["body"]).encode()


@pytest.mark.parametrize(("name", "kind", "error_type", "request_id", "should_retry"), [
    ("anthropic_error_400_invalid_request.json", InvalidRequestError, "invalid_request_error",
     "req_011CYHyk9NPsBYeGbC9LuDNK", False),
    ("anthropic_error_404_not_found.json", NotFoundError, "not_found_error",
     "req_011CdufXo8Y2LVfY2veyuQWG", False),
    ("anthropic_error_429_rate_limit.json", RateLimitError, "rate_limit_error",
     "req_011CYK5n67SytMUxm8WMZUWY", True),
    ("anthropic_error_529_overloaded.json", OverloadedError, "overloaded_error",
     "req_011CZAau32QzxDkriovTaFCB", True),
])
def test_error_files_map_to_typed_errors(name: str, kind: type[Exception], error_type: str,
                                         request_id: str, should_retry: bool) -> None:
    status, headers, body = _error_file(name)
    error = error_from_response(status, headers, body)
    assert type(error) is kind
    assert (error.status, error.error_type, error.request_id) == (status, error_type, request_id)
    assert error.should_retry is should_retry
    assert error.provider == "anthropic"
    assert error.message == json.loads(body)["error"]["message"]
    assert error.message in str(error)


def test_retry_after_header_sets_the_delay() -> None:
    status, _, body = _error_file("anthropic_error_429_rate_limit.json")
    error = error_from_response(status, {"retry-after": "7"}, body)
    assert error.retry_after == 7.0


def test_prompt_too_long_is_a_context_length_error() -> None:
    body = {"type": "error", "error": {"type": "invalid_request_error",
                                       "message": "prompt is too long: 208310 tokens > 200000 "
                                                  "maximum"}}
    error = error_from_response(400, {}, json.dumps(body).encode())
    assert isinstance(error, ContextLengthError)


def test_a_non_json_error_body_is_quoted() -> None:
    error = error_from_response(502, {}, b"<html>Bad Gateway</html>")
    assert "Bad Gateway" in error.message and error.should_retry


# --------------------------------------------------------------------------- end to end

@pytest.fixture
def provider(wire_server: Any) -> Iterator[AnthropicProvider]:
    provider = AnthropicProvider(api_key=KEY, base_url=wire_server.url, max_retries=0)
    yield provider
    provider.close()


HISTORY = [Message(Role.USER, "What's the weather in SF?")]


def _assert_request(wire_server: Any, *, stream: bool) -> dict[str, Any]:
    [request] = wire_server.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = request.json
    assert body["model"] == "claude-haiku-4-5"
    assert body["system"] == "Use tools."
    assert body["tools"][0]["input_schema"] == WEATHER.parameters_schema
    assert body.get("stream", False) is stream
    return body


def test_complete_end_to_end(wire_server: Any, provider: AnthropicProvider) -> None:
    record = json.loads((WIRE / "anthropic_messages_tool_use.json").read_text())
    wire_server.reply(body=record["body"])
    message, usage = provider.complete(model="", system_prompt="Use tools.", messages=HISTORY,
                                       tools=[WEATHER])
    assert message.tool_calls == [ToolCall("get_weather",
                                           {"location": "San Francisco, CA", "units": "c"},
                                           id="toolu_01GHndag5wQmbzNihYmV2UBj")]
    assert usage.total_tokens == 659 + 74
    _assert_request(wire_server, stream=False)


async def test_acomplete_end_to_end(wire_server: Any, provider: AnthropicProvider) -> None:
    wire_server.reply_file(WIRE / "anthropic_messages_tool_use_parallel.json")
    async with provider:
        message, usage = await provider.acomplete(model=None, system_prompt="Use tools.",
                                                  messages=HISTORY, tools=[WEATHER])
    assert len(message.tool_calls or []) == 4
    assert usage.completion_tokens == 202
    _assert_request(wire_server, stream=False)


def test_stream_end_to_end(wire_server: Any, provider: AnthropicProvider) -> None:
    wire_server.reply_file(WIRE / "anthropic_messages_stream_tool_use.sse", chunk_size=7)
    items = list(provider.stream(model="claude-haiku-4-5", system_prompt="Use tools.",
                                 messages=HISTORY, tools=[WEATHER]))
    assert items == decode_file("anthropic_messages_stream_tool_use.sse")
    _assert_request(wire_server, stream=True)


async def test_astream_end_to_end(wire_server: Any, provider: AnthropicProvider) -> None:
    wire_server.reply_file(WIRE / "anthropic_messages_stream_tool_use_recorded.sse",
                           chunk_size=50)
    items = [item async for item in provider.astream(
        model="claude-haiku-4-5", system_prompt="Use tools.", messages=HISTORY,
        tools=[WEATHER])]
    await provider.aclose()
    text, calls, usage = split(items)
    assert calls[0].parameters == {"location": "San Francisco, CA", "units": "f"}
    assert usage[0].completion_tokens == 74
    _assert_request(wire_server, stream=True)


async def test_http_error_end_to_end_never_shows_the_key(wire_server: Any,
                                                         provider: AnthropicProvider) -> None:
    status, headers, body = _error_file("anthropic_error_429_rate_limit.json")
    wire_server.reply(status=status, body=body, headers={"x-should-retry": "true",
                                                         "retry-after": "3"})
    with pytest.raises(RateLimitError) as caught:
        await provider.acomplete(model="", system_prompt="", messages=HISTORY)
    await provider.aclose()
    assert caught.value.retry_after == 3.0
    assert caught.value.request_id == "req_011CYK5n67SytMUxm8WMZUWY"
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert KEY not in repr(provider)


async def test_error_event_end_to_end(wire_server: Any, provider: AnthropicProvider) -> None:
    wire_server.reply_file(WIRE / "anthropic_messages_stream_error_event.sse")
    with pytest.raises(OverloadedError):
        async for _ in provider.astream(model="", system_prompt="", messages=HISTORY):
            pass
    await provider.aclose()


def test_key_and_base_url_come_from_the_environment(wire_server: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key-123")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", wire_server.url)
    provider = AnthropicProvider(model="claude-sonnet-4-5")
    assert provider.name == "anthropic"
    assert provider.default_model == "claude-sonnet-4-5"
    wire_server.reply_file(WIRE / "anthropic_messages_tool_use_parallel.json")
    provider.complete(model="", system_prompt="", messages=HISTORY)
    provider.close()
    [request] = wire_server.requests
    assert request.headers["x-api-key"] == "env-key-123"
    assert request.json["model"] == "claude-sonnet-4-5"


def test_a_missing_key_is_refused_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with pytest.raises(AuthenticationError, match="ANTHROPIC_API_KEY"):
        AnthropicProvider()
    assert AnthropicProvider(api_key="k").default_model == "claude-haiku-4-5"


# --------------------------------------------------------------------------- through the agent

async def test_agent_streams_a_full_tool_loop(wire_server: Any,
                                              provider: AnthropicProvider) -> None:
    from selectools import Agent, AgentConfig, tool
    from selectools.types import AgentResult, StreamChunk

    @tool(description="Lookup the weather")
    def get_weather(location: str, units: str) -> str:
        return f"68°F and sunny in {location} ({units})"

    wire_server.reply_file(WIRE / "anthropic_messages_stream_tool_use_recorded.sse",
                           chunk_size=40)
    wire_server.reply_file(WIRE / "anthropic_messages_stream_text_recorded.sse", chunk_size=40)
    agent = Agent(tools=[get_weather], provider=provider,
                  config=AgentConfig(system_prompt="Use tools."))
    items = [item async for item in agent.astream("What is the weather in SF?")]
    await provider.aclose()

    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.content.endswith("It's a nice sunny day!")
    assert [c.tool_name for c in result.tool_calls] == ["get_weather"]
    assert "".join(i.content for i in items if isinstance(i, StreamChunk)).endswith(
        "a nice sunny day!")
    second = wire_server.requests[1].json
    assert second["system"] == "Use tools."
    assert second["messages"][1:] == [
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_018acGYLtfR52q9yDbWaEdQZ", "name": "get_weather",
             "input": {"location": "San Francisco, CA", "units": "f"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_018acGYLtfR52q9yDbWaEdQZ",
             "content": "68°F and sunny in San Francisco, CA (f)"}]},
    ]


async def test_a_connection_dropped_mid_stream_is_a_connection_error(
        wire_server: Any, provider: AnthropicProvider) -> None:
    from selectools.providers.errors import ProviderConnectionError

    raw = (WIRE / "anthropic_messages_stream_text.sse").read_bytes()
    wire_server.reply(body=raw, content_type="text/event-stream", chunk_size=64,
                      cut_after=raw.index(b"event: content_block_stop"))
    seen: list[Any] = []
    with pytest.raises(ProviderConnectionError):
        async for item in provider.astream(model="", system_prompt="", messages=HISTORY):
            seen.append(item)
    await provider.aclose()
    assert seen == ["Hello", " there", "!"]
