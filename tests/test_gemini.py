"""Gemini (generativelanguage v1beta): pure parts on recorded transcripts, then end to end."""

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
from selectools.providers._gemini_schema import gemini_schema
from selectools.providers.errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
)
from selectools.providers.gemini import (
    GeminiProvider,
    build_request_body,
    decode_stream,
    error_from_response,
    parse_response,
)
from selectools.types import ContentPart, Message, Role, ToolCall, ToolDefinition, TurnEnd
from selectools.usage import UsageStats

WIRE = Path(__file__).parent / "fixtures" / "wire"
KEY = "AIzaSy-test-0123456789-secret"


def schema_tool(name: str, description: str,
                parameters_schema: dict[str, Any] | None = None) -> ToolDefinition:
    """A ToolDefinition, with a default schema."""
    if parameters_schema is None:
        parameters_schema = {"type": "object", "properties": {"city": {"type": "string"}},
                             "required": ["city"], "additionalProperties": False}
    return ToolDefinition(name, description, parameters_schema)


WEATHER = schema_tool("get_weather", "Get the current weather for a city.")
WEATHER_DECLARATION = {
    "name": "get_weather", "description": "Get the current weather for a city.",
    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                   "required": ["city"]}}


def decode(events: list[SseEvent], model: str = "gemini-2.5-flash") -> list[Any]:
    return decoded(decode_stream, events, model)


def decode_file(name: str) -> list[Any]:
    return decode(frames((WIRE / name).read_bytes()))


def signature_in(name: str, index: int = 0) -> str:
    """The thoughtSignature of the first functionCall part in a recorded file."""
    text = (WIRE / name).read_text()
    if name.endswith(".sse"):
        text = text.split("data: ", 2)[1].strip()
    parts = json.loads(text)["candidates"][0]["content"]["parts"]
    return str(parts[index]["thoughtSignature"])


def without_ids(items: list[Any]) -> list[Any]:
    """Items with made-up call ids blanked, for comparing two decodes of one transcript."""
    return [ToolCall(i.tool_name, i.parameters, None, i.provider_data)
            if isinstance(i, ToolCall) else i for i in items]


# --------------------------------------------------------------------------- stream decoding

def test_function_call_stream_keeps_the_thought_signature() -> None:
    items = decode_file("gemini_stream_function_call.sse")
    call, end, usage = items
    assert end == TurnEnd("tool_calls", "STOP")
    assert isinstance(call, ToolCall)
    assert (call.tool_name, call.parameters) == ("get_country", {})
    assert call.provider_data == {
        "thoughtSignature": signature_in("gemini_stream_function_call.sse")}
    assert call.id and call.id.startswith("call_")  # Gemini gave none, so one is made
    assert usage == UsageStats.priced(model="gemini-3-pro-preview", provider="gemini",
                                      prompt_tokens=29, completion_tokens=10 + 202,
                                      reasoning_tokens=202)
    assert usage.total_tokens == 241  # Gemini's own totalTokenCount


def test_function_call_and_finish_in_one_chunk() -> None:
    call, end, usage = decode_file("gemini_stream_function_call_single_chunk.sse")
    assert end == TurnEnd("tool_calls", "STOP")
    assert call == ToolCall("get_capital", {"country": "France"}, id=call.id)
    assert call.provider_data is None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.model) == (52, 5,
                                                                           "gemini-2.0-flash")


def test_text_stream_yields_each_chunk_and_the_last_usage() -> None:
    items = decode_file("gemini_stream_text_after_function_response.sse")
    assert items[:2] == ["The capital of Mexico", " is Mexico City."]
    assert items[2] == TurnEnd("completed", "STOP")
    assert (items[3].prompt_tokens, items[3].completion_tokens) == (257, 8)
    assert len(items) == 4


def test_gemini_call_ids_are_kept_and_made_ids_are_unique() -> None:
    chunk = {"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"id": "fc-7", "name": "a", "args": {"x": 1}}},
        {"functionCall": {"name": "b", "args": {}}},
        {"functionCall": {"name": "b", "args": {}}}]}, "finishReason": "STOP"}]}
    calls = decode([SseEvent(None, json.dumps(chunk))])[:3]
    assert calls[0] == ToolCall("a", {"x": 1}, id="fc-7")
    assert calls[1].id != calls[2].id


