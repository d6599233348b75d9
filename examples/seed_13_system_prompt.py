"""Seed samples: a custom system prompt. The seed's `tools=[...]` placeholder is filled."""

# --- preamble: names the samples leave undefined ---
from selectools import Agent, AgentConfig, tool
from selectools.providers.stubs import LocalProvider


@tool(description="Look up a drug's label")
def drug_label(name: str) -> str:
    return f"{name}: see the label"


@tool(description="Look up a stock price")
def lookup_stock(symbol: str) -> str:
    return f"{symbol}: 123.45"


@tool(description="Get news about a company")
def get_news(company: str) -> str:
    return f"No news about {company}"


provider = LocalProvider()

# --- the seed's first sample, unchanged but for the placeholder ---
config = AgentConfig(
    system_prompt="You are a medical assistant. Only provide information you are confident about."
)
agent = Agent(tools=[drug_label], provider=provider, config=config)  # seed: tools=[...]

agent.run("hello")
print("system prompt sent:", provider.requests[-1][0][:40])

# --- the seed's second sample, unchanged ---
config = AgentConfig(
    system_prompt="""You are a financial advisor.
- Never guarantee returns.
- Always recommend consulting a licensed professional.
- Use clear, non-technical language."""
)
agent = Agent(tools=[lookup_stock, get_news], provider=provider, config=config)

agent.run("lookup stock ACME")
print("system prompt sent:", provider.requests[-1][0].splitlines()[0])
