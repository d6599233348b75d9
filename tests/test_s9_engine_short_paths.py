"""Session 9's engine short paths, each held to the general path it stands for.

- A turn of calls that await nothing runs them without `Tool.aexecute`'s coroutine
  (ToolRunner._now): the same tool messages, errors, trace and context as `aexecute` in a
  task each (the general path, which an observer keeps the turn on).
- A turn's call ids are checked in C when each is set, distinct and new (Run.finish_turn):
  the ids are the ones the loop over the calls gives (`_fresh_ids`, the general path).
- A batch's str input is checked without its message being made, and made without the
  check again (batch.checked_inputs, input_runner): as `agent.arun` would take it.
"""

from __future__ import annotations

import contextvars
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selectools import Agent, AgentConfig, AgentObserver, Message, Tool, ToolCall, tool
from selectools.agent.tool_runner import never_suspends
from selectools.batch import abatch, checked_inputs
from selectools.mcp.results import MCPToolOutput
from selectools.providers.stubs import LocalProvider
from selectools.types import ContentPart

SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")
PNG = "iVBORw0KGgo="  # (a PNG's signature, base64: what a tool's image part carries)


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot be shown")


class StopsInValidate(Tool):
    """A tool whose own validate raises StopIteration: in a coroutine, a RuntimeError."""

    def validate(self, arguments: Any) -> dict[str, Any]:
        raise StopIteration


def make_tools() -> list[Tool]:
    @tool(description="An image with its text")
    async def picture(city: str) -> str:
        return MCPToolOutput(f"A picture of {city}", [ContentPart(
            type="image_base64", image_base64=PNG, media_type="image/png")])

    @tool(description="A dict, made text")
    async def numbers(n: int) -> dict[str, Any]:
        return {"n": n, "half": n / 2}

    @tool(description="A value whose text cannot be made")
    async def broken(n: int) -> Any:
        return Unprintable()

    @tool(description="Sets a contextvar, reads it back")
    async def marks(name: str) -> str:
        before = SEEN.get()
        SEEN.set(name)
        return f"{before} -> {SEEN.get()}"

    @tool(description="Raises")
    async def fails(n: int) -> str:
        raise KeyError(n)

    async def stops(n: int) -> str:
        return "never"

    return [picture, numbers, broken, marks, fails,
            StopsInValidate(name="stops", description="d", function=stops)]


CALLS = [ToolCall("picture", {"city": "Oslo"}, "c0"), ToolCall("numbers", {"n": 3}, "c1"),
         ToolCall("broken", {"n": 1}, "c2"), ToolCall("marks", {"name": "a"}, "c3"),
         ToolCall("marks", {"name": "b"}, "c4"), ToolCall("fails", {"n": 2}, "c5"),
         ToolCall("stops", {"n": 1}, "c6"), ToolCall("missing", {}, "c7"),
         ToolCall("numbers", {"n": "x"}, "c8")]


async def tool_messages(observed: bool) -> tuple[list[Message], Any]:
    tools = make_tools()
    assert all(never_suspends(t) for t in tools)
    calls = [ToolCall(c.tool_name, dict(c.parameters), c.id) for c in CALLS]
    provider = LocalProvider(responses=[calls, "done"])
    agent = Agent(tools, provider=provider, config=AgentConfig(
        observers=[AgentObserver()] if observed else [], enable_analytics=True))
    SEEN.set("caller")
    result = await agent.arun("go")
    assert SEEN.get() == "caller"  # a tool's value stays its own either way
    assert result.content == "done"
    sent = [m for m in provider.requests[1][1] if m.tool_result is not None]
    assert result.trace is not None and agent.analytics is not None
    used = {name: (stats.calls, stats.errors) for name, stats in agent.analytics.tools.items()}
    assert used["marks"] == (2, 0) and used["fails"] == (1, 1) and used["picture"] == (1, 0)
    trace = [(s.type, {k: v for k, v in s.data.items() if k != "duration_ms"})
             for s in result.trace if s.type == "tool_execution"]
    return sent, (trace, used)


async def test_calls_run_at_once_give_what_aexecute_gives() -> None:
    now, now_trace = await tool_messages(observed=False)  # the short path
    each, each_trace = await tool_messages(observed=True)  # aexecute in a task each
    assert now == each
    assert now_trace == each_trace
    texts = [m.content for m in now]
    assert texts[0] == "A picture of Oslo"
    assert now[0].content_parts is not None and now[0].content_parts[0].image_base64 == PNG
    assert texts[1] == '{"n": 3, "half": 1.5}'
    assert texts[2] == "Error: tool 'broken' raised RuntimeError: cannot be shown"
    assert texts[3:5] == ["caller -> a", "caller -> b"]
    assert texts[5].startswith("Error: tool 'fails' raised KeyError")
    assert texts[6] == ("Error: tool 'stops' raised RuntimeError: coroutine raised "
                        "StopIteration")
    assert texts[7].startswith("Error:") and "missing" in texts[7]
    assert texts[8].startswith("Error:") and "'n'" in texts[8]


