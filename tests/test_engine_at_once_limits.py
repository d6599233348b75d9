"""Tools that await nothing run at once also under a time limit (a tool timeout, the run's
deadline): such a call cannot be interrupted, in a task or not, so its outcome is the one
a task would give. Held here to the path of tasks (the same tools with an observer, whose
events may wait, or tools that await once first); the run's deadline is still checked
before each call starts.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from selectools import (
    Agent,
    AgentConfig,
    AgentObserver,
    AgentResult,
    LocalProvider,
    Tool,
    ToolCall,
    tool,
)
from selectools.agent.deadline import RunTimeoutError
from selectools.agent.tool_runner import never_suspends

LIMITS = [AgentConfig(tool_timeout_seconds=30), AgentConfig(run_timeout=30),
          AgentConfig(tool_timeout_seconds=30, run_timeout=30)]
CALLS = [ToolCall("weather", {"city": "Paris"}, "c1"), ToolCall("weather", {"city": ""}, "c2"),
         ToolCall("weather", {"city": ["x"]}, "c3"), ToolCall("missing", {}, "c4")]


def tools(waits: bool, tasks: list[Any]) -> list[Tool]:
    def weather_text(city: str) -> str:
        tasks.append(asyncio.current_task())
        if not city:
            raise ValueError("no city")
        return f"Sunny in {city}"

    @tool(name="weather", description="The weather in a city")
    async def now(city: str) -> str:
        return weather_text(city)

    @tool(name="weather", description="The weather in a city")
    async def waiting(city: str) -> str:
        await asyncio.sleep(0)
        return weather_text(city)

    return [waiting if waits else now]


class Quiet(AgentObserver):
    """An observer: its events may wait, so its runs' calls keep a task each."""

    def on_tool_end(self, *args: Any) -> None:
        pass


def shown(result: AgentResult) -> Any:
    """The result and its trace; a turn's tool_execution steps by call id: they come in
    the order the calls ended (at once, in request order; in tasks under a timeout, a call
    that fails before its tool runs ends first, its tool's own task not started)."""
    assert result.trace is not None
    steps = [(s.type, s.iteration, {k: v for k, v in s.data.items() if k != "prompt_tokens"})
             for s in result.trace]
    executions = sorted((step for step in steps if step[0] == "tool_execution"),
                        key=lambda step: step[2]["call_id"])
    return (result.content, [step for step in steps if step[0] != "tool_execution"],
            executions)


@pytest.mark.parametrize("config", LIMITS)
async def test_a_turn_under_a_time_limit_runs_at_once_as_its_tasks_would(
        config: AgentConfig) -> None:
    outcomes = []
    for waits, observed in ((False, False), (False, True), (True, False)):
        tasks: list[Any] = []
        [weather] = tools(waits, tasks)
        assert never_suspends(weather) is not waits
        provider = LocalProvider(responses=[list(CALLS), "done"])
        agent = Agent([weather], provider=provider, config=AgentConfig(
            tool_timeout_seconds=config.tool_timeout_seconds, run_timeout=config.run_timeout,
            observers=[Quiet()] if observed else []))
        result = await agent.arun("go")
        sent = [m.content for m in provider.requests[1][1] if m.tool_result is not None]
        outcomes.append((shown(result), sent))
        # at once: in the run's own task; else a task each (the timeout's own too)
        if waits or observed:
            assert asyncio.current_task() not in tasks and len(set(tasks)) == len(tasks) == 2
        else:
            assert tasks == [asyncio.current_task()] * 2
    assert outcomes[0] == outcomes[1] == outcomes[2]
    sent = outcomes[0][1]
    assert sent[0] == "Sunny in Paris" and "no city" in sent[1]
    assert sent[2].startswith("Error:") and "missing" in sent[3]


def busy(seconds: float) -> None:
    """Hold the event loop this long (a tool doing CPU work, never awaiting)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


async def test_a_call_longer_than_its_timeout_ends_as_it_would_in_a_task() -> None:
    # Nothing interrupts a call that never awaits: a task with a timeout gives its result
    # all the same (asyncio's timeouts act only at an await). So does the short path.
    @tool(description="Works for 0.05 s without awaiting")
    async def work(n: int) -> str:
        busy(0.05)
        return f"worked {n}"

    assert never_suspends(work)
    assert await work.aexecute({"n": 0}, timeout=0.01) == "worked 0"  # the path of tasks
    provider = LocalProvider(responses=[[ToolCall("work", {"n": 1}), ToolCall("work", {"n": 2})],
                                        "done"])
    agent = Agent([work], provider=provider, config=AgentConfig(tool_timeout_seconds=0.01))
    assert (await agent.arun("go")).content == "done"
    assert [m.content for m in provider.requests[1][1] if m.tool_result is not None] == [
        "worked 1", "worked 2"]


async def test_no_call_starts_after_the_runs_deadline() -> None:
    # The first call outlives the run's time: the next one, which would start after it,
    # is never started, and the run ends with RunTimeoutError (as in a task, whose first
    # step checks the deadline as its call starts).
    ran: list[int] = []

    @tool(description="Works past the run's deadline")
    async def work(n: int) -> str:
        ran.append(n)
        busy(0.3)
        return f"worked {n}"

    assert never_suspends(work)
    provider = LocalProvider(responses=[[ToolCall("work", {"n": 1}), ToolCall("work", {"n": 2})],
                                        "done"])
    with pytest.raises(RunTimeoutError):
        await Agent([work], provider=provider, config=AgentConfig(run_timeout=0.2)).arun("go")
    assert ran == [1]
