"""Parallel and sequential tool execution, timeouts and context propagation."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
from meeting import meeting

from selectools import Agent, AgentConfig, AgentObserver, ToolCall, tool
from selectools.providers.stubs import LocalProvider

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


def three_calls(name: str) -> LocalProvider:
    calls = [ToolCall(name, {"n": i}) for i in range(3)]
    return LocalProvider(responses=[calls, "done"])


async def test_sync_tools_run_in_parallel_threads() -> None:
    barrier = threading.Barrier(3, timeout=5)

    @tool(description="Waits for its two siblings")
    def meet(n: int) -> str:
        barrier.wait()  # only returns if all three run at the same time
        return f"met {n}"

    result = await Agent(tools=[meet], provider=three_calls("meet")).arun("go")
    assert result.content == "done"
    assert not barrier.broken


async def test_async_tools_are_gathered() -> None:
    meet = tool(name="meet", description="Waits for its two siblings")(meeting(3))
    provider = three_calls("meet")
    await Agent(tools=[meet], provider=provider).arun("go")
    results = [m.content for m in provider.requests[1][1] if m.tool_result is not None]
    assert results == ["met 0", "met 1", "met 2"]


@pytest.mark.parametrize("config", [AgentConfig(parallel_tool_execution=False),
                                    AgentConfig(max_parallel_tools=1)])
async def test_sequential_and_bounded_runs_never_overlap(config: AgentConfig) -> None:
    spans: list[tuple[str, int]] = []

    @tool(description="Records when it runs")
    async def step(n: int) -> str:
        spans.append(("start", n))
        await asyncio.sleep(0.01)
        spans.append(("end", n))
        return str(n)

    await Agent(tools=[step], provider=three_calls("step"), config=config).arun("go")
    assert spans == [("start", 0), ("end", 0), ("start", 1), ("end", 1),
                     ("start", 2), ("end", 2)]


async def test_results_keep_request_order_and_errors_stay_isolated() -> None:
    @tool(description="Finishes in reverse order; n == 1 fails")
    async def work(n: int) -> str:
        await asyncio.sleep(0.03 * (3 - n))
        if n == 1:
            raise ValueError("one is unlucky")
        return f"ok {n}"

    provider = three_calls("work")
    await Agent(tools=[work], provider=provider).arun("go")
    tool_messages = [m for m in provider.requests[1][1] if m.tool_result is not None]
    assert [m.content for m in tool_messages][0::2] == ["ok 0", "ok 2"]
    assert "one is unlucky" in tool_messages[1].content
    assert tool_messages[1].content.startswith("Error:")


async def test_every_tool_fires_hooks_with_a_unique_call_id() -> None:
    seen: list[tuple[str, str, str]] = []

    class Recorder(AgentObserver):
        def on_tool_start(self, run_id, call_id, tool_name, tool_args):  # type: ignore[no-untyped-def]
            seen.append(("start", call_id, tool_name))

        def on_tool_end(self, run_id, call_id, tool_name, result, duration_ms):  # type: ignore[no-untyped-def]
            seen.append(("end", call_id, tool_name))

        def on_tool_error(self, run_id, call_id, tool_name, error, tool_args, duration_ms):  # type: ignore[no-untyped-def]
            seen.append(("error", call_id, tool_name))

    @tool(description="n == 2 fails")
    def flaky(n: int) -> str:
        if n == 2:
            raise RuntimeError("boom")
        return "fine"

    calls = [ToolCall("flaky", {"n": i}, id="same") for i in range(3)]  # ids clash
    await Agent(tools=[flaky], provider=LocalProvider(responses=[calls, "done"]),
                config=AgentConfig(observers=[Recorder()])).arun("go")
    starts = [c for kind, c, _ in seen if kind == "start"]
    assert len(starts) == 3 and len(set(starts)) == 3 and all(starts)
    assert sorted(kind for kind, _, _ in seen) == ["end", "end", "error", "start", "start",
                                                   "start"]
    assert {c for kind, c, _ in seen if kind != "start"} == set(starts)


async def test_slow_async_tool_is_cancelled_at_the_timeout() -> None:
    cancelled = asyncio.Event()

    @tool(description="Never finishes")
    async def hang() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "unreachable"

    provider = LocalProvider(responses=[ToolCall("hang", {}), "gave up"])
    result = await Agent(tools=[hang], provider=provider,
                         config=AgentConfig(tool_timeout_seconds=0.05)).arun("go")
    assert result.content == "gave up"
    assert cancelled.is_set()
    message = provider.requests[1][1][-1].content
    assert message.startswith("Error:") and "0.05" in message


async def test_slow_sync_tool_is_abandoned_at_the_timeout() -> None:
    release = threading.Event()

    @tool(description="Blocks until released")
    def block() -> str:
        release.wait(10)
        return "late"

    provider = LocalProvider(responses=[ToolCall("block", {}), "gave up"])
    try:
        result = await Agent(tools=[block], provider=provider,
                             config=AgentConfig(tool_timeout_seconds=0.05)).arun("go")
    finally:
        release.set()
    assert result.content == "gave up"
    assert "timed out" in provider.requests[1][1][-1].content.lower()


@tool(description="Reads the request id")
def whoami_sync() -> str:
    return request_id.get()


@tool(description="Reads the request id")
async def whoami_async() -> str:
    return request_id.get()


def two_lookups() -> LocalProvider:
    return LocalProvider(responses=[[ToolCall("whoami_sync", {}), ToolCall("whoami_async", {})],
                                    "done"])


def results_of(provider: LocalProvider) -> list[str]:
    return [m.content for m in provider.requests[1][1] if m.tool_result is not None]


async def test_contextvars_reach_tools_in_arun_and_astream() -> None:
    request_id.set("req-42")
    for mode in ("arun", "astream"):
        provider = two_lookups()
        agent = Agent(tools=[whoami_sync, whoami_async], provider=provider)
        if mode == "arun":
            await agent.arun("who")
        else:
            [_ async for _ in agent.astream("who")]
        assert results_of(provider) == ["req-42", "req-42"], mode


def test_contextvars_reach_tools_in_sync_run() -> None:
    def in_fresh_context() -> list[str]:
        request_id.set("req-sync")
        provider = two_lookups()
        Agent(tools=[whoami_sync, whoami_async], provider=provider).run("who")
        return results_of(provider)

    assert contextvars.copy_context().run(in_fresh_context) == ["req-sync", "req-sync"]


async def test_cancelling_the_consumer_cancels_running_tools() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    @tool(description="Runs long")
    async def long_job(n: int) -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "unreachable"

    agent = Agent(tools=[long_job], provider=three_calls("long_job"))

    async def consume() -> None:
        async for _ in agent.astream("go"):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(cancelled.wait(), 5)
    # The agent is still usable afterwards.
    agent.provider = LocalProvider()
    assert (await agent.arun("hello")).content == "hello"


async def test_every_sync_tool_gets_its_own_thread_however_many() -> None:
    barrier = threading.Barrier(12, timeout=5)  # more than a default pool's workers here

    @tool(description="Waits for all its siblings")
    def meet(n: int) -> str:
        barrier.wait()
        return str(n)

    calls = [ToolCall("meet", {"n": i}) for i in range(12)]
    provider = LocalProvider(responses=[calls, "done"])
    await Agent(tools=[meet], provider=provider).arun("go")
    assert results_of(provider) == [str(i) for i in range(12)]


def test_sync_tools_that_run_another_agent_do_not_deadlock() -> None:
    inner = Agent(provider=LocalProvider())

    @tool(description="Asks a sub-agent")
    def ask(question: str) -> str:
        return inner.run(question).content

    calls = [ToolCall("ask", {"question": f"q{i}"}) for i in range(8)]
    provider = LocalProvider(responses=[calls, "done"])
    outer = Agent(tools=[ask], provider=provider,
                  config=AgentConfig(tool_timeout_seconds=10))
    assert outer.run("fan out").content == "done"
    assert results_of(provider) == [f"q{i}" for i in range(8)]


async def test_cancelling_a_run_stops_it_even_if_a_parallel_tool_swallows_the_cancellation(
        ) -> None:
    # (A tool run inline, sequentially, that swallows it has handled the run's own
    # cancellation, as in any asyncio task; in parallel it runs in a task of its own.)
    started = asyncio.Event()

    @tool(description="Ignores being cancelled, as some libraries do")
    async def stubborn(n: int) -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return "finished anyway"
        return "slept"

    provider = three_calls("stubborn")
    task = asyncio.create_task(Agent(tools=[stubborn], provider=provider).arun("go"))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(provider.requests) == 1  # the run did not go on to ask the model again


async def test_an_agent_used_as_a_tool_running_out_of_its_time_is_that_tools_failure() -> None:
    @tool(description="Waits")
    async def wait(n: int) -> str:
        await asyncio.sleep(0.5)
        return "waited"

    inner = Agent(tools=[wait], provider=three_calls("wait"),
                  config=AgentConfig(run_timeout=0.05))

    @tool(description="Asks a helper agent")
    async def ask_helper(n: int) -> str:
        return (await inner.arun("help")).content

    outer = Agent(tools=[ask_helper], provider=LocalProvider(responses=[
        [ToolCall("ask_helper", {"n": 1})], "the helper timed out"]))
    result = await outer.arun("go")
    assert result.content == "the helper timed out"
    assert result.stop_reason == "completed"
    assert "run_timeout" in (outer.history[2].content or "")  # the model was told why


@pytest.mark.parametrize("parallel", [True, False])
async def test_a_tool_using_a_task_group_whose_child_fails_is_only_that_tools_failure(
        parallel: bool) -> None:
    # On 3.11 a TaskGroup whose child fails leaves its task's cancel count raised
    # (CPython #116720): the run must not take that for a cancellation of itself.
    @tool(description="Fans out")
    async def fan_out(n: int) -> str:
        async def fail() -> None:
            raise ValueError("child failed")

        async with asyncio.TaskGroup() as group:
            group.create_task(fail())
            group.create_task(asyncio.sleep(0.05))
        return "unreachable"

    agent = Agent(tools=[fan_out], provider=three_calls("fan_out"),
                  config=AgentConfig(parallel_tool_execution=parallel))
    result = await agent.arun("go")
    assert result.content == "done"
    tool_results = [m.content for m in agent.history if m.role == "tool"]
    assert len(tool_results) == 3 and all("TaskGroup" in text for text in tool_results)
