"""An Agent for `selectools mcp serve` in the tests: two tools and a scripted model."""

from __future__ import annotations

from selectools import Agent, AgentConfig, tool
from selectools.testing import ScriptedProvider
from selectools.types import ToolCall


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers.

    Args:
        a: the first factor
        b: the second factor
    """
    return a * b


@tool
def shout(text: str) -> str:
    """Say it louder."""
    if not text:
        raise ValueError("nothing to shout")
    return text.upper() + "!"


agent = Agent(tools=[multiply, shout], config=AgentConfig(system_prompt="A calculator."))


def make_asking_agent() -> Agent:
    """An agent whose model calls multiply(6, 7), then answers with the result."""
    provider = ScriptedProvider([ToolCall("multiply", {"a": 6, "b": 7}), "The answer is 42."])
    return Agent(tools=[multiply], provider=provider,
                 config=AgentConfig(system_prompt="Answers arithmetic questions."))
