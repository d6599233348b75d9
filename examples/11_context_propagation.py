"""Context propagation: a ContextVar set by the caller (a request id, an auth token, a tracing
span) is visible inside tools, sync ones run in a thread pool and async ones alike, whether
the agent is driven by run, arun or astream."""

import asyncio
import contextvars

from selectools import Agent, ToolCall, tool
from selectools.providers.stubs import LocalProvider

request_id = contextvars.ContextVar("request_id", default="missing")


@tool(description="Report the request id, from a worker thread")
def sync_report() -> str:
    return f"sync tool sees {request_id.get()}"


@tool(description="Report the request id, from the event loop")
async def async_report() -> str:
    return f"async tool sees {request_id.get()}"


def new_agent() -> Agent:
    turns = [[ToolCall("sync_report", {}), ToolCall("async_report", {})], "ok"]
    return Agent(tools=[sync_report, async_report], provider=LocalProvider(responses=turns))


def results_of(agent: Agent) -> list:
    return [m.tool_result for m in agent.history if m.tool_result]


request_id.set("req-run")
agent = new_agent()
agent.run("go")
print("run:    ", results_of(agent))


async def main() -> None:
    request_id.set("req-arun")
    agent = new_agent()
    await agent.arun("go")
    print("arun:   ", results_of(agent))

    request_id.set("req-astream")
    agent = new_agent()
    async for _ in agent.astream("go"):
        pass
    print("astream:", results_of(agent))


asyncio.run(main())
