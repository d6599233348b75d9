"""OpenAI Chat Completions, the pure parts of issue 13: tool-call argument deltas, reasoning
(streamed, whole, sent back), the reasoning setting and native typed output, on recorded
streams of DeepSeek, Groq and OpenRouter (see fixtures/wire/SOURCES.md)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_replay import decoded, frames

from selectools.providers import openai
from selectools.types import (
    Message,
    OutputFormat,
    ReasoningDelta,
    ReasoningPart,
    Role,
    ToolCall,
    ToolCallDelta,
    TurnEnd,
)
from selectools.usage import UsageStats

WIRE = Path(__file__).parent / "fixtures" / "wire"
DEEPSEEK_STREAM = "openai_chat_stream_deepseek_reasoning_tool_call.sse"
GROQ_STREAM = "openai_chat_stream_groq_reasoning.sse"
OPENROUTER_STREAM = "openai_chat_stream_openrouter_reasoning_details.sse"
ENCRYPTED_STREAM = "openai_chat_stream_openrouter_reasoning_encrypted.sse"
CUT_STREAM = "openai_chat_stream_deepseek_reasoning_cut_by_length.sse"
# The signature OpenRouter relayed from Anthropic, as recorded.
ANTHROPIC_SIGNATURE_START = "Et0BCkgIChACGAIqQA2s7h7t"
# What a reasoning_content part of model "m" keeps to go back (to that model only).
MADE_BY_M = '{"model": "m"}'


def decode(name: str, *, tool_deltas: bool = False, cuts: list[int] | None = None,
           ) -> list[Any]:
    raw = (WIRE / name).read_bytes()
    decoder = functools.partial(openai.decode_stream, tool_deltas=True) if tool_deltas \
        else openai.decode_stream
    return decoded(decoder, frames(raw, cuts or ()), "m")


def recorded_chunks(name: str) -> list[dict[str, Any]]:
    """The JSON chunks of a recorded stream, read without our decoder."""
    return [json.loads(line[6:]) for line in (WIRE / name).read_text().splitlines()
            if line.startswith("data: {")]


def recorded_field(name: str, field: str) -> str:
    """Every fragment of `field` in a recorded stream's deltas, joined."""
    return "".join(choice["delta"].get(field) or "" for chunk in recorded_chunks(name)
                   for choice in chunk["choices"])


def of_type(items: list[Any], kind: type) -> list[Any]:
    return [item for item in items if type(item) is kind]


def reasoning_text(items: list[Any]) -> str:
    return "".join(item.text for item in of_type(items, ReasoningDelta))


# -- reasoning in streams ----------------------------------------------------------------------


def test_deepseek_reasoning_streams_then_ends_before_its_tool_call() -> None:
    items = decode(DEEPSEEK_STREAM)
    expected = recorded_field(DEEPSEEK_STREAM, "reasoning_content")
    assert expected.startswith("The user is asking for the weather in San Francisco.")
    assert reasoning_text(items) == expected
    assert len(of_type(items, ReasoningDelta)) == 39  # one per recorded fragment
    part = items[39]
    assert part == ReasoningPart(expected, MADE_BY_M, None, "openai")
    assert items[40:] == [
        ToolCall("weather", {"location": "San Francisco"},
                 id="call_00_ioIn7yN9p1ZOMNpDLwd4MgAF"),
        TurnEnd("tool_calls", "tool_calls"),
        UsageStats(339, 83, 422, None, "m", "openai", reasoning_tokens=39),
    ]
    assert not of_type(items, str)  # the reasoning never arrives as text


