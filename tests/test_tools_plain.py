"""Tools whose parameters are plain JSON types work without pydantic, exactly as with it."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selectools import Tool, tool
from selectools.tools import ToolArgumentError
from selectools.tools.schema import describe_parameters, tidy_schema


def required_each(text: str, count: int, ratio: float, flag: bool) -> str:
    return ""


def defaults_each(text: str = "x", count: int = 3, ratio: float = 0.5, whole: float = 2,
                  flag: bool = False) -> str:
    return ""


def described(city: Annotated[str, "The city's name"], *, days: int = 1, unhinted="now",
              level: Annotated[int, "how", "loud"] = 2) -> str:
    """Weather.

    Args:
        days: How many days ahead.
    """
    return ""


def nothing() -> str:
    return ""


PLAIN = [required_each, defaults_each, described, nothing]


@pytest.mark.parametrize("function", PLAIN)
def test_the_plain_schema_is_the_one_pydantic_gives(function: Any) -> None:
    made = tool(function)
    spec = describe_parameters(function, tool_name="t",
                               descriptions={"days": "How many days ahead."})
    assert spec.plain is not None
    assert spec.schema == tidy_schema(spec.model.model_json_schema())
    assert made.parameters_schema == tidy_schema(made._spec.model.model_json_schema())


@pytest.mark.parametrize("source", [
    "def f(x: int | None = None) -> str: ...",
    "def f(x: list[int]) -> str: ...",
    "def f(x: int = True) -> str: ...",
    "def f(x: float = float('inf')) -> str: ...",
    "def f(x: str = None) -> str: ...",
    "def f(x=None) -> str: ...",
    "def f(x: Annotated[int, Field(gt=0)]) -> str: ...",
])
def test_anything_else_is_described_by_pydantic(source: str) -> None:
    from pydantic import Field

    namespace: dict[str, Any] = {"Annotated": Annotated, "Field": Field}
    exec(source, namespace)
    spec = describe_parameters(namespace["f"], tool_name="t", descriptions={})
    assert spec.plain is None


values = st.one_of(st.text(max_size=5), st.integers(-10**17, 10**17), st.floats(allow_nan=False),
                   st.booleans(), st.none(), st.lists(st.integers(), max_size=2))


@given(st.dictionaries(st.sampled_from(["text", "count", "ratio", "whole", "flag", "other"]),
                       values, max_size=6))
def test_plain_checks_agree_with_pydantic(arguments: dict[str, Any]) -> None:
    made = tool(defaults_each)
    spec = made._spec
    assert spec is not None

    def through_pydantic() -> Any:
        try:
            validated = spec.model.model_validate(dict(arguments))
        except Exception as exc:
            return type(exc).__name__
        return {name: getattr(validated, attribute)
                for name, attribute in spec.attributes.items()}

    try:
        ours: Any = made.validate(arguments)
    except ToolArgumentError:
        ours = "ValidationError"
    expected = through_pydantic()
    assert _nan_as_text(ours) == _nan_as_text(expected)  # "NaN" for a float is nan in both
    if isinstance(ours, dict):  # (in any order: they are passed by name)
        assert {k: type(v) for k, v in ours.items()} == {
            k: type(v) for k, v in expected.items()}


def _nan_as_text(value: Any) -> Any:
    """`value` with NaN floats as the text "nan", which compares equal to itself."""
    if isinstance(value, dict):
        return {key: _nan_as_text(item) for key, item in value.items()}
    return "nan" if isinstance(value, float) and math.isnan(value) else value


def test_a_bad_argument_is_still_coerced_or_worded_by_pydantic() -> None:
    made = tool(required_each)
    assert made.validate({"text": 5, "count": "3", "ratio": 1, "flag": True}) == {
        "text": "5", "count": 3, "ratio": 1.0, "flag": True}
    with pytest.raises(ToolArgumentError, match="missing required parameter 'flag'"):
        made.validate({"text": "a", "count": 1, "ratio": 1.0})


def test_a_plain_tool_run_by_an_agent_never_imports_pydantic() -> None:
    script = textwrap.dedent("""
        import sys
        from selectools import Agent, AgentConfig, tool
        from selectools.providers.stubs import LocalProvider

        @tool(description="Search the web")
        def search(query: str, limit: int = 3) -> str:
            return f"Results for {query!r}"

        agent = Agent(tools=[search], provider=LocalProvider(),
                      config=AgentConfig(max_iterations=2))
        print(agent.run("Search for Python").content)
        print("pydantic" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["Here is what I found with search: Results for 'for Python'", "False"]


def test_an_explicit_tool_keeps_its_plain_fast_path() -> None:
    made = Tool("join", "Join", lambda a, b="y": a + b)  # unhinted: strings, as always
    assert made._plain is not None
    assert made.validate({"a": "x"}) == {"a": "x", "b": "y"}


exact = st.fixed_dictionaries({"text": st.text(max_size=5), "count": st.integers(-10**17, 10**17),
                               "ratio": st.floats(allow_nan=False), "flag": st.booleans()})


@given(exact, st.permutations(["text", "count", "ratio", "flag"]))
def test_arguments_of_exactly_their_types_pass_as_sent_in_any_order(
        arguments: dict[str, Any], order: list[str]) -> None:
    made = tool(required_each)
    sent = {name: arguments[name] for name in order}
    validated = made.validate(sent)
    assert validated == arguments
    assert validated is not sent  # a copy: the tool's arguments are not the call's dict
    validated["text"] = "changed"
    assert sent["text"] == arguments["text"]


@pytest.mark.parametrize(("arguments", "expected"), [
    # each one is not of exactly its parameter's type, or one is missing or unexpected:
    # coerced or refused as pydantic does, never passed as sent
    ({"text": "a", "count": True, "ratio": 1.0, "flag": True}, "ValidationError"),
    ({"text": "a", "count": 1, "ratio": 1, "flag": True},
     {"text": "a", "count": 1, "ratio": 1.0, "flag": True}),
    ({"text": "a", "count": 1, "ratio": 1.0, "flag": 1}, {"text": "a", "count": 1,
                                                          "ratio": 1.0, "flag": True}),
    ({"text": "a", "count": 1, "ratio": 1.0}, "ValidationError"),
    ({"text": "a", "count": 1, "ratio": 1.0, "flag": True, "other": "x"}, "ValidationError"),
    ({"text": "a", "count": 1.0, "ratio": 1.0, "flag": True},
     {"text": "a", "count": 1, "ratio": 1.0, "flag": True}),
])
def test_arguments_not_of_exactly_their_types_are_not_passed_as_sent(
        arguments: dict[str, Any], expected: Any) -> None:
    made = tool(required_each)
    try:
        ours: Any = made.validate(arguments)
    except ToolArgumentError:
        ours = "ValidationError"
    assert ours == expected
    if isinstance(ours, dict):
        assert [type(v) for v in ours.values()] == [str, int, float, bool]


@given(exact, st.integers(-2**60, 2**60), st.permutations(["text", "count", "ratio", "flag"]))
def test_a_float_sent_as_a_whole_number_is_what_pydantic_makes_of_it(
        arguments: dict[str, Any], whole: int, order: list[str]) -> None:
    # (validate's short path for a model's 100 for a float parameter: held to pydantic)
    made = tool(required_each)
    spec = made._spec
    assert spec is not None
    sent = {name: whole if name == "ratio" else arguments[name] for name in order}
    try:
        validated = spec.model.model_validate(dict(sent))
    except Exception as exc:
        expected: Any = type(exc).__name__
    else:
        expected = {name: getattr(validated, attribute)
                    for name, attribute in spec.attributes.items()}
    try:
        ours: Any = made.validate(sent)
    except ToolArgumentError:
        ours = "ValidationError"
    assert ours == expected
    if isinstance(ours, dict):
        assert type(ours["ratio"]) is float and type(sent["ratio"]) is int  # sent unchanged
        assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in expected.items()}
