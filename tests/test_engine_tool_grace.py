"""A tool that swallows its cancellation cannot hold the run past its limits.

Once cancelled, an async tool has `CANCEL_GRACE_SECONDS` to clean up; then the run goes on
without it (tool timeout: the model gets the tool's error; run timeout: RunTimeoutError),
and the tool is left to finish on its own, still referenced until it does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from selectools import Agent, AgentConfig, RunTimeoutError, ToolCall, tool
from selectools.providers.stubs import LocalProvider
from selectools.tools import Tool
from selectools.tools.execution import CANCEL_GRACE_SECONDS

CLEANUP = 5.0  # what the stubborn tool would take to clean up, were it waited for
MARGIN = 1.0


@dataclass
class Stubborn:
    """An async tool that keeps running for CLEANUP s after it is cancelled (or until
    the test releases it), recording what happened."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def as_tool(self) -> Tool:
        @tool(description="Work slowly and ignore being cancelled")
        async def stubborn() -> str:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.cancelled.set()
                try:  # swallows the cancellation and goes on cleaning up
                    await asyncio.wait_for(self.release.wait(), CLEANUP)
                except TimeoutError:
                    pass
            finally:
                self.finished.set()
            return "done"

        return stubborn


@pytest.fixture
async def stubborn() -> AsyncIterator[Stubborn]:
    state = Stubborn()
    yield state
    state.release.set()  # let the abandoned task end before the test's loop closes
    await asyncio.wait_for(state.finished.wait(), 5)


def calls_stubborn_then(answer: str) -> LocalProvider:
    return LocalProvider(responses=[ToolCall("stubborn", {}, "c1"), answer])


async def test_tool_timeout_goes_on_after_a_short_grace(
        stubborn: Stubborn, caplog: pytest.LogCaptureFixture) -> None:
    provider = calls_stubborn_then("gave up on it")
    agent = Agent(tools=[stubborn.as_tool()], provider=provider,
                  config=AgentConfig(tool_timeout_seconds=0.5))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="selectools"):
        result = await agent.arun("go")
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 + MARGIN, f"the run took {elapsed:.2f} s"
    assert result.content == "gave up on it"
    assert stubborn.cancelled.is_set() and not stubborn.finished.is_set()  # abandoned
    tool_message = provider.requests[1][1][-1]
    assert tool_message.content == "Error: tool 'stubborn' timed out after 0.5 s"
    warnings = [r for r in caplog.records if "did not stop" in r.getMessage()]
    assert len(warnings) == 1 and "stubborn" in warnings[0].getMessage()


async def test_run_timeout_ends_the_run_after_a_short_grace(stubborn: Stubborn) -> None:
    agent = Agent(tools=[stubborn.as_tool()], provider=calls_stubborn_then("never seen"),
                  config=AgentConfig(run_timeout=1))
    started = time.monotonic()
    with pytest.raises(RunTimeoutError):
        await agent.arun("go")
    elapsed = time.monotonic() - started
    assert elapsed < 1 + MARGIN, f"the run took {elapsed:.2f} s"
    assert stubborn.cancelled.is_set() and not stubborn.finished.is_set()


async def test_parallel_tools_under_run_timeout_do_not_wait_for_a_stubborn_one(
        stubborn: Stubborn) -> None:
    @tool(description="Quick")
    async def quick() -> str:
        return "quick"

    provider = LocalProvider(responses=[
        [ToolCall("stubborn", {}, "c1"), ToolCall("quick", {}, "c2")], "never seen"])
    agent = Agent(tools=[stubborn.as_tool(), quick], provider=provider,
                  config=AgentConfig(run_timeout=1))
    started = time.monotonic()
    with pytest.raises(RunTimeoutError):
        await agent.arun("go")
    assert time.monotonic() - started < 1 + MARGIN


async def test_a_tool_that_cleans_up_within_the_grace_is_waited_for() -> None:
    cleaned = asyncio.Event()

    @tool(description="Cleans up briefly when cancelled")
    async def tidy() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(CANCEL_GRACE_SECONDS / 4)
            cleaned.set()
            raise
        return "finished"

    provider = LocalProvider(responses=[ToolCall("tidy", {}, "c1"), "ok"])
    agent = Agent(tools=[tidy], provider=provider,
                  config=AgentConfig(tool_timeout_seconds=0.2))
    result = await agent.arun("go")
    assert result.content == "ok" and cleaned.is_set()  # its cleanup ran to its end