def test_groq_reasoning_field_ends_when_the_answer_begins() -> None:
    items = decode(GROQ_STREAM)
    deltas, text = of_type(items, ReasoningDelta), of_type(items, str)
    first_text = items.index(text[0])
    part = items[first_text - 1]
    assert isinstance(part, ReasoningPart) and items.index(deltas[-1]) < first_text - 1
    assert part.text == recorded_field(GROQ_STREAM, "reasoning") == reasoning_text(items)
    assert part.text.startswith("Okay, let me try to figure out how many times")
    # It came as `reasoning`: that is where it goes back (see the round-trip tests).
    assert json.loads(part.signature or "") == {"model": "m", "field": "reasoning"}
    assert "".join(text) == recorded_field(GROQ_STREAM, "content")
    assert part.text not in "".join(text)
    assert items[-2:] == [TurnEnd("completed", "stop"),
                          UsageStats(17, 1107, 1124, None, "m", "openai", reasoning_tokens=963)]


def test_openrouter_reasoning_details_are_merged_with_their_signature() -> None:
    items = decode(OPENROUTER_STREAM)
    text = "This is a simple arithmetic question. 2+2 equals 4."
    assert [item.text for item in of_type(items, ReasoningDelta)] == [
        "This", " is a simple arithmetic question. ", "2+2 equals 4."]
    (part,) = of_type(items, ReasoningPart)
    assert items.index(part) == 3 and items[4:6] == ["2 ", "+ 2 = 4"]
    assert part.text == text and part.protocol == "openai"
    saved = json.loads(part.signature or "")
    assert saved["field"] == "reasoning"
    (detail,) = saved["reasoning_details"]
    assert detail["type"] == "reasoning.text" and detail["format"] == "anthropic-claude-v1"
    assert detail["text"] == text and detail["index"] == 0
    assert detail["signature"].startswith(ANTHROPIC_SIGNATURE_START)
    assert items[-1] == UsageStats(43, 36, 79, None, "m", "openai", reasoning_tokens=13)


def test_encrypted_reasoning_has_no_text_and_is_kept_whole() -> None:
    items = decode(ENCRYPTED_STREAM)
    assert not of_type(items, ReasoningDelta)
    (part,) = of_type(items, ReasoningPart)
    assert items.index(part) == 0 and part.text == ""
    (detail,) = json.loads(part.signature or "")["reasoning_details"]
    recorded = next(choice["delta"]["reasoning_details"][0]
                    for chunk in recorded_chunks(ENCRYPTED_STREAM)
                    for choice in chunk["choices"] if choice["delta"].get("reasoning_details"))
    assert detail == recorded and detail["type"] == "reasoning.encrypted"
    assert "".join(of_type(items, str)).startswith("I’m ChatGPT, a large-language-model")


def test_reasoning_cut_by_max_tokens_is_whole_before_the_turn_ends() -> None:
    assert decode(CUT_STREAM) == [
        ReasoningDelta("We"), ReasoningDelta(" need"),
        ReasoningPart("We need", MADE_BY_M, None, "openai"),
        TurnEnd("length", "length"),
        UsageStats(87, 2, 89, None, "m", "openai", reasoning_tokens=2),
    ]


@pytest.mark.parametrize("name", [DEEPSEEK_STREAM, OPENROUTER_STREAM, CUT_STREAM])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_any_network_chunking_decodes_reasoning_identically(name: str,
                                                            data: st.DataObject) -> None:
    size = len((WIRE / name).read_bytes())
    cuts = data.draw(st.lists(st.integers(0, size), max_size=30))
    assert decode(name, tool_deltas=True, cuts=cuts) == decode(name, tool_deltas=True)


