"""Seed sample: routing without executing. A scripted LocalProvider stands in for
OpenAIProvider and picks support_tool, as the sample's assertions expect of a real model."""

# --- preamble: names the sample leaves undefined ---
from selectools import ToolCall, tool
from selectools.providers.stubs import LocalProvider


@tool(description="Search the web")
def search_tool(query: str) -> str:
    return f"Results for {query}"


@tool(description="Evaluate an arithmetic expression")
def calculator_tool(expression: str) -> str:
    return "42"


@tool(description="Help a customer with an account, billing or product problem")
def support_tool(issue: str) -> str:
    return "A support ticket was opened."


routing_model = LocalProvider(responses=[
    ToolCall("support_tool", {"issue": "help with my bill"}),
])

# --- the seed's sample, unchanged but for the provider ---
from selectools import Agent, AgentConfig, Message, Role, OpenAIProvider
from selectools.types import AgentResult

config = AgentConfig(routing_only=True)
agent = Agent(
    tools=[search_tool, calculator_tool, support_tool],
    provider=routing_model,  # the seed has OpenAIProvider() here
    config=config,
)

result = agent.run([Message(role=Role.USER, content="I need help with my bill")])

# Inspect routing decision without executing
assert result.tool_name == "support_tool"
assert "billing" in str(result.tool_args).lower() or "bill" in str(result.tool_args).lower()

# --- check ---
print("routed to", result.tool_name, "with", result.tool_args)
