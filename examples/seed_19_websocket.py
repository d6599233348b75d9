"""Seed sample: streaming to a websocket. The sample uses `async for` and `await`, so it sits
inside an async function; the preamble's websocket prints what it would send."""

# --- preamble: names the sample leaves undefined ---
import asyncio
import json

from selectools import Agent, Message, Role, tool
from selectools.providers.stubs import LocalProvider
from selectools.types import AgentResult, StreamChunk


@tool(description="Search the web")
def search(query: str) -> str:
    return f"Results for '{query}'"


class PrintingWebSocket:
    async def send_json(self, data: dict) -> None:
        print(json.dumps(data))


websocket = PrintingWebSocket()
agent = Agent(tools=[search], provider=LocalProvider())
messages = [Message(role=Role.USER, content="search websockets")]


async def handler() -> None:
    # --- the seed's sample, unchanged ---
    async for item in agent.astream(messages):
        if isinstance(item, StreamChunk):
            await websocket.send_json({"type": "chunk", "content": item.content})
        elif isinstance(item, AgentResult):
            await websocket.send_json({"type": "done", "iterations": item.iterations})


asyncio.run(handler())
