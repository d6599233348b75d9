"""Bad input from tools and duck-typed providers goes back to the model; it never crashes
the run."""

from __future__ import annotations

from typing import Any

import pytest

from selectools import Agent, LoggingObserver, Message, Role, ToolCall, tool
from selectools.agent.config import AgentConfig
from selectools.tools import format_tool_error
from selectools.types import RAW_ARGUMENTS_KEY


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("this __str__ is broken")


class NotAString(Exception):
    def __str__(self) -> Any:
        return 42


class Scripted:
    """A duck-typed provider with only `acomplete`, playing its turns in order."""

    name = "scripted"

    def __init__(self, *turns: Message) -> None:
        self.turns = list(turns)
        self.seen: list[list[Message]] = []

    async def acomplete(self, **kwargs: Any) -> Message:
        self.seen.append(list(kwargs["messages"]))
        return self.turns.pop(0)


def calls(*tool_calls: ToolCall) -> Message:
    return Message(role=Role.ASSISTANT, tool_calls=list(tool_calls))


def text(content: str) -> Message:
    return Message(role=Role.ASSISTANT, content=content)


@pytest.mark.parametrize("error", [Unprintable(), NotAString()], ids=["raises", "not str"])
async def test_a_tool_exception_with_a_broken_str_goes_back_to_the_model(
        error: Exception) -> None:
    @tool(description="Fails oddly")
    def odd() -> str:
        raise error

    provider = Scripted(calls(ToolCall("odd", {}, "c1")), text("recovered"))
    agent = Agent(tools=[odd], provider=provider,  # type: ignore[arg-type]
                  config=AgentConfig(observers=[LoggingObserver()]))
    result = await agent.arun("go")
    assert result.content == "recovered"
    sent_back = provider.seen[1][-1]
    assert sent_back.role == Role.TOOL
    assert sent_back.content == (f"Error: tool 'odd' raised {type(error).__name__}: "
                                 "(its message could not be read)")


def test_format_tool_error_survives_any_exception() -> None:
    assert format_tool_error("t", Unprintable()).startswith("Error: tool 't' raised Unprintable")


@pytest.mark.parametrize("parameters", [["a", "b"], "where=all", 7, None, ("x",)],
                         ids=["list", "str", "int", "None", "tuple"])
async def test_non_object_parameters_from_a_provider_are_invalid_arguments(
        parameters: Any) -> None:
    ran: list[str] = []

    @tool(description="Delete")
    def delete(where: str) -> str:
        ran.append(where)
        return "deleted"

    bad = ToolCall("delete", {}, "c1")
    bad.parameters = parameters  # what a duck-typed provider may hand over
    provider = Scripted(calls(bad), text("sorry"))
    result = await Agent(tools=[delete], provider=provider).arun("go")  # type: ignore[arg-type]
    assert ran == [] and result.content == "sorry"
    sent_back = provider.seen[1][-1]
    assert sent_back.role == Role.TOOL
    assert sent_back.content.startswith(
        "Error: invalid arguments for tool 'delete': arguments must be a JSON object")
    assert result.tool_args == {RAW_ARGUMENTS_KEY: result.tool_calls[0].parameters[
        RAW_ARGUMENTS_KEY]}
    assert isinstance(result.tool_calls[0].parameters, dict)


async def test_a_mapping_that_is_not_a_dict_is_accepted() -> None:
    from types import MappingProxyType

    ran: list[str] = []

    @tool(description="Delete")
    def delete(where: str) -> str:
        ran.append(where)
        return "deleted"

    call = ToolCall("delete", {}, "c1")
    call.parameters = MappingProxyType({"where": "tmp"})  # type: ignore[assignment]
    agent = Agent(tools=[delete], provider=Scripted(calls(call), text("ok")))  # type: ignore[arg-type]
    result = await agent.arun("go")
    assert ran == ["tmp"] and result.tool_args == {"where": "tmp"}