def test_reasoning_and_text_in_one_delta_come_in_that_order() -> None:
    # vLLM's reasoning parsers send the end of the reasoning and the start of the answer in
    # one delta when both fall in one step (a stream built here: none was recorded).
    chunks = [{"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
              for delta, finish in [({"role": "assistant", "reasoning_content": "think"}, None),
                                    ({"reasoning_content": " more", "content": "Hi"}, None),
                                    ({"content": "!"}, "stop")]]
    raw = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    assert decoded(openai.decode_stream, frames(raw.encode()), "m") == [
        ReasoningDelta("think"), ReasoningDelta(" more"),
        ReasoningPart("think more", MADE_BY_M, None, "openai"), "Hi", "!",
        TurnEnd("completed", "stop")]


def built_stream(*deltas: dict[str, Any]) -> list[Any]:
    """Decode a stream of these deltas, then `[DONE]` (for shapes no recording has)."""
    chunks = [{"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
              for delta in deltas]
    raw = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    return decoded(openai.decode_stream, frames(raw.encode()), "m")


def test_an_empty_reasoning_field_beside_every_token_opens_no_block() -> None:
    assert built_stream({"role": "assistant", "content": None, "reasoning_content": ""},
                        {"content": None, "reasoning_content": "hm"},
                        {"content": "A", "reasoning_content": ""},
                        {"content": "B", "reasoning_content": ""}) == [
        ReasoningDelta("hm"), ReasoningPart("hm", MADE_BY_M, None, "openai"), "A", "B"]


def test_reasoning_details_without_an_index_stand_alone() -> None:
    items = built_stream({"reasoning": "a", "reasoning_details": [{"type": "reasoning.text",
                                                                  "text": "a"}]},
                         {"reasoning_details": [{"type": "reasoning.encrypted", "data": "x"}]},
                         {"content": "done"})
    (part,) = of_type(items, ReasoningPart)
    assert json.loads(part.signature or "")["reasoning_details"] == [
        {"type": "reasoning.text", "text": "a"}, {"type": "reasoning.encrypted", "data": "x"}]


def test_a_stream_without_reasoning_yields_no_reasoning_items() -> None:
    items = decode("openai_chat_stream_text_after_tool_result.sse", tool_deltas=True)
    assert not [item for item in items if isinstance(item, (ReasoningDelta, ReasoningPart))]
    assert isinstance(items[-1], UsageStats) and items[-1].reasoning_tokens == 0


# -- tool-call argument deltas -----------------------------------------------------------------


@pytest.mark.parametrize("name", [DEEPSEEK_STREAM, "openai_chat_stream_tool_calls.sse",
                                  "openai_chat_stream_tool_call_role_in_first_chunk.sse"])
def test_argument_fragments_join_to_each_calls_arguments(name: str) -> None:
    items = decode(name, tool_deltas=True)
    calls, deltas = of_type(items, ToolCall), of_type(items, ToolCallDelta)
    assert calls and deltas
    for ordinal, call in enumerate(calls):
        own = [delta for delta in deltas if delta.index == ordinal]
        assert "".join(delta.arguments_delta for delta in own) == call.arguments_json()
        assert {(delta.call_id, delta.tool_name) for delta in own} == {(call.id, call.tool_name)}
        # each fragment as it arrived: before the whole call
        assert items.index(own[-1]) < items.index(call)
    assert all(delta.arguments_delta for delta in deltas)
    # Without deltas asked for, the stream is what it was.
    assert decode(name) == [item for item in items if type(item) is not ToolCallDelta]


def test_argument_fragments_of_parallel_calls_keep_their_ordinals() -> None:
    items = decode("openai_chat_stream_tool_calls.sse", tool_deltas=True)
    deltas = of_type(items, ToolCallDelta)
    assert [delta.arguments_delta for delta in deltas if delta.index == 0] == [
        '{"ci', 'ty": ', '"Mexic', 'o Ci', 'ty"}']
    assert [(d.index, d.tool_name, d.arguments_delta) for d in deltas if d.index == 1] == [
        (1, "get_product_name", "{}")]


# -- whole answers -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "field", "tokens"), [
    ("openai_chat_deepseek_reasoning_tool_call.json", "reasoning_content", 48),
    ("openai_chat_deepseek_reasoning.json", "reasoning_content", 315),
    ("openai_chat_groq_reasoning.json", "reasoning", 570),
    ("openai_chat_openrouter_reasoning_details.json", "reasoning", 0),
])
def test_whole_answers_keep_their_reasoning_apart_from_the_content(
        name: str, field: str, tokens: int) -> None:
    data = json.loads((WIRE / name).read_text())
    recorded = data["choices"][0]["message"]
    message, usage = openai.parse_response(data, "m")
    assert message.reasoning is not None
    (part,) = message.reasoning
    assert part.text == recorded[field] and part.protocol == "openai"
    assert message.content == (recorded["content"] or "")
    assert part.text not in message.content
    assert usage.reasoning_tokens == tokens


