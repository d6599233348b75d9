"""LlamaCppProvider's typed answers (`output=`) and tool-call deltas: the request's schema
and the reply decoding, everywhere (the real model's side is tests/test_output_llamacpp.py)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from selectools import Message, Role, ToolCall, tool
from selectools.output import output_schema
from selectools.providers.llamacpp import (
    LlamaCppProvider,
    ReplyDecoder,
    build_chat_messages,
    build_request_body,
    tool_reply_schema,
)
from selectools.types import RAW_ARGUMENTS_KEY, OutputFormat, ToolCallDelta


@tool(description="Get the current weather for a city")
def get_weather(city: str) -> str:
    return f"Sunny and 21 C in {city}"


class City(BaseModel):
    name: str
    country: str


class Tree(BaseModel):  # recursive: its schema keeps a $defs entry
    label: str
    children: list[Tree] = []


def format_of(target: Any) -> OutputFormat:
    schema = output_schema(target)
    return OutputFormat(schema.name, schema.schema, schema.strict_schema,
                        schema.instructions())


def user(text: str) -> Message:
    return Message(role=Role.USER, content=text)


def feed_all(decoder: ReplyDecoder, pieces: list[str]) -> list[Any]:
    items: list[Any] = []
    for piece in pieces:
        items.extend(decoder.feed(piece))
    return items + decoder.finish()


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


# --- the request --------------------------------------------------------------------------------

def test_without_tools_the_whole_reply_is_held_to_the_typed_answers_schema() -> None:
    output = format_of(City)
    body = build_request_body(system_prompt="Be brief.", messages=[user("A city?")],
                              output=output)
    spec = body["response_format"]["json_schema"]
    assert body["response_format"]["type"] == "json_schema"
    assert spec["schema"] == output.strict_schema and spec["strict"] is True
    assert spec["name"] == output.name
    assert body["messages"][0] == {"role": "system",
                                   "content": f"Be brief.\n\n{output.instructions}"}
    plain = output._replace(strict_schema=None)
    spec = build_request_body(system_prompt="", messages=[user("A city?")],
                              output=plain)["response_format"]["json_schema"]
    assert spec["schema"] == output.schema and spec["strict"] is False


def test_with_tools_the_answer_branch_is_the_typed_value() -> None:
    output = format_of(City)
    body = build_request_body(system_prompt="", messages=[user("A city?")],
                              tools=[get_weather.definition], output=output)
    schema = body["response_format"]["json_schema"]["schema"]
    jsonschema.validate({"answer": {"name": "Lyon", "country": "France"}}, schema)
    jsonschema.validate({"tool": "get_weather", "arguments": {"city": "Lyon"}}, schema)
    for wrong in ({"answer": "Lyon, France"}, {"answer": {"name": "Lyon"}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)
    # the model is told the answer's shape
    assert json.dumps(output.schema) in body["messages"][0]["content"]


def test_a_typed_answers_definitions_move_to_the_root_beside_the_tools() -> None:
    output = format_of(Tree)
    answer = output.strict_schema or output.schema
    assert "$defs" in answer
    schema = tool_reply_schema([get_weather.definition], answer=answer)
    jsonschema.validate({"answer": {"label": "a", "children": [
        {"label": "b", "children": []}]}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"answer": {"label": "a", "children": [{"label": 1}]}}, schema)


def test_earlier_typed_answers_are_written_back_as_values_not_strings() -> None:
    history = [user("A city?"), Message(role=Role.ASSISTANT,
                                        content='{"name": "Lyon", "country": "France"}'),
               user("Another?")]
    turns = build_chat_messages("", history, [get_weather.definition], format_of(City))
    assert json.loads(turns[2]["content"]) == {"answer": {"name": "Lyon", "country": "France"}}
    untyped = build_chat_messages("", history, [get_weather.definition])
    assert json.loads(untyped[2]["content"]) == {
        "answer": '{"name": "Lyon", "country": "France"}'}


def test_the_provider_takes_a_typed_answer_and_tool_deltas_but_no_reasoning() -> None:
    assert LlamaCppProvider.call_options == frozenset({"output", "tool_deltas"})


# --- decoding a typed answer --------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=3),
    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(value=json_values, cuts=st.lists(st.integers(0, 400), max_size=12),
       indent=st.sampled_from([None, 2]), tail=st.sampled_from(["}", "\n}", " }\n"]))
def test_a_typed_answer_passes_on_exactly_its_values_json_however_split(
        value: Any, cuts: list[int], indent: int | None, tail: str) -> None:
    text = json.dumps(value, indent=indent)
    reply = '{"answer": ' + text + tail
    items = feed_all(ReplyDecoder(typed=True), split(reply, cuts))
    assert all(isinstance(i, str) and i for i in items)
    assert "".join(items) == text


def test_a_typed_answer_streams_before_the_reply_ends() -> None:
    decoder = ReplyDecoder(typed=True)
    assert decoder.feed('{"answer": {"name": "Ly') == ['{"name": "Ly']
    assert decoder.feed('on"}') == ['on"']  # its brace, or the wrapper's? not yet known
    assert decoder.feed("}") == []
    assert decoder.finish() == ["}"]


def test_a_typed_answer_cut_short_keeps_all_that_was_generated() -> None:
    assert "".join(feed_all(ReplyDecoder(typed=True), ['{"answer": {"name": "Lyon"}'])) == \
        '{"name": "Lyon"}'


def test_a_typed_run_still_gets_whole_tool_calls() -> None:
    items = feed_all(ReplyDecoder(typed=True),
                     ['{"tool": "get_weather", ', '"arguments": {"city": "Lyon"}}'])
    assert len(items) == 1 and isinstance(items[0], ToolCall)
    assert items[0].parameters == {"city": "Lyon"}


# --- tool-call deltas ---------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(0, 200), max_size=12), indent=st.sampled_from([None, 2]))
def test_a_calls_arguments_stream_as_deltas_that_add_up_to_them(
        cuts: list[int], indent: int | None) -> None:
    arguments = {"city": "São Paulo", "days": [1, 2], "nested": {"a": {}}}
    reply = json.dumps({"tool": "get_weather", "arguments": arguments}, indent=indent,
                       ensure_ascii=False)
    items = feed_all(ReplyDecoder(tool_deltas=True), split(reply, cuts))
    *deltas, call = items
    assert isinstance(call, ToolCall) and call.parameters == arguments
    assert deltas and all(isinstance(d, ToolCallDelta) for d in deltas)
    assert {(d.index, d.call_id, d.tool_name) for d in deltas} == {
        (0, call.id, "get_weather")}
    assert json.loads("".join(d.arguments_delta for d in deltas)) == arguments


def test_arguments_stream_as_they_are_generated() -> None:
    decoder = ReplyDecoder(tool_deltas=True)
    assert decoder.feed('{"tool": "get_weather", "arguments": ') == []
    first = decoder.feed('{"city": "Pa')
    assert [d.arguments_delta for d in first if isinstance(d, ToolCallDelta)] == \
        ['{"city": "Pa']


def test_without_tool_deltas_a_call_comes_only_whole() -> None:
    items = feed_all(ReplyDecoder(), ['{"tool": "get_weather", "arguments": {"city": "X"}}'])
    assert [type(i) for i in items] == [ToolCall]


def test_arguments_before_the_name_come_whole_only() -> None:
    items = feed_all(ReplyDecoder(tool_deltas=True),
                     ['{"arguments": {"city": "X"}, ', '"tool": "get_weather"}'])
    assert len(items) == 1 and isinstance(items[0], ToolCall)
    assert items[0].parameters == {"city": "X"}


def test_a_call_cut_short_after_its_deltas_keeps_their_id() -> None:
    items = feed_all(ReplyDecoder(tool_deltas=True),
                     ['{"tool": "get_weather", "arguments": {"city": "Par'])
    *deltas, call = items
    assert isinstance(call, ToolCall) and RAW_ARGUMENTS_KEY in call.parameters
    assert deltas and all(isinstance(d, ToolCallDelta) and d.call_id == call.id
                          for d in deltas)
