"""Tools declared the explicit way: `Tool(name, description, parameters=[ToolParameter...],
function)`, beside `@tool`. They are shown to the model as declared, and validated, coerced
and reported exactly like `@tool` tools."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from typing import Any
from unittest.mock import Mock

import pytest
from wire_server import WireServer

from selectools import Agent, AgentConfig, Tool, ToolCall, ToolParameter, tool
from selectools.providers.openai import OpenAIProvider
from selectools.testing import ScriptedProvider
from selectools.tools import ToolArgumentError


def answer(message: dict[str, Any]) -> dict[str, Any]:
    """A whole Chat Completions answer carrying `message`."""
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return {"id": "c1", "object": "chat.completion", "model": "m", "choices": [{
        "index": 0, "finish_reason": finish, "message": {"role": "assistant", **message}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}


def call(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}


def weather_tool(seen: list[dict[str, Any]]) -> Tool:
    def get_weather(city: str, days: int, units: str = "celsius") -> str:
        seen.append({"city": city, "days": days, "units": units})
        return f"{city}: sunny for {days} days ({units})"

    return Tool(
        name="get_weather", description="Weather forecast for a city",
        parameters=[
            ToolParameter("city", str, "City name"),
            ToolParameter("days", int, "How many days ahead"),
            ToolParameter("units", str, "Temperature units", required=False,
                          enum=["celsius", "fahrenheit"]),
        ],
        function=get_weather)


async def test_an_explicit_tool_is_shown_as_declared_and_runs_with_coerced_arguments(
        wire_server: WireServer) -> None:
    seen: list[dict[str, Any]] = []
    wire_server.reply(body=answer({"content": None, "tool_calls": [
        call("get_weather", {"city": "Oslo", "days": "3"})]}))
    wire_server.reply(body=answer({"content": "Sunny in Oslo."}))
    provider = OpenAIProvider(base_url=wire_server.url, model="m", max_retries=0, timeout=5)
    try:
        result = await Agent(tools=[weather_tool(seen)], provider=provider).arun("Oslo?")
    finally:
        await provider.aclose()
    assert result.content == "Sunny in Oslo."
    # "3" was coerced to 3; the optional `units`, not sent, took the function's default.
    assert seen == [{"city": "Oslo", "days": 3, "units": "celsius"}]
    first, second = (request.json for request in wire_server.requests)
    assert first["tools"][0]["function"]["parameters"] == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": "integer", "description": "How many days ahead"},
            "units": {"type": "string", "description": "Temperature units",
                      "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "days"],
    }
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call_1",
                                      "content": "Oslo: sunny for 3 days (celsius)"}


def decorated_weather() -> Tool:
    @tool(description="Weather forecast for a city")
    def get_weather(city: str, days: int) -> str:
        return "sunny"

    return get_weather


def explicit_weather() -> Tool:
    def get_weather(city: str, days: int) -> str:
        return "sunny"

    return Tool(name="get_weather", description="Weather forecast for a city",
                parameters=[ToolParameter("city", str, "City name"),
                            ToolParameter("days", int, "How many days ahead")],
                function=get_weather)


BAD_ARGUMENTS = {
    "missing": {"city": "Oslo"},
    "wrong type": {"city": "Oslo", "days": "soon"},
    "unexpected": {"city": "Oslo", "days": 2, "hours": 5},
    "null for a required one": {"city": None, "days": 1},
}


@pytest.mark.parametrize("arguments", list(BAD_ARGUMENTS.values()), ids=list(BAD_ARGUMENTS))
def test_an_explicit_tool_reports_bad_arguments_to_the_model_in_the_words_of_a_decorated_one(
        arguments: Any) -> None:
    def tool_message(made: Tool) -> str:
        provider = ScriptedProvider([ToolCall("get_weather", arguments, id="c1"), "ok"])
        result = Agent(tools=[made], provider=provider).run("weather?")
        assert result.trace is not None
        [execution] = [s for s in result.trace.steps if s.type == "tool_execution"]
        assert execution.data["error"] is True
        return str(execution.data["result"])

    decorated, explicit = tool_message(decorated_weather()), tool_message(explicit_weather())
    assert explicit == decorated
    assert explicit.startswith("Error: invalid arguments for tool 'get_weather'")


def test_an_optional_parameter_left_out_or_sent_as_null_is_not_passed() -> None:
    seen: list[dict[str, Any]] = []
    weather = weather_tool(seen)
    provider = ScriptedProvider([
        [ToolCall("get_weather", {"city": "Rome", "days": 1, "units": None}, id="c1"),
         ToolCall("get_weather", {"city": "Bern", "days": 2, "units": "fahrenheit"}, id="c2")],
        "done"])
    Agent(tools=[weather], provider=provider,
          config=AgentConfig(parallel_tool_execution=False)).run("weather?")
    assert seen == [{"city": "Rome", "days": 1, "units": "celsius"},
                    {"city": "Bern", "days": 2, "units": "fahrenheit"}]


def test_enum_and_element_type_are_checked_and_coerced() -> None:
    weather = weather_tool([])
    with pytest.raises(ToolArgumentError) as refused:
        weather.validate({"city": "Oslo", "days": 1, "units": "kelvin"})
    assert refused.value.parameters == ["units"]

    def total(values: list[int], weights: dict[str, float] | None = None) -> int:
        return sum(values)

    summing = Tool(name="total", description="Sum some numbers", function=total, parameters=[
        ToolParameter("values", list, "Numbers", element_type=int),
        ToolParameter("weights", dict, "Weights", required=False, element_type=float)])
    assert summing.validate({"values": ["1", 2]}) == {"values": [1, 2]}
    assert summing.parameters_schema["properties"]["values"]["items"] == {"type": "integer"}
    assert summing.parameters_schema["properties"]["weights"]["additionalProperties"] == {
        "type": "number"}
    with pytest.raises(ToolArgumentError, match="'values\\[1\\]'"):
        summing.validate({"values": [1, "two"]})
    with pytest.raises(ToolArgumentError, match="expected a valid integer, got True"):
        summing.validate({"values": [True]})  # as for a @tool: true is no number


def test_schema_and_parameters_read_the_same_for_both_forms() -> None:
    explicit, decorated = explicit_weather(), decorated_weather()
    assert explicit.schema() == {"name": "get_weather",
                                 "description": "Weather forecast for a city",
                                 "parameters": explicit.parameters_schema}
    assert decorated.schema()["parameters"] == decorated.parameters_schema
    for made in (explicit, decorated):
        assert [(p.name, p.param_type, p.required) for p in made.parameters] == [
            ("city", str, True), ("days", int, True)]
    # The schema handed out is a copy: changing it changes nothing the model is shown.
    explicit.schema()["parameters"]["properties"].clear()
    assert list(explicit.parameters_schema["properties"]) == ["city", "days"]


def test_a_function_taking_anything_may_be_declared_with_no_parameters() -> None:
    spy = Mock(return_value="called")
    ping = Tool(name="ping", description="Ping", function=spy, parameters={})
    result = Agent(tools=[ping], provider=ScriptedProvider(
        [ToolCall("ping", {}, id="c1"), "pong"])).run("ping")
    assert result.content == "pong"
    spy.assert_called_once_with()
    assert ping.function is spy and ping.parameters == []


def test_the_earlier_forms_keep_working() -> None:
    def shout(text: str) -> str:
        """Shout the text."""
        return text.upper()

    positional = Tool("shout", "Shout", shout)
    by_keyword = Tool(name="shout", description=None, function=shout)
    for made in (positional, by_keyword):
        assert made.parameter_names == ["text"]
        assert made.validate({"text": "hi"}) == {"text": "hi"}
    assert by_keyword.description == "Shout the text."


def test_an_explicit_tool_runs_from_a_positional_call_in_the_documented_order() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    made = Tool("add", "Add two numbers",
                [ToolParameter("a", int, "first"), ToolParameter("b", int, "second")], add)
    result = Agent(tools=[made], provider=ScriptedProvider(
        [ToolCall("add", {"a": 2, "b": "5"}, id="c1"), "seven"])).run("add")
    assert result.trace is not None and result.trace.steps[2].data["result"] == "7"


def _two(a: int, b: int = 0) -> int:
    return a + b


BAD_DECLARATIONS: dict[str, tuple[dict[str, Any], type[Exception], str]] = {
    "not a ToolParameter": ({"parameters": [{"name": "a"}]}, TypeError,
                            "must be ToolParameter objects"),
    "a schema in parameters": ({"parameters": {"type": "object"}}, TypeError,
                               "parameters_schema="),
    "duplicate names": ({"parameters": [ToolParameter("a", int, "x"),
                                        ToolParameter("a", int, "y")]},
                        ValueError, "two parameters are named 'a'"),
    "unsupported type": ({"parameters": [ToolParameter("a", complex, "x")]}, TypeError,
                         "unsupported param_type"),
    "unknown to the function": ({"parameters": [ToolParameter("a", int, "x"),
                                                ToolParameter("c", int, "y")]},
                                ValueError, "'c' is not a parameter of the function"),
    "required but undeclared": ({"parameters": [ToolParameter("b", int, "x",
                                                              required=False)]},
                                ValueError, "the function requires 'a'"),
    "optional without a default": ({"parameters": [ToolParameter("a", int, "x",
                                                                 required=False)]},
                                   ValueError, "gives it no default"),
    "empty enum": ({"parameters": [ToolParameter("a", int, "x", enum=[])]}, ValueError,
                   "enum must be a non-empty list"),
    "element type of a str": ({"parameters": [ToolParameter("a", str, "x",
                                                            element_type=int)]},
                              TypeError, "element_type is for list or dict"),
    "both kinds of schema": ({"parameters": [ToolParameter("a", int, "x")],
                              "parameters_schema": {"type": "object"}},
                             TypeError, "not both"),
    "enum of another type": ({"parameters": [ToolParameter("a", str, "x", enum=[1, 2])]},
                             ValueError, r"enum values \[1, 2\] are not of its param_type str"),
    "bool enum for an int": ({"parameters": [ToolParameter("a", int, "x", enum=[True])]},
                             ValueError, "are not of its param_type int"),
    "required not a bool": ({"parameters": [ToolParameter("a", int, "x", required="no")]},  # type: ignore[arg-type]
                            TypeError, "required must be True or False"),
    "one parameter, not a list": ({"parameters": ToolParameter("a", int, "x")}, TypeError,
                                  "pass \\[ToolParameter\\('a', ...\\)\\], a list"),
}


@pytest.mark.parametrize("case", list(BAD_DECLARATIONS), ids=list(BAD_DECLARATIONS))
def test_a_bad_declaration_is_refused_when_the_tool_is_made(case: str) -> None:
    options, error, words = BAD_DECLARATIONS[case]
    with pytest.raises(error, match=words):
        Tool(name="two", description="Two numbers", function=_two, **options)


def test_an_explicit_tool_of_plain_types_runs_without_importing_pydantic() -> None:
    script = textwrap.dedent("""
        import sys
        from selectools import Agent, Tool, ToolCall, ToolParameter
        from selectools.testing import ScriptedProvider

        def search(query, limit=3):
            return f"{limit} results for {query}"

        made = Tool(name="search", description="Search the web", function=search, parameters=[
            ToolParameter("query", str, "What to look for"),
            ToolParameter("limit", int, "How many results", required=False)])
        provider = ScriptedProvider([
            [ToolCall("search", {"query": "python"}, id="c1"),
             ToolCall("search", {"query": "rust", "limit": 5}, id="c2")], "done"])
        result = Agent(tools=[made], provider=provider).run("search")
        print([s.data["result"] for s in result.trace.steps if s.type == "tool_execution"])
        print("pydantic" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert sorted(ast.literal_eval(out[0])) == ["3 results for python", "5 results for rust"]
    assert out[1] == "False"