def test_thought_parts_are_not_answer_text() -> None:
    chunk = {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Let me think", "thought": True}, {"text": "42"}]}, "finishReason": "STOP"}]}
    items = decode([SseEvent(None, json.dumps(chunk))])
    assert [item for item in items if isinstance(item, str)] == ["42"]


def test_error_payload_inside_a_200_stream_raises_typed_error() -> None:
    record = json.loads((WIRE / "gemini_stream_midstream_error_chunk.json").read_text())
    text = (WIRE / "gemini_stream_text_after_function_response.sse").read_bytes()
    first_chunk = text.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    data = first_chunk + b"data: " + json.dumps(record["body"]).encode() + b"\r\n\r\n"
    seen: list[Any] = []

    async def consume() -> None:
        async for item in decode_stream(aiter_of(frames(data)), "gemini-2.5-flash"):
            seen.append(item)

    with pytest.raises(RateLimitError) as caught:
        asyncio.run(consume())
    assert seen == ["The capital of Mexico"]
    assert (caught.value.status, caught.value.error_type) == (429, "RESOURCE_EXHAUSTED")
    assert caught.value.message == "Resource exhausted."


def test_a_blocked_prompt_ends_the_turn_with_content_filter() -> None:
    # One vocabulary for every protocol: a blocked prompt, like OpenAI's content_filter or
    # Anthropic's refusal, is a turn that ends "content_filter" (it was an error once).
    chunk = {"promptFeedback": {"blockReason": "OTHER"}, "usageMetadata": {}}
    items = decode([SseEvent(None, json.dumps(chunk))])
    assert items[:-1] == [TurnEnd("content_filter", "OTHER")]
    message, _ = parse_response(chunk, "m")
    assert (message.content, message.tool_calls, message.stop_reason) == (
        "", None, "content_filter")


def test_text_is_yielded_before_the_rest_of_the_stream_arrives() -> None:
    events = frames((WIRE / "gemini_stream_text_after_function_response.sse").read_bytes())
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

    assert asyncio.run(first_item()) == ("The capital of Mexico", 1)


SSE_FILES = sorted(p.name for p in WIRE.glob("gemini_*.sse"))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(SSE_FILES), data=st.data())
def test_any_chunking_decodes_identically(name: str, data: st.DataObject) -> None:
    raw = (WIRE / name).read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    assert without_ids(decode(frames(raw, cuts))) == without_ids(decode(frames(raw)))


# --------------------------------------------------------------------------- whole responses

def test_parse_function_call_response() -> None:
    data = json.loads((WIRE / "gemini_generate_content_function_call.json").read_text())
    message, usage = parse_response(data, "gemini-2.5-flash")
    assert message.role is Role.ASSISTANT and message.content == ""
    [call] = message.tool_calls or []
    assert (call.tool_name, call.parameters) == ("get_weather", {"city": "Paris"})
    assert call.provider_data == {
        "thoughtSignature": signature_in("gemini_generate_content_function_call.json")}
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (49, 63, 112)
    assert usage.cost_usd == pytest.approx((49 * 0.30 + 63 * 2.50) / 1_000_000)


def test_parse_parallel_function_calls() -> None:
    data = json.loads((WIRE / "gemini_generate_content_parallel_function_calls.json").read_text())
    message, usage = parse_response(data, "gemini-3-flash-preview")
    calls = message.tool_calls or []
    assert [c.tool_name for c in calls] == ["generate_topic"] * 3
    assert calls[0].provider_data == {"thoughtSignature": signature_in(
        "gemini_generate_content_parallel_function_calls.json")}
    assert calls[1].provider_data is None and calls[2].provider_data is None
    assert len({c.id for c in calls}) == 3
    assert usage.total_tokens == 303


# --------------------------------------------------------------------------- request bodies

