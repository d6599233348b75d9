"""Streaming with parallel tool execution.

The model asks for three lookups in one answer. They run concurrently; with
`events=True` each result is shown the moment it is ready (fastest first), while the
conversation history keeps them in the order the model asked for them.
"""

import asyncio
import time

from selectools import Agent, AgentConfig, AgentResult, Role, ToolCall, tool
from selectools.providers.stubs import LocalProvider

DELAYS = {"slow": 0.3, "medium": 0.2, "fast": 0.1}


@tool(description="Look a key up in a slow service")
async def lookup(key: str) -> str:
    await asyncio.sleep(DELAYS[key])
    return f"{key} value"


model = LocalProvider(responses=[
    [ToolCall("lookup", {"key": k}) for k in ("slow", "medium", "fast")],
    "All three lookups are back.",
])
agent = Agent(tools=[lookup], provider=model,
              config=AgentConfig(parallel_tool_execution=True))


async def main() -> None:
    started = time.perf_counter()
    async for item in agent.astream("look up slow, medium and fast", events=True):
        if isinstance(item, AgentResult):
            elapsed = time.perf_counter() - started
            order = [m.tool_result for m in agent.history if m.role == Role.TOOL]
            print(f"\nhistory order: {order}")
            print(f"3 tools in {elapsed:.2f} s (sequentially it would take about "
                  f"{sum(DELAYS.values()):.1f} s)")
        elif item.event == "tool_result":
            print(f"ready: {item.data['result']}")
        elif item.content:
            print(item.content, end="", flush=True)


asyncio.run(main())