def old_ids(turns: list[list[str | None]]) -> list[list[str | None]]:
    """The ids as the loop over every call kept them (None: a new id was made)."""
    taken: set[str | None] = set()
    kept: list[list[str | None]] = []
    for ids in turns:
        turn: list[str | None] = []
        for call_id in ids:
            if not call_id or call_id in taken:
                turn.append(None)
                call_id = object()  # type: ignore[assignment]  # (a new one: taken by none)
            else:
                turn.append(call_id)
            taken.add(call_id)
        kept.append(turn)
    return kept


ID = st.sampled_from([None, "", "a", "b", "c", "d"])


class AsGiven(LocalProvider):
    """A scripted provider that keeps each call's id as scripted (LocalProvider gives a
    call without one an id of its own)."""

    def __init__(self, turns: list[list[ToolCall]]) -> None:
        super().__init__(responses=[*turns, "done"])
        self.turns = turns

    def _scripted(self) -> Message:
        answer = super()._scripted()
        if answer.tool_calls:
            answer.tool_calls = self.turns[self._next_turn - 1]
        return answer


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(ID, min_size=1, max_size=4), min_size=1, max_size=3))
def test_call_ids_are_the_ones_the_loop_gives(turns: list[list[str | None]]) -> None:
    import asyncio

    @tool(description="Echo")
    async def echo(n: int) -> str:
        return str(n)

    scripted = [[ToolCall("echo", {"n": i}, call_id) for i, call_id in enumerate(ids)]
                for ids in turns]
    result = asyncio.run(Agent([echo], provider=AsGiven(scripted)).arun("go"))
    made = f"call_{result.run_id[:8]}_"
    given_ids = [c.id for c in result.tool_calls]
    assert len(set(given_ids)) == len(given_ids)  # each result links to one call
    expected = [call_id for turn in old_ids(turns) for call_id in turn]
    for call_id, kept in zip(given_ids, expected, strict=True):
        if kept is None:
            assert call_id is not None and call_id.startswith(made)
        else:
            assert call_id == kept


def test_a_batch_checks_a_str_as_the_agent_does() -> None:
    class Text(str):
        pass

    assert checked_inputs(["hi", Text("there"), [Message(role="user", content="x")]])
    for blank in ("", "  \n", Text(" ")):
        with pytest.raises(ValueError, match=r"^inputs\[1\]: the message is empty"):
            checked_inputs(["hi", blank])


async def test_a_batchs_str_input_runs_as_arun_runs_it() -> None:
    class Text(str):
        pass

    provider = LocalProvider(responses=["one", "two", "three"])
    agent = Agent([], provider=provider)
    results = await abatch(agent, ["Hello", Text("Hi")], max_concurrency=1)
    assert [r.content for r in results] == ["one", "two"]
    await agent.arun("Hello")
    first, second, by_arun = (request[1] for request in provider.requests)
    assert first == by_arun == [Message(role="user", content="Hello")]
    assert second == [Message(role="user", content="Hi")]
    assert results[1].input == "Hi" and type(results[1].input) is Text


async def test_a_turn_with_a_callable_objects_tool_keeps_its_tasks() -> None:
    # Its function has no code to check: it may wait, so the turn is not run at once
    # (before, such a tool passed for one that awaits nothing, beside one that did).
    import asyncio

    class Waits:
        async def __call__(self, n: int) -> str:
            await asyncio.sleep(0)
            return f"waited {n}"

    @tool(description="Awaits nothing")
    async def quick(n: int) -> str:
        return f"quick {n}"

    waits = tool(name="waits", description="Awaits")(Waits())
    provider = LocalProvider(responses=[[ToolCall("quick", {"n": 1}), ToolCall("waits", {"n": 2}),
                                         ToolCall("nobody", {})], "done"])
    result = await Agent([quick, waits], provider=provider).arun("go")
    assert result.content == "done"
    texts = [m.content for m in provider.requests[1][1] if m.tool_result is not None]
    assert texts[:2] == ["quick 1", "waited 2"]
    assert texts[2].startswith("Error:") and "nobody" in texts[2]
