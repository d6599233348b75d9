"""A finished run leaves nothing to the cyclic garbage collector (B3: with runs in flight,
every object a run leaves in a cycle is walked by collections until one frees it), and
the engine's frame makes no cell per run (a comprehension reading one of its locals would).

Each case runs twice on a fresh Agent, the second with `gc.DEBUG_SAVEALL`: whatever the
collector then finds unreachable is what the run left in cycles (tests/.. and
benchmarks/gc_census.py count the same against the benchmark server)."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from selectools import Agent, AgentConfig, LocalProvider, ToolCall, tool
from selectools.agent.loop import run_agent
from selectools.observer import AgentObserver


@tool(description="The weather in a city")
async def weather(city: str) -> str:
    return f"Sunny in {city}"


@tool(description="A tool that fails")
async def broken(city: str) -> str:
    raise RuntimeError(f"no weather for {city}")


@tool(description="A tool that fails, waiting first")
async def broken_later(city: str) -> str:
    import asyncio

    await asyncio.sleep(0)
    try:
        raise KeyError(city)
    except KeyError as exc:
        raise ValueError("no such city") from exc


@tool(description="A sync tool that fails")
def broken_sync(city: str) -> str:
    raise RuntimeError("sync failure")


CASES: dict[str, tuple[list[ToolCall], list[Any]]] = {
    "tools at once": ([ToolCall("weather", {"city": "Paris"}, "c1"),
                       ToolCall("weather", {"city": "Oslo"}, "c2")], [weather]),
    "a failing tool": ([ToolCall("broken", {"city": "Paris"}, "c1")], [broken]),
    "failing tools at once": ([ToolCall("broken", {"city": "Paris"}, "c1"),
                               ToolCall("broken", {"city": "Oslo"}, "c2")], [broken]),
    "invalid arguments": ([ToolCall("weather", {"town": "Paris"}, "c1")], [weather]),
    "a failing tool that waits": ([ToolCall("broken_later", {"city": "Paris"}, "c1"),
                                   ToolCall("broken_later", {"city": "Oslo"}, "c2")],
                                  [broken_later]),
    "a failing sync tool": ([ToolCall("broken_sync", {"city": "Paris"}, "c1")],
                            [broken_sync]),
    "an unknown tool": ([ToolCall("nowhere", {"city": "Paris"}, "c1")], [weather]),
}


async def _run(agent: Agent, mode: str) -> str:
    if mode == "arun":
        result = await agent.arun("Weather?")
    else:
        items = [item async for item in agent.astream("Weather?", events=mode == "events")]
        result = items[-1]  # type: ignore[assignment]
    assert result.iterations == 2
    return str(result.content)


async def _garbage_of(case: str, mode: str, parallel: bool) -> list[str]:
    """What the collector finds unreachable after a run (the second on an Agent), the
    Agent alive: an Agent left to the collector is another question than a run's."""
    calls, tools = CASES[case]
    agent = Agent(tools, provider=LocalProvider(responses=[calls, "It is sunny."] * 2),
                  config=AgentConfig(parallel_tool_execution=parallel))
    # (first: every lazy import, cache and the loop's executor made)
    assert await _run(agent, mode) == "It is sunny."
    gc.collect()
    gc.garbage.clear()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        assert await _run(agent, mode) == "It is sunny."
        gc.collect()
        return sorted(type(obj).__name__ for obj in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


@pytest.mark.parametrize("mode", ["arun", "astream", "events"])
@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_finished_run_leaves_no_garbage(case: str, mode: str, parallel: bool) -> None:
    assert await _garbage_of(case, mode, parallel) == []


def test_a_failed_call_still_reads_as_failed_and_observers_get_its_traceback() -> None:
    import asyncio

    seen: list[BaseException] = []

    class Errors(AgentObserver):
        def on_tool_error(self, run_id: str, call_id: str, tool_name: str,
                          error: BaseException, tool_args: dict[str, Any],
                          duration_ms: float) -> None:
            seen.append(error)

    async def main() -> list[Any]:
        agent = Agent([broken], provider=LocalProvider(responses=[
            [ToolCall("broken", {"city": "Paris"}, "c1")], "It is sunny."]),
            config=AgentConfig(observers=[Errors()]))
        return [item async for item in agent.astream("Weather?", events=True)]

    items = asyncio.run(main())
    [result_chunk] = [i for i in items if getattr(i, "event", None) == "tool_result"]
    assert result_chunk.data["error"] is True
    assert "no weather for Paris" in result_chunk.data["result"]
    [error] = seen
    assert isinstance(error, RuntimeError) and error.__traceback__ is not None


def test_the_engine_frame_makes_no_cell() -> None:
    # A cell is made when the frame starts, for every run, and held as long as it streams.
    assert run_agent.__code__.co_cellvars == ()
