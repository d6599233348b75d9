"""How a batch runs each input (batch.input_runner): `Agent.arun`'s own steps less what the
batch did once for every input (the inputs checked, the response_format made a schema, no
session), held here to `arun` itself; an Agent subclass's own `arun` is still the one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from selectools import Agent, AgentResult, LocalProvider, Message, Role, ToolCall, tool
from selectools.agent.core import Messages
from selectools.batch import abatch
from selectools.output import ResponseFormat


@dataclass
class City:
    name: str
    sunny: bool


@tool(description="The weather in a city")
def weather(city: str) -> str:
    return f"Sunny in {city}"


def scripted() -> LocalProvider:
    return LocalProvider(responses=[ToolCall("weather", {"city": "Paris"}, "c1"),
                                    '{"name": "Paris", "sunny": true}'])


def shown(result: AgentResult) -> Any:
    assert result.trace is not None
    return (result.content, result.parsed, result.structured_status, result.iterations,
            [(c.tool_name, c.parameters, c.id) for c in result.tool_calls],
            [(s.type, s.iteration, {k: v for k, v in s.data.items() if k != "id"})
             for s in result.trace], result.stop_reason)


@pytest.mark.parametrize("item", [
    "Weather in Paris?", Message(role=Role.USER, content="Weather in Paris?"),
    [Message(role=Role.USER, content="Weather in Paris?")]])
async def test_each_input_runs_as_arun_would_run_it(item: Messages) -> None:
    alone = await Agent([weather], provider=scripted()).arun(item, response_format=City)
    [held] = await abatch(Agent([weather], provider=scripted()), [item],
                          response_format=City)
    assert held.ok and held.result is not None
    assert shown(held.result) == shown(alone)
    assert held.result.parsed == City("Paris", True)
    assert held.input is item and held.index == 0 and held.rate_limited == 0


async def test_a_bad_response_format_is_refused_before_anything_runs() -> None:
    provider = scripted()
    with pytest.raises(TypeError, match="response_format must be a type"):
        await abatch(Agent([weather], provider=provider), ["a", "b"],
                     response_format=42)  # type: ignore[arg-type]
    assert provider.requests == []


async def test_an_agent_subclass_with_its_own_arun_has_it_called() -> None:
    seen: list[Any] = []

    class Logged(Agent):
        async def arun(self, messages: Messages, stream_handler: Any = None,
                       response_format: ResponseFormat | None = None, *,
                       session_id: str | None = None) -> AgentResult:
            seen.append((messages, response_format))
            return await super().arun(messages, stream_handler, response_format,
                                      session_id=session_id)

    results = await abatch(Logged([weather], provider=scripted()), ["Weather in Paris?"],
                           response_format=City)
    assert seen == [("Weather in Paris?", City)]
    assert results[0].result is not None and results[0].result.parsed == City("Paris", True)
