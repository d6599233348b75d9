"""Seed sample: logging tool usage from an AgentResult."""

# --- preamble: names the sample leaves undefined ---
from selectools import Agent, Message, Role, tool
from selectools.providers.stubs import LocalProvider


@tool(description="Convert a temperature from Celsius to Fahrenheit")
def to_fahrenheit(celsius: str) -> str:
    return f"{float(celsius) * 9 / 5 + 32:.1f} F"


agent = Agent(tools=[to_fahrenheit], provider=LocalProvider())
messages = [Message(role=Role.USER, content="to_fahrenheit 21")]


def log_tool_usage(name: str, parameters: dict) -> None:
    print(f"tool used: {name} {parameters}")


def alert_complex_conversation() -> None:
    print("alert: a long conversation")

# --- the seed's sample, unchanged ---
result = agent.run(messages)
if result.tool_calls:
    for tc in result.tool_calls:
        log_tool_usage(tc.tool_name, tc.parameters)

if result.iterations > 3:
    alert_complex_conversation()

# --- check ---
print("answer:", result.content)