def test_whole_answer_details_are_kept_for_openrouter() -> None:
    data = json.loads((WIRE / "openai_chat_openrouter_reasoning_details.json").read_text())
    message, _ = openai.parse_response(data, "m")
    assert message.reasoning is not None
    saved = json.loads(message.reasoning[0].signature or "")
    assert saved["reasoning_details"] == data["choices"][0]["message"]["reasoning_details"]


def test_a_whole_answer_without_reasoning_has_none() -> None:
    data = json.loads((WIRE / "openai_chat_tool_calls_parallel.json").read_text())
    message, _ = openai.parse_response(data.get("body", data), "m")
    assert message.reasoning is None


# -- sending reasoning back --------------------------------------------------------------------


def streamed_turn(name: str) -> Message:
    """The assistant message the agent records for a recorded streamed turn."""
    items = decode(name)
    return Message(Role.ASSISTANT, "".join(of_type(items, str)),
                   tool_calls=of_type(items, ToolCall) or None,
                   reasoning=of_type(items, ReasoningPart) or None)


def second_turn_body(turn: Message, *, hosted: bool = False) -> dict[str, Any]:
    history = [Message(Role.USER, "What is the weather in San Francisco?"), turn]
    if turn.tool_calls:
        history.append(Message(Role.TOOL, "sunny", tool_call_id=turn.tool_calls[0].id,
                               tool_name=turn.tool_calls[0].tool_name))
    else:
        history.append(Message(Role.USER, "Are you sure?"))
    return openai.build_request_body(model="m", system_prompt="", messages=history,
                                     hosted=hosted)


def test_deepseek_gets_its_reasoning_content_back_with_the_tool_call(
        openai_request_schema: Callable[[Any], None]) -> None:
    turn = streamed_turn(DEEPSEEK_STREAM)
    body = second_turn_body(turn)
    openai_request_schema(body)
    assistant = body["messages"][1]
    assert assistant["reasoning_content"] == recorded_field(DEEPSEEK_STREAM,
                                                            "reasoning_content")
    assert assistant["tool_calls"][0]["id"] == "call_00_ioIn7yN9p1ZOMNpDLwd4MgAF"
    assert "reasoning" not in assistant and "reasoning_details" not in assistant


def test_groq_gets_its_reasoning_back_in_the_field_it_came_in() -> None:
    assistant = second_turn_body(streamed_turn(GROQ_STREAM))["messages"][1]
    assert assistant["reasoning"] == recorded_field(GROQ_STREAM, "reasoning")
    assert "reasoning_content" not in assistant  # Groq refuses it ("unsupported")


def test_openrouter_gets_its_reasoning_details_back_unchanged() -> None:
    turn = streamed_turn(OPENROUTER_STREAM)
    assistant = second_turn_body(turn)["messages"][1]
    saved = json.loads((turn.reasoning or [])[0].signature or "")
    assert assistant["reasoning_details"] == saved["reasoning_details"]
    assert assistant["reasoning_details"][0]["signature"].startswith(ANTHROPIC_SIGNATURE_START)
    assert "reasoning" not in assistant and "reasoning_content" not in assistant
    assert assistant["content"] == "2 + 2 = 4"


def test_saved_reasoning_goes_back_after_a_round_trip_through_to_dict() -> None:
    turn = Message.from_dict(streamed_turn(OPENROUTER_STREAM).to_dict())
    assert "reasoning_details" in second_turn_body(turn)["messages"][1]


def test_api_openai_com_and_other_protocols_get_no_reasoning_fields() -> None:
    turn = streamed_turn(DEEPSEEK_STREAM)
    assert "reasoning_content" not in second_turn_body(turn, hosted=True)["messages"][1]
    foreign = Message(Role.ASSISTANT, "Hi", reasoning=[
        ReasoningPart("thinking", "sig", None, "anthropic")])
    assistant = second_turn_body(foreign)["messages"][1]
    assert set(assistant) == {"role", "content"}


