"""The OpenAI protocol's short paths for building a request, held to the general ones.

`_wire_messages` writes tool results and plain user text inline and hands every other
message to `_wire_message`; an assistant message's calls with an id are written inline
too. Whatever the history, the wire form must be what the general path writes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selectools.providers import openai
from selectools.types import RAW_ARGUMENTS_KEY as RAW
from selectools.types import ContentPart, Message, ReasoningPart, Role, ToolCall

texts = st.text(max_size=8)
maybe_texts = st.none() | texts
roles = st.sampled_from([*Role, "tool", "user", "assistant", "system"])
parts = st.lists(
    st.builds(ContentPart, type=st.just("text"), text=texts)
    | st.builds(ContentPart, type=st.just("image_url"), image_url=st.just("https://x/y.png"))
    | st.builds(ContentPart, type=st.just("image_base64"), image_base64=st.just("aGk="),
                media_type=st.just("image/png")),
    max_size=2)
calls = st.lists(st.builds(ToolCall, tool_name=st.just("f"),
                           parameters=st.dictionaries(texts, st.integers(), max_size=2),
                           id=st.sampled_from(["call_1", "call_2"])), max_size=3)
reasoning = st.none() | st.lists(st.builds(ReasoningPart, text=texts,
                                           protocol=st.sampled_from(["openai", "anthropic"])),
                                 max_size=1)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    role = draw(roles)
    return Message(role, draw(texts) or "x", tool_name=draw(maybe_texts),
                   tool_result=draw(maybe_texts),
                   tool_calls=draw(calls) or None if role == "assistant" else None,
                   tool_call_id=draw(st.none() | st.sampled_from(["", "call_1"])),
                   content_parts=draw(parts) or None,
                   reasoning=draw(reasoning) if role == "assistant" else None)


def general(history: list[Message], hosted: bool, model: str) -> list[dict[str, Any]]:
    """The general path alone: `_wire_message` per message, each call through
    `_wire_tool_call`, the tools' images placed after their turn."""
    wire = []
    for message in history:
        wired = openai._wire_message(message, hosted, model)
        if message.role == Role.ASSISTANT and message.tool_calls:
            wired["tool_calls"] = [openai._wire_tool_call(call) for call in message.tool_calls]
        wire.append(wired)
    if any(message.content_parts and message.role is Role.TOOL for message in history):
        return openai._with_tool_images(history, wire)
    return wire


@given(st.lists(messages(), min_size=1, max_size=6), st.booleans(),
       st.sampled_from(["m", "gpt-4o"]))
def test_wire_messages_write_what_the_general_path_writes(
        history: list[Message], hosted: bool, model: str) -> None:
    assert openai._wire_messages(history, hosted, model) == general(history, hosted, model)


def test_a_call_without_an_id_is_still_refused() -> None:
    call = ToolCall("f", {}, "call_1")
    call.id = ""
    with pytest.raises(ValueError, match="has no id"):
        openai._wire_messages([Message(Role.ASSISTANT, "", tool_calls=[call])], False, "m")


# -- a whole answer: its finish reason and its usual calls, read inline by parse_response --

_REASONS = st.sampled_from([*openai.FINISH_REASONS, "other", "", None, 3, ["stop"]])


@given(_REASONS, st.booleans())
def test_the_finish_reason_is_mapped_as_wire_stop_reason_maps_it(raw: Any, calls: bool) -> None:
    from selectools.providers import _wire

    message: dict[str, Any] = {"role": "assistant", "content": "hi"}
    if calls:
        message["tool_calls"] = [{"id": "call_1", "type": "function",
                                  "function": {"name": "f", "arguments": "{}"}}]
    answer = {"choices": [{"finish_reason": raw, "message": message}]}
    parsed, _ = openai.parse_response(answer, "m")
    assert parsed.stop_reason == _wire.stop_reason(raw, openai.FINISH_REASONS, has_calls=calls)


@given(st.sampled_from(['{"a": 1}', '{"__raw_arguments__": "x"}', f'{{"{RAW}": 1}}',
                        '{"a": [1, {"b": null}]}', "{}", '{"a": 1} ', '{"a": 1}x']),
       st.sampled_from(["call_1", "", None]))
def test_a_usual_call_is_the_call_wire_tool_call_makes(arguments: str, call_id: Any) -> None:
    from selectools.providers import _wire

    answer = {"choices": [{"finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": "f",
                                                             "arguments": arguments}}]}}]}
    parsed, _ = openai.parse_response(answer, "m")
    assert parsed.tool_calls is not None
    (call,) = parsed.tool_calls
    expected = _wire.tool_call("f", arguments, call_id)
    assert (call.tool_name, call.parameters, call._json_source, call.arguments_json()) == (
        expected.tool_name, expected.parameters, expected._json_source,
        expected.arguments_json())
    assert call.id == expected.id if call_id else (call.id or "").startswith("call_")


def test_the_requests_made_by_tuple_new_are_the_named_tuples() -> None:
    # build_request and openai._request make ModelRequest and WireRequest by tuple.__new__
    # with every field: a field added to either must be added there too.
    from selectools.providers.protocol import ModelRequest, WireRequest

    assert ModelRequest._fields == ("model", "system_prompt", "messages", "temperature",
                                    "max_tokens", "stream", "hosted", "output", "reasoning",
                                    "has_tools")
    assert WireRequest._fields == ("path", "body", "params")
    request = openai._request(ModelRequest("m", "", [Message(Role.USER, "hi")], None, 5, False))
    assert type(request) is WireRequest and request == WireRequest(
        "/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hi"}],
                              "max_tokens": 5})
