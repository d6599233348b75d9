"""What a run is given: tools reach providers as ToolDefinitions; analytics survive reset()."""

from __future__ import annotations

from typing import Any

from selectools import Agent, AgentConfig, ToolCall, tool
from selectools.providers.stubs import LocalProvider
from selectools.types import ToolDefinition


@tool(description="Add two numbers")
def add(a: int, b: int) -> int:
    return a + b


def test_tool_definition_is_data_and_new_on_each_read() -> None:
    first, second = add.definition, add.definition
    assert isinstance(first, ToolDefinition) and first is not second
    assert first == ToolDefinition("add", "Add two numbers", add.parameters_schema)
    assert first.schema()["parameters"]["required"] == ["a", "b"]


def test_providers_are_given_tool_definitions_not_tools() -> None:
    seen: list[Any] = []

    class Recording(LocalProvider):
        def complete(self, **kwargs: Any) -> Any:
            seen.append(kwargs["tools"])
            return super().complete(**kwargs)

    provider = Recording(responses=[ToolCall("add", {"a": 1, "b": 2}, "c1"), "3"])
    assert Agent(tools=[add], provider=provider).run("1+2").content == "3"
    assert len(seen) == 2
    for tools in seen:
        assert [type(t) for t in tools] == [ToolDefinition] and tools[0].name == "add"
    seen.clear()
    Agent(provider=Recording(responses=["hi"])).run("hello")
    assert seen == [None]  # no tools: none are offered


def test_analytics_after_reset_count_the_new_runs() -> None:
    provider = LocalProvider(responses=[ToolCall("add", {"a": 1, "b": 2}, "c1"), "3"] * 2)
    agent = Agent(tools=[add], provider=provider, config=AgentConfig(enable_analytics=True))
    agent.run("1+2")
    agent.reset()
    agent.run("1+2")
    assert agent.analytics is not None and agent.analytics.tools["add"].calls == 1
