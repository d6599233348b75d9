"""Seed sample: AgentResult. A scripted LocalProvider plays the model: it calls get_weather,
then answers from its result."""

# --- preamble: names the sample leaves undefined ---
from selectools import Agent, Message, Role, ToolCall, tool
from selectools.providers.stubs import LocalProvider


@tool(description="Get the current weather for a location")
def get_weather(location: str) -> str:
    return f"Sunny, 24 C in {location}"


agent = Agent(tools=[get_weather], provider=LocalProvider(responses=[
    ToolCall("get_weather", {"location": "Tokyo"}),
    "It is sunny and 24 C in Tokyo.",
]))

# --- the seed's sample, unchanged ---
result = agent.run([Message(role=Role.USER, content="What's the weather in Tokyo?")])
print(result.content) # Final text
print(result.tool_name) # e.g. "get_weather"
print(result.tool_args) # e.g. {"location": "Tokyo"}
print(result.iterations) # e.g. 2
print(len(result.tool_calls)) # Number of tools invoked
