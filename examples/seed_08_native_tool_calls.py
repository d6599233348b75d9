"""Seed sample: native function calling; a provider returns ToolCall objects directly.

`provider.complete(...)` in the seed stands for a call with real arguments; the preamble's
provider supplies them (a LocalProvider asked about the weather, with a weather tool)."""

# --- preamble: names the sample leaves undefined ---
from selectools import Message, Role, tool
from selectools.providers.stubs import LocalProvider


@tool(description="Get the weather for a city")
def weather(city: str) -> str:
    return f"Sunny in {city}"


class _ProviderWithArguments:
    """Stands for a provider called with a conversation and tools."""

    def complete(self, *_placeholder: object):
        return LocalProvider().complete(
            model="local", system_prompt="", tools=[weather],
            messages=[Message(role=Role.USER, content="weather Tokyo")])


provider = _ProviderWithArguments()

# --- the seed's sample, unchanged ---
response = provider.complete(...)
msg = response[0]
if msg.tool_calls:
    for tc in msg.tool_calls:
        print(f"Tool: {tc.tool_name}, Args: {tc.parameters}")