def test_system_prompt_roles_and_generation_config() -> None:
    body = build_request_body(system_prompt="Be brief.",
                              messages=[Message(Role.SYSTEM, "Answer in French."),
                                        Message(Role.USER, "Hi"),
                                        Message(Role.ASSISTANT, "Salut"),
                                        Message(Role.USER, "Again")],
                              temperature=0.3, max_tokens=77)
    assert body == {
        "systemInstruction": {"parts": [{"text": "Be brief.\n\nAnswer in French."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]},
                     {"role": "model", "parts": [{"text": "Salut"}]},
                     {"role": "user", "parts": [{"text": "Again"}]}],
        "generationConfig": {"temperature": 0.3, "maxOutputTokens": 77},
    }


def test_tools_are_function_declarations_in_gemini_schema() -> None:
    body = build_request_body(system_prompt="", messages=[Message(Role.USER, "x")],
                              tools=[WEATHER, schema_tool("now", "Current time", {})])
    assert body["tools"] == [{"functionDeclarations": [
        WEATHER_DECLARATION, {"name": "now", "description": "Current time"}]}]


def test_json_schema_is_cut_down_to_what_gemini_accepts() -> None:
    schema = {
        "$defs": {
            "Unit": {"enum": ["c", "f"], "title": "Unit", "type": "string"},
            "Point": {"type": "object", "title": "Point", "additionalProperties": False,
                      "properties": {"x": {"type": "number", "title": "X"}}, "required": ["x"]},
        },
        "additionalProperties": False, "title": "Args", "type": "object",
        "properties": {
            "city": {"title": "City", "type": "string", "description": "City name"},
            "unit": {"$ref": "#/$defs/Unit"},
            "days": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
            "level": {"enum": [1, 2, 3], "type": "integer"},
            "where": {"allOf": [{"$ref": "#/$defs/Point"}], "description": "A point"},
            "tags": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "when": {"type": "string", "format": "date-time"},
            "note": {"type": ["string", "null"]},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        },
        "required": ["city", "unit"],
    }
    assert gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {
            "city": {"type": "STRING", "description": "City name"},
            "unit": {"type": "STRING", "enum": ["c", "f"]},
            "days": {"type": "INTEGER", "nullable": True},
            "level": {"type": "INTEGER", "description": "(one of: 1, 2, 3)"},
            "where": {"type": "OBJECT", "description": "A point",
                      "properties": {"x": {"type": "NUMBER"}}, "required": ["x"]},
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
            "when": {"type": "STRING", "format": "date-time"},
            "note": {"type": "STRING", "nullable": True},
            "either": {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]},
        },
        "required": ["city", "unit"],
    }


def test_a_recursive_ref_is_cut_to_a_bare_object() -> None:
    schema = {"type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}},
              "$defs": {"Node": {"type": "object",
                                 "properties": {"child": {"$ref": "#/$defs/Node"}}}}}
    assert gemini_schema(schema)["properties"]["root"] == {
        "type": "OBJECT", "properties": {"child": {"type": "OBJECT"}}}


def test_tool_turns_echo_the_signature_and_batch_the_responses() -> None:
    signature = signature_in("gemini_stream_function_call.sse")
    calls = [ToolCall("get_weather", {"city": "Paris"}, id="call_1",
                      provider_data={"thoughtSignature": signature}),
             ToolCall("get_weather", {"city": "Rome"}, id="call_2")]
    messages = [
        Message(Role.USER, "Paris and Rome?"),
        Message(Role.ASSISTANT, "", tool_calls=calls),
        Message(Role.TOOL, "18C", tool_name="get_weather", tool_call_id="call_1"),
        Message(Role.TOOL, "24C", tool_call_id="call_2"),  # the name is found by id
    ]
    body = build_request_body(system_prompt="", messages=messages, tools=[WEATHER])
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Paris and Rome?"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"},
             "thoughtSignature": signature},
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "call_2"}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"result": "18C"},
                                  "id": "call_1"}},
            {"functionResponse": {"name": "get_weather", "response": {"result": "24C"},
                                  "id": "call_2"}}]},
    ]