def test_a_reasoning_part_with_a_foreign_signature_is_refused_by_name() -> None:
    broken = Message(Role.ASSISTANT, "Hi", reasoning=[
        ReasoningPart("thinking", "not json", None, "openai")])
    with pytest.raises(ValueError, match="reasoning part .* signature"):
        second_turn_body(broken)


# -- the reasoning setting and native typed output ---------------------------------------------


@pytest.mark.parametrize(("setting", "effort"), [
    ("low", "low"), ("medium", "medium"), ("high", "high"), (1024, "low"), (1025, "medium"),
    (8192, "medium"), (8193, "high"), (32000, "high")])
def test_reasoning_setting_becomes_reasoning_effort(
        setting: str | int, effort: str, openai_request_schema: Callable[[Any], None]) -> None:
    body = openai.build_request_body(model="o4-mini", system_prompt="", hosted=True,
                                     messages=[Message(Role.USER, "hi")], reasoning=setting)
    openai_request_schema(body)
    assert body["reasoning_effort"] == effort


def test_no_reasoning_setting_sends_none() -> None:
    body = openai.build_request_body(model="m", system_prompt="",
                                     messages=[Message(Role.USER, "hi")])
    assert "reasoning_effort" not in body and "response_format" not in body


@pytest.mark.parametrize("setting", ["max", 0, -5, 2.5, True])
def test_a_bad_reasoning_setting_is_refused_by_name(setting: Any) -> None:
    with pytest.raises(ValueError, match="reasoning"):
        openai.build_request_body(model="m", system_prompt="", reasoning=setting,
                                  messages=[Message(Role.USER, "hi")])


def test_typed_output_becomes_a_strict_json_schema_beside_the_tools(
        openai_request_schema: Callable[[Any], None]) -> None:
    from selectools.output import output_schema
    from selectools.tools import tool

    @tool()
    def lookup(city: str) -> str:
        """Look a city up."""
        return city

    schema = output_schema(list[int])
    assert schema.strict_schema is not None and schema.wrapped
    output = OutputFormat(schema.name, schema.schema, schema.strict_schema,
                          schema.instructions())
    body = openai.build_request_body(model="gpt-4o-mini", system_prompt="Be brief.",
                                     messages=[Message(Role.USER, "primes?")],
                                     tools=[lookup.definition], output=output)
    openai_request_schema(body)
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": schema.name, "schema": schema.strict_schema, "strict": True}}
    assert body["tools"][0]["function"]["name"] == "lookup"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_typed_output_without_a_strict_variant_sends_the_plain_schema() -> None:
    plain = {"type": "object", "properties": {"x": {"type": "integer"}}}
    output = OutputFormat("answer", plain, None, "Reply in JSON.")
    body = openai.build_request_body(model="m", system_prompt="", output=output,
                                     messages=[Message(Role.USER, "x?")])
    assert body["response_format"]["json_schema"] == {"name": "answer", "schema": plain,
                                                      "strict": False}
    assert body["messages"] == [{"role": "user", "content": "x?"}]  # no instructions


@pytest.mark.parametrize("model", ["gpt-3.5-turbo", "gpt-4", "gpt-4-turbo-2024-04-09"])
def test_models_older_than_structured_outputs_are_asked_in_words(model: str) -> None:
    output = OutputFormat("answer", {"type": "integer"}, None, "Reply with an integer.")
    body = openai.build_request_body(model=model, system_prompt="Be brief.", hosted=True,
                                     messages=[Message(Role.USER, "x?")], output=output)
    assert "response_format" not in body
    assert body["messages"][0] == {"role": "system",
                                   "content": "Be brief.\n\nReply with an integer."}
    # gpt-4o and later, and every compatible server, are constrained
    for newer, hosted in [("gpt-4o-mini", True), ("gpt-4.1", True), (model, False)]:
        assert "response_format" in openai.build_request_body(
            model=newer, system_prompt="", hosted=hosted, output=output,
            messages=[Message(Role.USER, "x?")])
