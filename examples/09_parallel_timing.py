"""Parallel against sequential tool execution, timed, for sync and async tools.

The same scripted model asks for three 0.15 s calls in one answer. Sync tools run in a
thread pool, async tools are gathered; `parallel_tool_execution=False` runs them one by one.
"""

import asyncio
import time

from selectools import Agent, AgentConfig, ToolCall, tool
from selectools.providers.stubs import LocalProvider

DELAY = 0.15


@tool(description="A slow blocking API")
def slow_sync(n: int) -> str:
    time.sleep(DELAY)
    return f"sync {n}"


@tool(description="A slow async API")
async def slow_async(n: int) -> str:
    await asyncio.sleep(DELAY)
    return f"async {n}"


def timed_run(tool_name: str, parallel: bool) -> float:
    model = LocalProvider(responses=[[ToolCall(tool_name, {"n": i}) for i in range(3)], "done"])
    agent = Agent(tools=[slow_sync, slow_async], provider=model,
                  config=AgentConfig(parallel_tool_execution=parallel))
    started = time.perf_counter()
    agent.run("go")
    return time.perf_counter() - started


for tool_name in ("slow_sync", "slow_async"):
    parallel = timed_run(tool_name, parallel=True)
    sequential = timed_run(tool_name, parallel=False)
    print(f"{tool_name}: parallel {parallel:.2f} s, sequential {sequential:.2f} s, "
          f"speed-up {sequential / parallel:.1f}x")
