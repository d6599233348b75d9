"""ToolRegistry: tools registered by call or by decorator, handed to an Agent."""

from __future__ import annotations

import pytest

from selectools import Agent, Tool, ToolCall, ToolParameter, ToolRegistry, tool
from selectools.testing import ScriptedProvider


def test_tools_registered_every_way_are_found_by_name_in_order() -> None:
    registry = ToolRegistry()

    @registry.register
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @registry.tool(name="mul", description="Multiply two numbers")
    def multiply(a: int, b: int) -> int:
        return a * b

    def echo(text: str) -> str:
        return text

    explicit = registry.register(Tool(name="echo", description="Echo the text", function=echo,
                                      parameters=[ToolParameter("text", str, "What to echo")]))

    assert isinstance(add, Tool) and add.name == "add" and add(2, 3) == 5
    assert isinstance(multiply, Tool) and multiply.description == "Multiply two numbers"
    assert registry.get("add") is add and registry.get("mul") is multiply
    assert registry.get("echo") is explicit
    assert registry.get("divide") is None
    assert [t.name for t in registry.list_tools()] == ["add", "mul", "echo"]
    assert registry.all() == registry.list_tools() == list(registry)
    assert len(registry) == 3 and "mul" in registry and "divide" not in registry


def test_an_agent_runs_the_registered_tools() -> None:
    registry = ToolRegistry()

    @registry.register
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    for tools in (registry.all(), registry):
        provider = ScriptedProvider([ToolCall("add", {"a": "2", "b": 3}, id="c1"), "five"])
        result = Agent(tools=list(tools), provider=provider).run("2 + 3?")
        assert result.content == "five" and result.trace is not None
        assert result.trace.steps[2].data["result"] == "5"


def test_registering_a_name_again_replaces_the_tool_with_a_warning() -> None:
    registry = ToolRegistry()

    @tool(name="greet")
    def hello() -> str:
        return "hello"

    @tool(name="greet")
    def hi() -> str:
        return "hi"

    registry.register(hello)
    registry.register(hello)  # the same tool again: nothing to warn about
    with pytest.warns(UserWarning, match="'greet' is already registered"):
        registry.register(hi)
    assert registry.get("greet") is hi and len(registry) == 1


def test_registering_something_that_is_not_a_tool_is_refused() -> None:
    with pytest.raises(TypeError, match="a Tool or a function"):
        ToolRegistry().register("add")  # type: ignore[arg-type]


def test_the_tool_names_are_importable_from_the_package() -> None:
    import selectools
    from selectools import ToolCall as PackageToolCall
    from selectools.tools import ToolParameter as ToolsParameter
    from selectools.tools import ToolRegistry as ToolsRegistry
    from selectools.types import ToolCall as TypesToolCall

    assert PackageToolCall is TypesToolCall
    assert ToolsParameter is ToolParameter and ToolsRegistry is ToolRegistry
    for name in ("Tool", "ToolParameter", "ToolCall", "ToolRegistry", "tool"):
        assert name in selectools.__all__