def test_a_parsed_call_goes_back_unchanged_on_the_next_turn() -> None:
    data = json.loads((WIRE / "gemini_generate_content_function_call.json").read_text())
    answer, _ = parse_response(data, "gemini-2.5-flash")
    [call] = answer.tool_calls or []
    body = build_request_body(system_prompt="", messages=[
        Message(Role.USER, "What's the weather in Paris?"), answer,
        Message(Role.TOOL, "sunny", tool_name="get_weather", tool_call_id=call.id)])
    sent = data["candidates"][0]["content"]["parts"][0]
    assert body["contents"][1] == {"role": "model", "parts": [
        {"functionCall": {**sent["functionCall"], "id": call.id},
         "thoughtSignature": sent["thoughtSignature"]}]}


def test_a_tool_result_without_a_name_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="tool_name"):
        build_request_body(system_prompt="", messages=[Message(Role.TOOL, "orphan")])


def test_images_become_inline_and_file_data() -> None:
    parts = [ContentPart("text", text="Compare"),
             ContentPart("image_base64", image_base64="iVBORw0KGgo=", media_type="image/png"),
             ContentPart("image_url", image_url="https://example.com/cat.jpg"),
             ContentPart("image_url", image_url="data:image/webp;base64,UklGRg==")]
    body = build_request_body(system_prompt="",
                              messages=[Message(Role.USER, "Compare", content_parts=parts)])
    assert body["contents"][0]["parts"] == [
        {"text": "Compare"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"fileUri": "https://example.com/cat.jpg", "mimeType": "image/jpeg"}},
        {"inlineData": {"mimeType": "image/webp", "data": "UklGRg=="}},
    ]


# --------------------------------------------------------------------------- errors

def _error_file(name: str) -> tuple[int, dict[str, str], bytes]:
    record = json.loads((WIRE / name).read_text())
    headers = {k: v[0] if isinstance(v, list) else v
               for k, v in (record.get("headers") or {}).items()}
    return record["status"], headers, json.dumps(record["body"]).encode()


@pytest.mark.parametrize(("name", "kind", "error_type"), [
    ("gemini_error_404_not_found.json", NotFoundError, "NOT_FOUND"),
    ("gemini_error_429_resource_exhausted.json", RateLimitError, "RESOURCE_EXHAUSTED"),
    ("gemini_error_503_unavailable.json", OverloadedError, "UNAVAILABLE"),
])
def test_error_files_map_to_typed_errors(name: str, kind: type[Exception],
                                         error_type: str) -> None:
    status, headers, body = _error_file(name)
    error = error_from_response(status, headers, body)
    assert type(error) is kind
    assert (error.status, error.error_type, error.provider) == (status, error_type, "gemini")
    assert error.message == json.loads(body)["error"]["message"]
    assert error.retry_after is None


def test_retry_info_detail_sets_the_retry_delay() -> None:
    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                      "message": "You exceeded your current quota.",
                      "details": [
                          {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                           "violations": [{"quotaMetric": "generate_content_free_tier_requests"}]},
                          {"@type": "type.googleapis.com/google.rpc.Help", "links": []},
                          {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                           "retryDelay": "20s"}]}}
    error = error_from_response(429, {}, json.dumps(body).encode())
    assert isinstance(error, RateLimitError) and error.retry_after == 20.0
    # A retry-after header, when present, wins over the body's hint.
    assert error_from_response(429, {"retry-after": "3"},
                               json.dumps(body).encode()).retry_after == 3.0


def test_too_many_input_tokens_is_a_context_length_error() -> None:
    body = {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                      "The input token count (1200000) exceeds the maximum number of tokens "
                      "allowed (1048576)."}}
    assert isinstance(error_from_response(400, {}, json.dumps(body).encode()),
                      ContextLengthError)


# --------------------------------------------------------------------------- end to end

@pytest.fixture
def provider(wire_server: Any) -> Iterator[GeminiProvider]:
    provider = GeminiProvider(api_key=KEY, base_url=wire_server.url, max_retries=0)
    yield provider
    provider.close()


HISTORY = [Message(Role.USER, "What's the weather in Paris?")]


