"""Tool calls written as text by models without native tool calling."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from selectools.parser import TextToolCalls, tool_instructions
from selectools.tools import tool
from selectools.types import RAW_ARGUMENTS_KEY, ToolCall

parser = TextToolCalls(["search", "add", "get_time"])


def calls(text: str) -> list[tuple[str, dict[str, object]]]:
    return [(c.tool_name, c.parameters) for c in parser.parse(text)]


def test_tool_call_marker_form() -> None:
    found = parser.parse(
        'I will look it up.\nTOOL_CALL {"tool_name": "search", "parameters": {"query": "python"}}')
    assert found == [ToolCall("search", {"query": "python"}, id="text_call_1")]


def test_tool_call_marker_with_colon_and_fence() -> None:
    assert calls('TOOL_CALL: {"tool_name": "add", "parameters": {"a": 1, "b": 2}}') == [
        ("add", {"a": 1, "b": 2})]
    assert calls('TOOL_CALL\n```json\n{"tool_name": "add", "parameters": {"a": 1}}\n```') == [
        ("add", {"a": 1})]


def test_fenced_json_block() -> None:
    text = 'Let me search.\n```json\n{"name": "search", "arguments": {"query": "rust"}}\n```\n'
    assert calls(text) == [("search", {"query": "rust"})]


def test_bare_json_with_every_key_spelling() -> None:
    for name_key in ("tool_name", "name", "tool"):
        for args_key in ("parameters", "arguments", "args", "params", "input"):
            text = json.dumps({name_key: "search", args_key: {"query": "x"}})
            assert calls(f"ok {text} done") == [("search", {"query": "x"})], text


def test_arguments_given_as_a_json_string() -> None:
    text = json.dumps({"name": "add", "arguments": json.dumps({"a": 1, "b": 2})})
    assert calls(text) == [("add", {"a": 1, "b": 2})]


def test_several_calls_are_all_found_in_order_with_ids() -> None:
    text = (
        'TOOL_CALL {"tool_name": "search", "parameters": {"query": "a"}}\n'
        '```json\n{"name": "add", "arguments": {"a": 1}}\n```\n'
        'and {"tool": "get_time", "args": {}}\n'
        'TOOL_CALL {"tool_name": "search", "parameters": {"query": "b"}}'
    )
    found = parser.parse(text)
    assert [(c.tool_name, c.parameters) for c in found] == [
        ("search", {"query": "a"}), ("add", {"a": 1}), ("get_time", {}),
        ("search", {"query": "b"})]
    assert [c.id for c in found] == ["text_call_1", "text_call_2", "text_call_3", "text_call_4"]


def test_id_prefix_can_be_chosen() -> None:
    found = parser.parse('TOOL_CALL {"tool_name": "get_time"}', id_prefix="turn2")
    assert found[0].id == "turn2_1"


def test_nested_braces_and_braces_inside_strings() -> None:
    text = ('TOOL_CALL {"tool_name": "search", "parameters": {"query": "a } b { \\" }", '
            '"filters": {"site": {"domain": "x.org"}}}} trailing }')
    assert calls(text) == [("search", {"query": 'a } b { " }',
                                       "filters": {"site": {"domain": "x.org"}}})]


def test_calls_nested_in_a_tool_calls_envelope() -> None:
    text = json.dumps({"tool_calls": [
        {"id": "1", "type": "function",
         "function": {"name": "search", "arguments": '{"query": "q"}'}},
        {"name": "add", "arguments": {"a": 2}},
    ]})
    assert calls(text) == [("search", {"query": "q"}), ("add", {"a": 2})]


def test_tool_with_no_arguments() -> None:
    assert calls('{"tool_name": "get_time"}') == [("get_time", {})]
    assert calls('{"name": "get_time", "arguments": {}}') == [("get_time", {})]


def test_ordinary_json_in_an_answer_is_not_a_call() -> None:
    for text in [
        'The config is {"name": "server", "port": 8080}.',
        '```json\n{"results": [{"title": "Python", "url": "https://python.org"}]}\n```',
        '{"name": "search", "rank": 1}',            # names a tool, but no arguments key
        '[{"name": "add"}, {"name": "search"}]',     # a list of names, not calls
        '{"name": "delete_everything", "arguments": {}}',  # not a registered tool
        '{"tool_name": "search", "parameters": [1, 2]}',   # arguments not an object
        '{"name": "add", "arguments": "not json"}',
        "Use TOOL_CALL when you need a tool.",
        "Sets look like {1, 2} and dicts like {'a': 1}.",
        "",
    ]:
        assert parser.parse(text) == [], text


def test_marker_call_to_an_unknown_tool_is_reported_for_the_agent_to_answer() -> None:
    assert calls('TOOL_CALL {"tool_name": "serch", "parameters": {"q": 1}}') == [
        ("serch", {"q": 1})]


def test_marker_call_with_unreadable_arguments_keeps_them() -> None:
    found = calls('TOOL_CALL {"tool_name": "add", "parameters": "{\\"a\\": 1"}')
    assert found == [("add", {RAW_ARGUMENTS_KEY: '{"a": 1'})]


def test_a_malformed_marked_call_is_reported_and_later_calls_still_found() -> None:
    malformed = '{"tool_name": "add", "parameters": {"a": 1,}}'
    text = f'TOOL_CALL {malformed}\nTOOL_CALL {{"tool_name": "add", "parameters": {{"a": 2}}}}'
    assert calls(text) == [("add", {RAW_ARGUMENTS_KEY: malformed}), ("add", {"a": 2})]


def test_parser_accepts_tools_as_well_as_names() -> None:
    @tool
    def ping(host: str) -> str:
        return host

    assert TextToolCalls([ping]).parse('{"tool": "ping", "args": {"host": "a"}}') == [
        ToolCall("ping", {"host": "a"}, id="text_call_1")]


def test_deeply_nested_json_does_not_crash() -> None:
    assert parser.parse("{\"a\": " * 100_000 + "1" + "}" * 100_000) == []
    assert parser.parse("[" * 50_000 + "{") == []
    deep_prefix = '{"a": ' * 20_000
    assert calls(deep_prefix + 'TOOL_CALL {"tool_name": "get_time"}') == [("get_time", {})]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_never_raises_on_arbitrary_text(text: str) -> None:
    result = parser.parse(text)
    assert isinstance(result, list)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["name", "tool", "arguments", "x", "{"]), children,
                      max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), json_values.map(json.dumps),
                          st.just("TOOL_CALL "), st.just("```json\n")), max_size=6))
def test_parse_never_raises_on_json_like_text(pieces: list[str]) -> None:
    for call in parser.parse("".join(pieces)):
        assert isinstance(call.parameters, dict)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=40),
       st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
def test_a_call_surrounded_by_prose_is_always_found(prose: str, args: dict[str, int]) -> None:
    text = f'{prose}\nTOOL_CALL {json.dumps({"tool_name": "add", "parameters": args})}\n{prose}'
    assert calls(text) == [("add", args)]


def test_tool_instructions_list_every_tool_with_its_schema() -> None:
    @tool(description="Search the web")
    def search(query: str) -> str:
        return query

    @tool
    def add(a: int, b: int = 0) -> int:
        """Add two numbers."""
        return a + b

    text = tool_instructions([search, add])
    assert 'TOOL_CALL {"tool_name": "<tool name>", "parameters": {' in text
    assert "- search: Search the web" in text
    assert "- add: Add two numbers." in text
    assert json.dumps(add.parameters_schema) in text
    assert tool_instructions([]) == ""


def test_a_call_written_as_the_instructions_say_is_parsed() -> None:
    @tool
    def add(a: int, b: int = 0) -> int:
        """Add two numbers."""
        return a + b

    assert 'TOOL_CALL {"tool_name"' in tool_instructions([add])
    written = 'TOOL_CALL {"tool_name": "add", "parameters": {"a": 2, "b": 3}}'
    assert TextToolCalls([add.name]).parse(written)[0].parameters == {"a": 2, "b": 3}
