"""Seed sample: routing mode configuration. The seed's `tools=[...]` placeholder is filled
with real tools here."""

# --- preamble: names the sample leaves undefined ---
from selectools import Agent, AgentConfig, Message, Role, tool
from selectools.providers.stubs import LocalProvider


@tool(description="Answer support questions")
def support(question: str) -> str:
    return "ticket opened"


provider = LocalProvider()

# --- the seed's sample, unchanged but for the placeholder ---
config = AgentConfig(routing_only=True)
agent = Agent(tools=[support], provider=provider, config=config)  # seed: tools=[...]

# --- check: the tool is chosen, not run ---
result = agent.run([Message(role=Role.USER, content="support: my app crashes")])
print("chosen:", result.tool_name, result.tool_args, "| iterations:", result.iterations)