def _assert_request(wire_server: Any, *, stream: bool, model: str = "gemini-2.5-flash") -> None:
    [request] = wire_server.requests
    method = "streamGenerateContent" if stream else "generateContent"
    assert (request.method, request.path) == ("POST", f"/v1beta/models/{model}:{method}")
    assert request.query == ({"alt": "sse"} if stream else {})
    assert request.headers["x-goog-api-key"] == KEY
    assert "authorization" not in request.headers
    assert request.json["systemInstruction"] == {"parts": [{"text": "Use tools."}]}
    assert request.json["tools"] == [{"functionDeclarations": [WEATHER_DECLARATION]}]


def test_complete_end_to_end(wire_server: Any, provider: GeminiProvider) -> None:
    wire_server.reply_file(WIRE / "gemini_generate_content_function_call.json")
    message, usage = provider.complete(model="", system_prompt="Use tools.", messages=HISTORY,
                                       tools=[WEATHER])
    assert [(c.tool_name, c.parameters) for c in message.tool_calls or []] == [
        ("get_weather", {"city": "Paris"})]
    assert usage.total_tokens == 112
    _assert_request(wire_server, stream=False)


async def test_acomplete_end_to_end(wire_server: Any, provider: GeminiProvider) -> None:
    wire_server.reply_file(WIRE / "gemini_generate_content_parallel_function_calls.json")
    message, _ = await provider.acomplete(model="models/gemini-3-flash-preview",
                                          system_prompt="Use tools.", messages=HISTORY,
                                          tools=[WEATHER])
    await provider.aclose()
    assert len(message.tool_calls or []) == 3
    _assert_request(wire_server, stream=False, model="gemini-3-flash-preview")


def test_stream_end_to_end(wire_server: Any, provider: GeminiProvider) -> None:
    wire_server.reply_file(WIRE / "gemini_stream_function_call.sse", chunk_size=64)
    items = list(provider.stream(model="gemini-2.5-flash", system_prompt="Use tools.",
                                 messages=HISTORY, tools=[WEATHER]))
    assert without_ids(items) == without_ids(decode_file("gemini_stream_function_call.sse"))
    _assert_request(wire_server, stream=True)


async def test_astream_end_to_end(wire_server: Any, provider: GeminiProvider) -> None:
    wire_server.reply_file(WIRE / "gemini_stream_text_after_function_response.sse",
                           chunk_size=10)
    items = [item async for item in provider.astream(
        model=None, system_prompt="Use tools.", messages=HISTORY, tools=[WEATHER])]
    await provider.aclose()
    assert items[:2] == ["The capital of Mexico", " is Mexico City."]
    assert items[2] == TurnEnd("completed", "STOP") and isinstance(items[3], UsageStats)
    _assert_request(wire_server, stream=True)


async def test_http_error_end_to_end_never_shows_the_key(wire_server: Any,
                                                         provider: GeminiProvider) -> None:
    status, _, body = _error_file("gemini_error_503_unavailable.json")
    wire_server.reply(status=status, body=body)
    with pytest.raises(OverloadedError) as caught:
        async for _ in provider.astream(model="", system_prompt="", messages=HISTORY):
            pass
    await provider.aclose()
    assert "overloaded" in str(caught.value)
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert KEY not in repr(provider)
    assert KEY not in json.dumps(wire_server.requests[0].query)


async def test_an_error_inside_a_200_answer_is_retried_like_any_other(
        wire_server: Any) -> None:
    overloaded = {"error": {"code": 503, "message": "The model is overloaded.",
                            "status": "UNAVAILABLE", "details": [{
                                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                                "retryDelay": "0s"}]}}
    answer = json.loads((WIRE / "gemini_generate_content_function_call.json").read_text())
    provider = GeminiProvider(api_key=KEY, base_url=wire_server.url, max_retries=3)
    for body in (overloaded, overloaded, answer):
        wire_server.reply(body=body)
    message, _ = await provider.acomplete(model="", system_prompt="", messages=HISTORY)
    assert message.tool_calls and len(wire_server.requests) == 3  # every attempt alike

    wire_server.reply(body={"error": {"code": 400, "message": "Bad field."}})  # not retryable
    with pytest.raises(InvalidRequestError, match="Bad field"):
        await provider.acomplete(model="", system_prompt="", messages=HISTORY)
    assert len(wire_server.requests) == 4
    await provider.aclose()


