"""The seed's quick start, exactly as written: an offline agent streaming with one tool."""

import asyncio
from selectools import Agent, AgentConfig, Message, Role, tool
from selectools.providers.stubs import LocalProvider

@tool(description="Search the web")
def search(query: str) -> str:
    return f"Results for '{query}': Python is a popular programming language."

provider = LocalProvider()
agent = Agent(
    tools=[search],
    provider=provider,
    config=AgentConfig(max_iterations=2),
)

async def main():
    async for item in agent.astream(
        [Message(role=Role.USER, content="Search for Python tutorials")]
    ):
        # item is either StreamChunk (text) or AgentResult (final)
        print(type(item).__name__, getattr(item, "content", "")[:80])

asyncio.run(main())
