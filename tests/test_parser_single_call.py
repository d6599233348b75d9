"""ToolCallParser: selectools 1.x's reader of the first tool call in a text, any tool named,
returned as a ParseResult; it reads calls as the engine's TextToolCalls does."""

from __future__ import annotations

import json

import pytest

from selectools import ToolCallParser as ExportedParser
from selectools.parser import ParseResult, TextToolCalls, ToolCallParser
from selectools.types import RAW_ARGUMENTS_KEY, ToolCall


def test_the_first_call_is_returned_with_the_text_it_was_read_from() -> None:
    text = ('Let me see.\nTOOL_CALL: {"tool_name": "lookup", "parameters": {"id": 7}}\n'
            'TOOL_CALL: {"tool_name": "second", "parameters": {}}')
    result = ToolCallParser().parse(text)
    assert result == ParseResult(tool_call=ToolCall("lookup", {"id": 7}), raw_text=text)
    assert ExportedParser is ToolCallParser


def test_defaults_are_the_documented_ones() -> None:
    parser = ToolCallParser()
    assert (parser.marker, parser.max_payload_chars) == ("TOOL_CALL", 8000)


def test_no_call_gives_none_and_keeps_the_text() -> None:
    for text in ["", "Plain words.", '{"color": "blue", "size": 42}', '{"data": {"k": 1}}',
                 'TOOL_CALL: ["a", "list"]', '{"name": "", "parameters": {}}',
                 'Ada is {"name": "Ada", "age": 3}.']:
        result = ToolCallParser().parse(text)
        assert result.tool_call is None, text
        assert result.raw_text == text


def test_any_tool_name_counts_without_the_marker_in_fences_and_prose() -> None:
    parser = ToolCallParser()
    for text in ['```\n{"tool_name": "calc", "parameters": {"x": 5}}\n```',
                 'so: {"tool": "calc", "params": {"x": 5}} then',
                 '{"name": "calc", "arguments": "{\\"x\\": 5}"}']:
        call = parser.parse(text).tool_call
        assert call is not None and (call.tool_name, call.parameters) == ("calc", {"x": 5}), text


def test_the_outer_object_names_the_tool_when_an_argument_is_called_name() -> None:
    call = ToolCallParser().parse(
        'TOOL_CALL: {"name": "greet", "parameters": {"name": "Ada"}}').tool_call
    assert call == ToolCall("greet", {"name": "Ada"})


def test_a_custom_marker_and_a_call_with_another_marker() -> None:
    parser = ToolCallParser(marker="FUNCTION_CALL")
    call = parser.parse('FUNCTION_CALL {"tool_name": "unknown_tool", "parameters": "{bad"}')
    assert call.tool_call == ToolCall("unknown_tool", {RAW_ARGUMENTS_KEY: "{bad"})
    # Another marker is just text before a call object, which is found as one.
    found = parser.parse('TOOL_CALL: {"tool_name": "greet", "parameters": {}}').tool_call
    assert found == ToolCall("greet", {})
    # The marker is a literal string, not a pattern.
    dotted = ToolCallParser(marker="CALL.").parse('CALL. {"tool": "t", "args": {}}').tool_call
    assert dotted == ToolCall("t", {})


def test_single_quotes_after_the_marker_are_read() -> None:
    call = ToolCallParser().parse(
        "TOOL_CALL: {'tool_name': 'greet', 'parameters': {'name': 'Alice'}}").tool_call
    assert call == ToolCall("greet", {"name": "Alice"})
    # The engine's reader reads them the same way (one scanner).
    assert TextToolCalls(["greet"]).parse("TOOL_CALL {'tool_name': 'greet'}") == [
        ToolCall("greet", {}, id="text_call_1")]


def test_a_call_longer_than_max_payload_chars_is_not_read() -> None:
    text = 'TOOL_CALL: ' + json.dumps({"tool_name": "echo", "parameters": {"t": "x" * 100}})
    assert ToolCallParser(max_payload_chars=50).parse(text).tool_call is None
    assert ToolCallParser(max_payload_chars=500).parse(text).tool_call is not None
    # 0 is no bound of the caller's: the library's own applies.
    assert ToolCallParser(max_payload_chars=0).parse(text).tool_call is not None
    big = 'TOOL_CALL: ' + json.dumps({"tool_name": "echo", "parameters": {"t": "x" * 50_000}})
    assert ToolCallParser(max_payload_chars=0).parse(big).tool_call is None
    assert ToolCallParser(max_payload_chars=60_000).parse(big).tool_call is not None


def test_bad_settings_and_input_are_clear_errors() -> None:
    with pytest.raises(TypeError, match="marker"):
        ToolCallParser(marker="")
    with pytest.raises(TypeError, match="marker"):
        ToolCallParser(["search"])  # type: ignore[arg-type]  # the engine's reader's form
    with pytest.raises(ValueError, match="max_payload_chars"):
        ToolCallParser(max_payload_chars=-1)
    with pytest.raises(ValueError, match="max_payload_chars"):
        ToolCallParser(max_payload_chars="8000")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text must be a str"):
        ToolCallParser().parse(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="iterable of tool names"):
        TextToolCalls("search")


def test_a_marked_call_wins_over_an_example_call_shown_before_it() -> None:
    text = ('The format is {"tool_name": "example", "parameters": {}}; so here goes:\n'
            'TOOL_CALL: {"tool_name": "real", "parameters": {"n": 1}}')
    assert ToolCallParser().parse(text).tool_call == ToolCall("real", {"n": 1})
    # The engine's reader keeps both, in order (only known tools count without the marker).
    assert [c.tool_name for c in TextToolCalls(["example", "real"]).parse(text)] == [
        "example", "real"]