def test_key_comes_from_the_environment(wire_server: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", "google-env-key")
    sent = []
    for env_key in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(env_key, f"{env_key}-value")
        provider = GeminiProvider(base_url=wire_server.url)
        assert (provider.name, provider.default_model) == ("gemini", "gemini-2.5-flash")
        wire_server.reply_file(WIRE / "gemini_generate_content_function_call.json")
        provider.complete(model="", system_prompt="", messages=HISTORY)
        provider.close()
        sent.append(wire_server.requests[-1].headers["x-goog-api-key"])
    # GEMINI_API_KEY wins when both are set.
    assert sent == ["GOOGLE_API_KEY-value", "GEMINI_API_KEY-value"]


def test_a_missing_key_is_refused_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="GEMINI_API_KEY"):
        GeminiProvider()


# --------------------------------------------------------------------------- through the agent

async def test_agent_streams_a_full_tool_loop(wire_server: Any, provider: GeminiProvider) -> None:
    from selectools import Agent, AgentConfig, tool
    from selectools.types import AgentResult

    @tool(description="The user's country")
    def get_country() -> str:
        return "Mexico"

    wire_server.reply_file(WIRE / "gemini_stream_function_call.sse", chunk_size=100)
    wire_server.reply_file(WIRE / "gemini_stream_text_after_function_response.sse",
                           chunk_size=100)
    agent = Agent(tools=[get_country], provider=provider,
                  config=AgentConfig(system_prompt="Use tools."))
    items = [item async for item in agent.astream("What is the capital of my country?")]
    await provider.aclose()

    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.content == "The capital of Mexico is Mexico City."
    [call] = result.tool_calls
    second = wire_server.requests[1].json
    assert second["contents"][1:] == [
        {"role": "model", "parts": [
            {"functionCall": {"name": "get_country", "args": {}, "id": call.id},
             "thoughtSignature": signature_in("gemini_stream_function_call.sse")}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_country", "response": {"result": "Mexico"},
                                  "id": call.id}}]},
    ]


async def test_a_connection_dropped_mid_stream_is_a_connection_error(
        wire_server: Any, provider: GeminiProvider) -> None:
    from selectools.providers.errors import ProviderConnectionError

    raw = (WIRE / "gemini_stream_text_after_function_response.sse").read_bytes()
    wire_server.reply(body=raw, content_type="text/event-stream", chunk_size=64,
                      cut_after=raw.index(b"\r\n\r\n") + 4 + 20)
    seen: list[Any] = []
    with pytest.raises(ProviderConnectionError):
        async for item in provider.astream(model="", system_prompt="", messages=HISTORY):
            seen.append(item)
    await provider.aclose()
    assert seen == ["The capital of Mexico"]


def test_gemini_3_gets_the_documented_sentinel_for_calls_it_did_not_sign() -> None:
    from selectools.providers.gemini import SKIP_SIGNATURE_VALIDATION, build_request_body

    foreign = [Message(role=Role.USER, content="weather?"),
               Message(role=Role.ASSISTANT, tool_calls=[
                   ToolCall("get_weather", {"city": "Paris"}, id="call_1"),
                   ToolCall("get_weather", {"city": "Rome"}, id="call_2")])]
    parts = build_request_body(system_prompt=None, messages=foreign,
                               model="gemini-3-pro-preview")["contents"][1]["parts"]
    assert [p.get("thoughtSignature") for p in parts] == [SKIP_SIGNATURE_VALIDATION, None]
    older = build_request_body(system_prompt=None, messages=foreign, model="gemini-2.5-flash")
    assert all("thoughtSignature" not in p for p in older["contents"][1]["parts"])
    signed = [foreign[0], Message(role=Role.ASSISTANT, tool_calls=[ToolCall(
        "get_weather", {"city": "Paris"}, id="c", provider_data={"thoughtSignature": "abc"})])]
    parts = build_request_body(system_prompt=None, messages=signed,
                               model="models/gemini-3-pro-preview")["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == "abc"
