"""Seed samples: Agent.reset() between requests. The seed's `[...]` / `...` placeholders are
filled with real arguments."""

# --- preamble: names the samples leave undefined ---
from selectools import Agent, ConversationMemory, Message, Role, tool
from selectools.providers.stubs import LocalProvider


@tool(description="Echo text")
def echo(text: str) -> str:
    return text


provider = LocalProvider()
requests = ["first request", "second request"]
queue = ["third request", "fourth request"]

# --- the seed's first sample, unchanged but for the placeholder ---
agent = Agent(tools=[echo], provider=provider, memory=ConversationMemory())  # seed: tools=[...]

# Create once, reset between requests
for user_request in requests:
    agent.reset()
    result = agent.run([Message(role=Role.USER, content=user_request)])
    print(result.content, "| remembered messages:", len(agent.memory))

# --- the seed's second sample, unchanged but for the placeholder ---
agent = Agent(tools=[echo], provider=provider)  # seed: Agent(...)
for req in queue:
    agent.reset()
    result = agent.run(req)
    print(result.content, "| calls counted since reset:", agent.usage.llm_calls)
