"""Hostile review (session 7): the engine's at-once path against the path of tasks."""

from __future__ import annotations

import asyncio

from selectools import Agent, ToolCall, tool
from selectools.providers.stubs import LocalProvider


async def _waits(n: int) -> str:
    await asyncio.sleep(0)
    return f"waited {n}"


async def test_a_code_swapped_after_the_agent_was_made_still_runs() -> None:
    @tool(description="Awaits nothing, until its code is swapped")
    async def meet(n: int) -> str:
        return "never"

    provider = LocalProvider(responses=[[ToolCall("meet", {"n": i}) for i in range(2)], "done"])
    agent = Agent([meet], provider=provider)
    meet.function.__code__ = _waits.__code__
    result = await agent.arun("go")
    assert result.content == "done"
    results = [m.content for m in provider.requests[1][1] if m.tool_result is not None]
    assert results == ["waited 0", "waited 1"]
