"""Token-level async streaming with tool calls, as a user interface would show it.

`astream(..., events=True)` yields the text deltas, the tool calls, and (opt-in) what each
tool returned. A scripted LocalProvider plays the model so the example runs offline; swap in
OpenAIProvider(), AnthropicProvider() or LlamaCppProvider() for a real one.
"""

import asyncio

from selectools import Agent, AgentConfig, AgentResult, Message, Role, ToolCall, tool
from selectools.providers.stubs import LocalProvider


@tool(description="Get the current weather for a city")
def get_weather(city: str) -> str:
    return f"Sunny and 21 C in {city}"


@tool(description="Convert Celsius to Fahrenheit")
def to_fahrenheit(celsius: float) -> str:
    return f"{celsius * 9 / 5 + 32:.1f} F"


model = LocalProvider(responses=[
    # Turn 1: a sentence, then a tool call, in one answer.
    Message(role=Role.ASSISTANT, content="Let me check the weather first.",
            tool_calls=[ToolCall("get_weather", {"city": "Lisbon"})]),
    # Turn 2: another tool, with an argument the agent validates and coerces ("21" -> 21.0).
    ToolCall("to_fahrenheit", {"celsius": "21"}),
    # Turn 3: the final answer, streamed word by word.
    "It is sunny in Lisbon: 21 C, which is 69.8 F.",
])
agent = Agent(tools=[get_weather, to_fahrenheit], provider=model,
              config=AgentConfig(max_iterations=4))


async def main() -> None:
    deltas = 0
    async for item in agent.astream("What's the weather in Lisbon, in Fahrenheit?",
                                     events=True):
        if isinstance(item, AgentResult):
            print(f"\n\ndone in {item.iterations} iterations; tools: "
                  f"{[c.tool_name for c in item.tool_calls]}; {deltas} text deltas; "
                  f"{item.usage.total_tokens} tokens")
        elif item.event == "tool_start":
            print(f"\n  -> {item.data['tool_name']}({item.data['tool_args']})")
        elif item.event == "tool_result":
            print(f"  <- {item.data['result']}")
        elif item.content:
            deltas += 1
            print(item.content, end="", flush=True)


asyncio.run(main())
