"""A turn whose tools await nothing runs them at once, one after the other, without a task
each (tool_runner.never_suspends, ToolRunner._at_once): held here to the general path of
tasks, through a real OpenAI-compatible server on 127.0.0.1.

An `async def` tool whose own code has no `await`, `async for` or `async with` ends in the
step that starts it: tasks would run such calls one after the other all the same. Every
other turn (a tool that may wait, observers, a timeout) keeps its tasks.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from meeting import meeting
from test_engine_held_results import completion
from wire_server import WireServer

from selectools import Agent, AgentConfig, AgentObserver, AgentResult, Tool, ToolCall, tool
from selectools.agent.tool_runner import never_suspends
from selectools.providers.openai import OpenAIProvider
from selectools.providers.stubs import LocalProvider
from selectools.results import emit_artifact

CALLS = [("weather", '{"city": "Paris"}'), ("population", '{"city": "Oslo"}'),
         ("convert", '{"amount": 10.0, "currency": "EUR"}'), ("weather", '{"city": "Rome"}')]


def now_tools() -> list[Tool]:
    """Tools that await nothing (the short path)."""

    @tool(description="The weather in a city")
    async def weather(city: str) -> str:
        emit_artifact(f"https://example.com/{city}.png")
        return f"Sunny in {city}"

    @tool(description="The population of a city")
    async def population(city: str) -> str:
        if city == "Oslo":
            raise ValueError("no census for Oslo")
        return f"{city} has 1000 inhabitants"

    @tool(description="Dollars to another currency")
    async def convert(amount: float, currency: str) -> dict[str, Any]:
        return {"amount": amount * 0.92, "currency": currency}  # not a str: made text

    return [weather, population, convert]


def waiting_tools() -> list[Tool]:
    """The same tools, each awaiting once first (the general path: a task each)."""

    @tool(name="weather", description="The weather in a city")
    async def weather(city: str) -> str:
        await asyncio.sleep(0)
        emit_artifact(f"https://example.com/{city}.png")
        return f"Sunny in {city}"

    @tool(name="population", description="The population of a city")
    async def population(city: str) -> str:
        await asyncio.sleep(0)
        if city == "Oslo":
            raise ValueError("no census for Oslo")
        return f"{city} has 1000 inhabitants"

    @tool(name="convert", description="Dollars to another currency")
    async def convert(amount: float, currency: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"amount": amount * 0.92, "currency": currency}

    return [weather, population, convert]


async def run_over_http(wire_server: WireServer, tools: list[Tool], *,
                        events: bool = False) -> tuple[AgentResult, Any, list[Any]]:
    wire_server.reply(body=completion(None, CALLS))
    wire_server.reply(body=completion("Done."))
    provider = OpenAIProvider(base_url=wire_server.url, model="m", max_retries=0, timeout=5)
    agent = Agent(tools, provider=provider)
    chunks: list[Any] = []
    try:
        if events:
            async for item in agent.astream("Go", events=True):
                chunks.append(item)
            result = chunks.pop()
        else:
            result = await agent.arun("Go")
    finally:
        await provider.aclose()
    sent = wire_server.requests[-1].json["messages"]
    return result, sent, chunks


def steps(result: AgentResult) -> list[tuple[str, int, dict[str, Any]]]:
    assert result.trace is not None
    return [(step.type, step.iteration, step.data) for step in result.trace]


def test_which_tools_await_nothing() -> None:
    async def plain(x: int) -> str:
        return str(x)

    async def awaits(x: int) -> str:
        await asyncio.sleep(0)
        return str(x)

    async def loops(x: int) -> str:
        async def numbers() -> Any:
            yield x

        return str([n async for n in numbers()])

    async def holds(x: int) -> str:
        async with asyncio.Lock():
            return str(x)

    async def defines_one(x: int) -> str:
        async def later() -> None:  # its await is its own, never reached here
            await asyncio.sleep(0)

        return str(x)

    def sync(x: int) -> str:
        return str(x)

    def wrapped(function: Callable[..., Awaitable[str]]) -> Callable[..., Awaitable[str]]:
        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> str:
            return await function(*args, **kwargs)

        return wrapper

    class Callable_:
        async def __call__(self, x: int) -> str:
            return str(x)

    class OwnExecute(Tool):
        async def aexecute(self, arguments: Any, **options: Any) -> str:
            await asyncio.sleep(0)
            return "mine"

    assert never_suspends(tool(plain)) and never_suspends(tool(defines_one))
    for function in (awaits, loops, holds, sync, wrapped(plain)):
        assert not never_suspends(tool(function)), function
    assert not never_suspends(tool(name="c", description="d")(Callable_()))
    assert not never_suspends(OwnExecute(name="own", description="d", function=plain))


async def test_a_turn_at_once_is_the_turn_of_tasks(wire_server: WireServer) -> None:
    assert all(never_suspends(t) for t in now_tools())
    assert not any(never_suspends(t) for t in waiting_tools())
    now, now_sent, _ = await run_over_http(wire_server, now_tools())
    tasks, tasks_sent, _ = await run_over_http(wire_server, waiting_tools())
    assert now_sent == tasks_sent  # the tool results the model is sent, in its order
    tool_messages = [m for m in now_sent if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages][0::3] == ["Sunny in Paris", "Sunny in Rome"]
    assert "no census for Oslo" in tool_messages[1]["content"]
    assert tool_messages[2]["content"] == '{"amount": 9.200000000000001, "currency": "EUR"}'
    assert now.content == tasks.content == "Done."
    assert [(c.tool_name, c.parameters, c.id) for c in now.tool_calls] == [
        (c.tool_name, c.parameters, c.id) for c in tasks.tool_calls]
    assert steps(now) == steps(tasks)
    assert [a.url for a in now.artifacts] == [a.url for a in tasks.artifacts] == [
        "https://example.com/Paris.png", "https://example.com/Rome.png"]
    assert now.usage is not None and tasks.usage is not None
    assert now.usage.total_tokens == tasks.usage.total_tokens == 24


async def test_events_at_once_are_the_events_of_tasks(wire_server: WireServer) -> None:
    _, now_sent, now_chunks = await run_over_http(wire_server, now_tools(), events=True)
    _, tasks_sent, tasks_chunks = await run_over_http(wire_server, waiting_tools(),
                                                      events=True)
    assert now_sent == tasks_sent

    def shown(chunks: list[Any]) -> list[Any]:
        return [(c.event, {k: v for k, v in (c.data or {}).items() if k != "duration_ms"},
                 c.content) for c in chunks]

    # (the tasks finish in request order too: each awaits once)
    assert shown(now_chunks) == shown(tasks_chunks)
    results = [c.data for c in now_chunks if c.event == "tool_result"]
    assert [r["call_id"] for r in results] == ["call_0", "call_1", "call_2", "call_3"]
    assert [r["error"] for r in results] == [False, True, False, False]


async def test_a_tool_that_awaits_nothing_runs_in_a_context_of_its_own() -> None:
    # As in a task: it reads the caller's values, and what it sets stays its own.
    seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")
    read: list[str] = []

    @tool(description="Reads, then sets, a context variable")
    async def mark(n: int) -> str:
        read.append(seen.get())
        seen.set(f"set by {n}")
        return "ok"

    seen.set("the caller's")
    provider = LocalProvider(responses=[[ToolCall("mark", {"n": i}) for i in range(3)], "done"])
    await Agent([mark], provider=provider).arun("go")
    assert read == ["the caller's"] * 3
    assert seen.get() == "the caller's"


async def test_the_short_path_runs_in_the_runs_task_and_only_when_nothing_waits() -> None:
    # The one difference from a task, said in ToolRunner._now: asyncio.current_task().
    tasks: list[asyncio.Task[Any] | None] = []

    @tool(description="Notes the task it runs in")
    async def where(n: int) -> str:
        tasks.append(asyncio.current_task())
        return str(n)

    def three() -> LocalProvider:
        return LocalProvider(responses=[[ToolCall("where", {"n": i}) for i in range(3)],
                                        "done"])

    await Agent([where], provider=three()).arun("go")
    assert tasks == [asyncio.current_task()] * 3

    class Quiet(AgentObserver):
        def on_tool_end(self, *args: Any) -> None:
            pass

    # A time limit cannot interrupt a call that never suspends, in a task or not: those
    # turns run at once too. Observers' events may wait: those turns keep a task per call.
    for config in (AgentConfig(tool_timeout_seconds=30), AgentConfig(run_timeout=30)):
        tasks.clear()
        result = await Agent([where], provider=three(), config=config).arun("go")
        assert result.content == "done"
        assert tasks == [asyncio.current_task()] * 3, config
    tasks.clear()
    result = await Agent([where], provider=three(),
                         config=AgentConfig(observers=[Quiet()])).arun("go")
    assert result.content == "done"
    assert len(set(tasks)) == 3 and asyncio.current_task() not in tasks


async def test_a_turn_with_a_tool_that_waits_keeps_its_tasks() -> None:
    # Two tools that wait for each other beside one that awaits nothing: run at once, the
    # first would wait forever for its sibling.
    meet = tool(name="meet", description="Waits for its sibling")(meeting(2))

    @tool(description="Awaits nothing")
    async def quick(n: int) -> str:
        return f"quick {n}"

    provider = LocalProvider(responses=[[ToolCall("meet", {"n": 0}), ToolCall("quick", {"n": 1}),
                                         ToolCall("meet", {"n": 2})], "done"])
    await Agent([meet, quick], provider=provider).arun("go")
    results = [m.content for m in provider.requests[1][1] if m.tool_result is not None]
    assert results == ["met 0", "quick 1", "met 2"]


async def test_an_unknown_tool_and_bad_arguments_at_once_are_results_for_the_model() -> None:
    @tool(description="Awaits nothing")
    async def quick(n: int) -> str:
        return f"quick {n}"

    provider = LocalProvider(responses=[[ToolCall("quick", {"n": 1}), ToolCall("slow", {}),
                                         ToolCall("quick", {"n": "one"})], "done"])
    result = await Agent([quick], provider=provider).arun("go")
    assert result.content == "done"
    results = [m.content for m in provider.requests[1][1] if m.tool_result is not None]
    assert results[0] == "quick 1"
    assert results[1].startswith("Error:") and "slow" in results[1]
    assert results[2].startswith("Error:") and "'n'" in results[2]


async def test_a_function_replaced_after_the_agent_was_made_is_not_taken_at_once() -> None:
    @tool(description="Awaits nothing, until replaced")
    async def meet(n: int) -> str:
        return "never"

    provider = LocalProvider(responses=[[ToolCall("meet", {"n": i}) for i in range(2)], "done"])
    agent = Agent([meet], provider=provider)
    meet.function = meeting(2)
    await agent.arun("go")
    results = [m.content for m in provider.requests[1][1] if m.tool_result is not None]
    assert results == ["met 0", "met 1"]


async def test_a_stream_closed_at_its_first_tool_result_ran_every_call_either_way() -> None:
    # Tasks that end in their first steps have all ended before the first outcome is
    # read; the calls run at once have too.
    def tools(ran: list[int]) -> tuple[Tool, Tool]:
        @tool(name="mark", description="Notes that it ran")
        async def now(n: int) -> str:
            ran.append(n)
            return str(n)

        @tool(name="mark", description="Notes that it ran")
        async def waits(n: int) -> str:
            await asyncio.sleep(0)
            ran.append(n)
            return str(n)

        return now, waits

    for which in (0, 1):
        ran: list[int] = []
        mark = tools(ran)[which]
        assert never_suspends(mark) is (which == 0)
        provider = LocalProvider(responses=[[ToolCall("mark", {"n": i}) for i in range(3)],
                                            "done"])
        stream = Agent([mark], provider=provider).astream("go", events=True)
        async for item in stream:
            if getattr(item, "event", None) == "tool_result":
                break
        await stream.aclose()
        assert ran == [0, 1, 2], which
