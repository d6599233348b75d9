"""Seed sample: a domain system prompt with two tools."""

# --- preamble: names the sample leaves undefined ---
from selectools import Agent, AgentConfig, tool
from selectools.providers.stubs import LocalProvider


@tool(description="Search the Python documentation")
def search_docs(query: str) -> str:
    return f"docs.python.org results for {query!r}"


@tool(description="Run a Python expression")
def run_code(expression: str) -> str:
    return "(not run in this example)"


provider = LocalProvider()

# --- the seed's sample, unchanged ---
config = AgentConfig(
    system_prompt="You are a Python expert. Prefer type hints and modern syntax. Suggest tests when relevant.",
    max_iterations=5,
)
agent = Agent(tools=[search_docs, run_code], provider=provider, config=config)

# --- check ---
result = agent.run("search docs dataclasses")
print(result.content)
