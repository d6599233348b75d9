"""Seed sample: E2E streaming. LocalProvider stands in for OpenAIProvider (offline)."""

# --- preamble: names the sample leaves undefined ---
from selectools import tool
from selectools.providers.stubs import LocalProvider


@tool(description="Search the web")
def search(query: str) -> str:
    return f"Results for '{query}': Python is a popular programming language."


search_tool = search  # LocalProvider calls the tool whose name the user's message mentions

# --- the seed's sample, unchanged but for the provider ---
import asyncio
from selectools import Agent, AgentConfig, Message, Role, OpenAIProvider
from selectools.types import StreamChunk, AgentResult

agent = Agent(
    tools=[search_tool],
    provider=LocalProvider(),  # the seed has OpenAIProvider() here
    config=AgentConfig(max_iterations=3),
)

async def main():
    async for item in agent.astream([Message(role=Role.USER, content="Search for Python tutorials")]):
        if isinstance(item, StreamChunk):
            print(item.content, end="", flush=True)
        elif isinstance(item, AgentResult):
            print(f"\n\nDone in {item.iterations} iterations")
            if item.tool_calls:
                print(f"Tools used: {[tc.tool_name for tc in item.tool_calls]}")

asyncio.run(main())
