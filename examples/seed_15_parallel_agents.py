"""Seed sample: a parallel and a sequential agent for a slow tool. A scripted LocalProvider
asks for three calls at once, then answers; both agents run to show the difference."""

# --- preamble: names the sample leaves undefined ---
from selectools import ToolCall
from selectools.providers.stubs import LocalProvider


def three_calls_then_answer() -> list:
    calls = [ToolCall("slow_api", {"delay": 0.15}) for _ in range(3)]
    return [calls, "All three calls finished."]


provider = LocalProvider(responses=three_calls_then_answer() * 2)

# --- the seed's sample, unchanged ---
import time
from selectools import Agent, AgentConfig, Message, Role, tool

@tool(description="Simulate slow API")
def slow_api(delay: float) -> str:
    time.sleep(delay)
    return f"Done after {delay}s"

agent_parallel = Agent(
    tools=[slow_api],
    provider=provider,
    config=AgentConfig(parallel_tool_execution=True, max_iterations=2),
)

agent_sequential = Agent(
    tools=[slow_api],
    provider=provider,
    config=AgentConfig(parallel_tool_execution=False, max_iterations=2),
)

# With a prompt that triggers 3 tool calls:
# parallel: ~0.15s
# sequential: ~0.45s

# --- check: run both (timings vary with the machine) ---
for name, agent in (("parallel", agent_parallel), ("sequential", agent_sequential)):
    started = time.perf_counter()
    result = agent.run("call slow_api three times")
    print(f"{name}: {len(result.tool_calls)} tool calls in {time.perf_counter() - started:.2f}s")
