"""OpenAI Chat Completions: the pure parts, on recorded transcripts and the OpenAPI spec."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_replay import decoded, frames

from selectools._json import encode as encode_json
from selectools.providers import openai
from selectools.providers.errors import (
    ContextLengthError,
    InvalidRequestError,
    MalformedStreamError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    StreamError,
)
from selectools.tools import tool
from selectools.types import RAW_ARGUMENTS_KEY, ContentPart, Message, Role, ToolCall, TurnEnd
from selectools.usage import UsageStats

WIRE = Path(__file__).parent / "fixtures" / "wire"
Item = str | ToolCall | UsageStats | TurnEnd


@tool()
def get_capital(country: str) -> str:
    """The capital city of a country.

    Args:
        country: The country's name.
    """
    return "London"


def decode(raw: bytes, cuts: list[int] | None = None, model: str = "gpt-4o-mini") -> list[Item]:
    """Frame `raw` as SSE in the given network chunks and decode it as OpenAI does."""
    return decoded(openai.decode_stream, frames(raw, cuts or ()), model)


def sse(*chunks: dict[str, Any] | str) -> bytes:
    return b"".join(
        b"data: " + (c if isinstance(c, str) else json.dumps(c)).encode() + b"\n\n"
        for c in chunks)


def delta_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


# -- stream decoding on the transcripts --------------------------------------------------------


def test_parallel_tool_calls_assembled_from_fragments() -> None:
    items = decode((WIRE / "openai_chat_stream_tool_calls.sse").read_bytes(), model="gpt-4o")
    assert items == [
        ToolCall("get_weather", {"city": "Mexico City"}, id="call_NS4iQj14cDFwc0BnrKqDHavt"),
        ToolCall("get_product_name", {}, id="call_SkGkkGDvHQEEk0CGbnAh2AQw"),
        TurnEnd("tool_calls", "tool_calls"),
        UsageStats(417, 44, 461, 417 * 2.5e-6 + 44 * 10e-6, "gpt-4o", "openai"),
    ]


def test_role_and_first_call_in_the_same_chunk() -> None:
    items = decode((WIRE / "openai_chat_stream_tool_call_role_in_first_chunk.sse").read_bytes())
    assert items[0] == ToolCall("get_capital", {"country": "UK"},
                                id="call_ZR5UUuTt3pf61kjwAJIYdVMj")
    assert items[1] == TurnEnd("tool_calls", "tool_calls")
    usage = items[2]
    assert isinstance(usage, UsageStats) and len(items) == 3
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (53, 15, 68)
    assert usage.cost_usd == pytest.approx(53 * 0.15e-6 + 15 * 0.6e-6)


def test_text_deltas_come_one_by_one() -> None:
    items = decode((WIRE / "openai_chat_stream_text_after_tool_result.sse").read_bytes())
    assert items[:-2] == ["The", " capital", " of", " the", " UK", " is", " London", "."]
    assert items[-2] == TurnEnd("completed", "stop")
    assert items[-1] == UsageStats.priced(model="gpt-4o-mini", provider="openai",
                                          prompt_tokens=78, completion_tokens=9)


@pytest.mark.parametrize("name", [
    "openai_chat_stream_tool_calls.sse",
    "openai_chat_stream_tool_call_role_in_first_chunk.sse",
    "openai_chat_stream_text_after_tool_result.sse",
])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_network_chunking_decodes_identically(name: str, data: st.DataObject) -> None:
    raw = (WIRE / name).read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40))
    assert decode(raw, cuts) == decode(raw)


# -- stream decoding: what servers other than OpenAI do ----------------------------------------


def test_calls_are_flushed_at_done_when_no_finish_reason_comes() -> None:
    raw = sse(
        delta_chunk({"role": "assistant", "tool_calls": [
            {"index": 0, "id": "c1", "function": {"name": "get_capital", "arguments": '{"co'}}]}),
        delta_chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'untry": "UK"}'}}]}),
    )
    assert decode(raw + b"data: [DONE]\n\n") == [
        ToolCall("get_capital", {"country": "UK"}, id="c1")]
    # Neither [DONE] nor a finish_reason: cut off, and the call is not yielded.
    with pytest.raises(MalformedStreamError, match="without a finish_reason or \\[DONE\\]"):
        decode(raw)


def test_calls_without_index_and_without_id() -> None:
    raw = sse(
        delta_chunk({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{}"}}]}),
        delta_chunk({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": '{"x"'}}]}),
        delta_chunk({"tool_calls": [{"function": {"arguments": ": 1}"}}]}),
        delta_chunk({"tool_calls": [{"index": 2, "function": {"name": "h"}}]}, finish="tool_calls"),
        "[DONE]",
    )
    first, second, third, end = decode(raw)
    assert end == TurnEnd("tool_calls", "tool_calls")
    assert first == ToolCall("f", {}, id="a") and second == ToolCall("g", {"x": 1}, id="b")
    assert isinstance(third, ToolCall) and third.tool_name == "h" and third.parameters == {}
    assert third.id and third.id.startswith("call_")  # made up, never empty


def test_parallel_calls_that_all_claim_index_0_stay_apart() -> None:
    # Ollama's /v1 endpoint and some gateways number every parallel call 0, ids differ.
    raw = sse(
        delta_chunk({"tool_calls": [{"index": 0, "id": "call_a", "function": {
            "name": "weather", "arguments": '{"city":'}}]}),
        delta_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        delta_chunk({"tool_calls": [{"index": 0, "id": "call_b", "function": {
            "name": "time", "arguments": '{"city":"Rome"}'}}]}, finish="tool_calls"),
        "[DONE]",
    )
    assert decode(raw) == [ToolCall("weather", {"city": "Paris"}, id="call_a"),
                           ToolCall("time", {"city": "Rome"}, id="call_b"),
                           TurnEnd("tool_calls", "tool_calls")]


def test_malformed_arguments_are_kept_under_the_raw_key() -> None:
    raw = sse(
        delta_chunk({"tool_calls": [{"index": 0, "id": "c", "function": {
            "name": "get_capital", "arguments": '{"country": "U'}}]}),
        delta_chunk({"tool_calls": [{"index": 1, "id": "d", "function": {
            "name": "get_capital", "arguments": '["UK"]'}}]}, finish="length"),
    )
    assert decode(raw) == [
        ToolCall("get_capital", {RAW_ARGUMENTS_KEY: '{"country": "U'}, id="c"),
        ToolCall("get_capital", {RAW_ARGUMENTS_KEY: '["UK"]'}, id="d"),
        TurnEnd("length", "length"),
    ]


def test_text_before_a_call_and_a_comment_line() -> None:
    raw = b": OPENROUTER PROCESSING\n\n" + sse(
        delta_chunk({"role": "assistant", "content": "Let me check."}),
        delta_chunk({"tool_calls": [{"index": 0, "id": "c",
                                     "function": {"name": "f", "arguments": ""}}]}, "tool_calls"),
        "[DONE]")
    assert decode(raw) == ["Let me check.", ToolCall("f", {}, id="c"),
                           TurnEnd("tool_calls", "tool_calls")]


def test_error_event_mid_stream_is_a_typed_stream_error() -> None:
    raw = sse(delta_chunk({"content": "Hel"}),
              {"error": {"message": "The server had an error", "type": "server_error"}})
    with pytest.raises(StreamError, match="The server had an error") as caught:
        decode(raw)
    assert caught.value.provider == "openai"


def test_event_that_is_not_json_is_a_stream_error() -> None:
    with pytest.raises(StreamError, match="not JSON"):
        decode(b"data: {oops\n\n")


# -- whole responses ---------------------------------------------------------------------------


def _body(name: str) -> Any:
    return json.loads((WIRE / name).read_text())


def test_parse_single_tool_call() -> None:
    message, usage = openai.parse_response(_body("openai_chat_tool_call_single.json"), "gpt-4o")
    assert message.role == Role.ASSISTANT and message.content == ""
    assert message.tool_calls == [ToolCall("get_user_country", {},
                                           id="call_iXFttys57ap0o16JSlC8yhYo")]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (68, 12, 80)
    assert (usage.model, usage.provider) == ("gpt-4o", "openai")


def test_parse_parallel_tool_calls() -> None:
    message, usage = openai.parse_response(_body("openai_chat_tool_calls_parallel.json"),
                                           "gpt-4o")
    assert message.tool_calls == [
        ToolCall("delete_file", {"path": ".env"}, id="call_jYdIdRZHxZTn5bWCq5jlMrJi"),
        ToolCall("create_file", {"path": "test.txt"}, id="call_TmlTVWQbzrXCZ4jNsCVNbNqu"),
    ]
    assert usage.total_tokens == 117


def test_parse_text_answer_and_an_error_inside_a_200() -> None:
    message, _ = openai.parse_response(
        {"choices": [{"message": {"role": "assistant", "content": "Hi"}}]}, "m")
    assert message.content == "Hi" and message.tool_calls is None
    with pytest.raises(ProviderError, match="model crashed"):
        openai.parse_response({"error": {"message": "model crashed"}}, "m")


# -- requests ----------------------------------------------------------------------------------


def request_body(*, model: str, system_prompt: str, messages: list[Message],
                 tools: list[Any] | None = None, temperature: float | None = None,
                 max_tokens: int = 1000, stream: bool = False, hosted: bool = False) -> Any:
    """The JSON body an OpenAIProvider sends, as sent (the one request path), to
    api.openai.com when `hosted`, else to a compatible server."""
    base_url = openai.DEFAULT_BASE_URL if hosted else "http://127.0.0.1:1/v1"
    provider = openai.OpenAIProvider(api_key="sk-test", base_url=base_url)
    request = provider.build_request(model=model, system_prompt=system_prompt,
                                     messages=messages, tools=tools, temperature=temperature,
                                     max_tokens=max_tokens, stream=stream)
    return json.loads(encode_json(request.body))



def test_second_turn_request_matches_the_recorded_one(
        openai_request_schema: Callable[[Any], None]) -> None:
    recorded = json.loads(
        (WIRE / "openai_chat_stream_text_after_tool_result.meta.json").read_text())["request"]
    call = ToolCall("get_capital", {"country": "UK"}, id="call_ZR5UUuTt3pf61kjwAJIYdVMj")
    body = request_body(
        model="gpt-4o-mini", system_prompt="", stream=True, tools=[get_capital.definition],
        messages=[
            Message(Role.USER, "What is the capital of the UK? Use the tool, then answer."),
            Message(Role.ASSISTANT, "", tool_calls=[call]),
            Message(Role.TOOL, "", tool_result="London", tool_name="get_capital",
                    tool_call_id=call.id),
        ])
    openai_request_schema(body)
    sent = recorded["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert [m["role"] for m in body["messages"]] == [m["role"] for m in sent["messages"]]
    assert body["messages"][1]["tool_calls"][0]["id"] == sent["messages"][1]["tool_calls"][0]["id"]
    assert json.loads(body["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {
        "country": "UK"}
    assert body["messages"][2] == sent["messages"][2]
    assert body["tools"] == [{"type": "function", "function": {
        "name": "get_capital", "description": "The capital city of a country.",
        "parameters": get_capital.parameters_schema}}]


def test_system_prompt_first_and_multimodal_parts(
        openai_request_schema: Callable[[Any], None]) -> None:
    image = Message(Role.USER, "What is this?", content_parts=[
        ContentPart(type="text", text="What is this?"),
        ContentPart(type="image_url", image_url="https://example.com/cat.png"),
        ContentPart(type="image_base64", image_base64="iVBORw0KGgo=", media_type="image/png"),
    ])
    body = request_body(model="gpt-4o", system_prompt="Be brief.",
                                     messages=[image], temperature=0.3, max_tokens=50)
    openai_request_schema(body)
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    assert (body["temperature"], body["max_tokens"]) == (0.3, 50)
    assert "stream" not in body and "tools" not in body


def test_reasoning_models_get_no_temperature_and_max_completion_tokens(
        openai_request_schema: Callable[[Any], None]) -> None:
    body = request_body(model="o4-mini", system_prompt="", messages=[
        Message(Role.USER, "hi")], hosted=True)
    openai_request_schema(body)
    assert "temperature" not in body and body["max_completion_tokens"] == 1000


def test_tool_call_without_id_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="no id"):
        request_body(model="m", system_prompt="", messages=[
            Message(Role.ASSISTANT, tool_calls=[ToolCall("f", {})])])


# -- errors ------------------------------------------------------------------------------------


def _error_file(name: str) -> ProviderError:
    data = json.loads((WIRE / name).read_text())
    headers = {key: values[0] for key, values in (data.get("headers") or {}).items()}
    return openai.error_from_response(data["status"], headers, json.dumps(data["body"]).encode())


def test_error_400() -> None:
    error = _error_file("openai_error_400_invalid_request.json")
    assert type(error) is InvalidRequestError
    assert error.message == ("Unsupported value: 'messages[0].role' does not support 'system' "
                             "with this model.")
    assert (error.status, error.provider, error.error_type) == (400, "openai", "unsupported_value")
    assert not error.should_retry


def test_error_404() -> None:
    error = _error_file("openai_error_404_model_not_found.json")
    assert isinstance(error, NotFoundError) and error.error_type == "model_not_found"
    assert error.message == ("The model `gpt-5.2-proo` does not exist or you do not have "
                             "access to it.")


def test_error_429() -> None:
    error = _error_file("openai_error_429_rate_limit.json")
    assert isinstance(error, RateLimitError) and error.should_retry
    assert error.status == 429 and error.error_type == "rate_limit_exceeded"
    assert error.message.startswith("Rate limit reached for gpt-4o-mini")


def test_context_length_code_gives_context_length_error() -> None:
    body = {"error": {"message": "This model's maximum context length is 128000 tokens.",
                      "type": "invalid_request_error", "param": "messages",
                      "code": "context_length_exceeded"}}
    error = openai.error_from_response(400, {}, json.dumps(body).encode())
    assert isinstance(error, ContextLengthError) and "128000" in error.message


def test_context_length_in_words_only_as_vllm_says_it() -> None:
    body = {"object": "error", "type": "BadRequestError", "param": None, "code": 400,
            "message": "This model's maximum context length is 4096 tokens. However, you "
                       "requested 5000 tokens in the messages."}
    error = openai.error_from_response(400, {}, json.dumps(body).encode())
    assert isinstance(error, ContextLengthError) and error.status == 400
    other = openai.error_from_response(400, {}, b'{"message": "temperature too high"}')
    assert not isinstance(other, ContextLengthError)


def test_error_bodies_of_compatible_servers() -> None:
    plain = openai.error_from_response(500, {}, b'{"error": "model not loaded"}')
    assert plain.message == "model not loaded" and plain.status == 500
    html = openai.error_from_response(502, {"retry-after-ms": "250"}, b"<html>Bad gateway</html>")
    assert "Bad gateway" in html.message and html.retry_after == 0.25


def test_a_null_error_field_is_no_error() -> None:
    body = {"choices": [{"message": {"role": "assistant", "content": "fine"}}], "error": None}
    assert openai.parse_response(body, "m")[0].content == "fine"
    raw = (b'data: {"choices": [{"index": 0, "delta": {"content": "fine"}}], "error": null}'
           b"\n\ndata: [DONE]\n\n")
    assert decode(raw) == ["fine"]


def _answer_with_call(arguments: str) -> dict[str, Any]:
    return {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "lookup", "arguments": arguments}}]}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1}}


def _sent_arguments(answer: Message) -> str:
    body = request_body(model="m", system_prompt="", messages=[
        Message(role=Role.USER, content="hi"), answer])
    return str(body["messages"][1]["tool_calls"][0]["function"]["arguments"])


def test_tool_call_arguments_go_back_as_the_model_wrote_them() -> None:
    text = '{"city": "Paris",  "days": 2}'
    answer, _ = openai.parse_response(_answer_with_call(text), "m")
    assert answer.tool_calls is not None
    assert answer.tool_calls[0].parameters == {"city": "Paris", "days": 2}
    assert _sent_arguments(answer) == text


def test_changed_tool_call_arguments_are_sent_as_changed() -> None:
    answer, _ = openai.parse_response(_answer_with_call('{"city": "Paris", "days": 2}'), "m")
    assert answer.tool_calls is not None
    answer.tool_calls[0].parameters["days"] = 3
    assert json.loads(_sent_arguments(answer)) == {"city": "Paris", "days": 3}

    nested, _ = openai.parse_response(_answer_with_call('{"where": {"city": "Paris"}}'), "m")
    assert nested.tool_calls is not None
    nested.tool_calls[0].parameters["where"]["city"] = "Oslo"  # changed in place
    assert json.loads(_sent_arguments(nested)) == {"where": {"city": "Oslo"}}


def test_unreadable_tool_call_arguments_go_back_as_a_json_object() -> None:
    answer, _ = openai.parse_response(_answer_with_call('{"city": "Par'), "m")
    assert json.loads(_sent_arguments(answer)) == {RAW_ARGUMENTS_KEY: '{"city": "Par'}
