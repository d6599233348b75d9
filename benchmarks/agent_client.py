"""The same job done by a selectools Agent on OpenAIProvider, with the checks it must pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import scenario


def make_agent(base_url: str, tools: dict[str, Callable[..., Any]] | None = None) -> Any:
    """An Agent with the scenario's three tools on an OpenAIProvider pointed at `base_url`."""
    from selectools import Agent, AgentConfig, OpenAIProvider, tool

    functions = tools or scenario.ASYNC_TOOLS
    provider = OpenAIProvider(base_url=base_url, api_key=scenario.API_KEY, model=scenario.MODEL)
    return Agent([tool(function) for function in functions.values()], provider=provider,
                 config=AgentConfig())


class AgentClient:
    """One Agent, reused for every run, as a server would."""

    name = "selectools Agent"

    def __init__(self, base_url: str, tools: dict[str, Callable[..., Any]] | None = None,
                 *, events: bool = False, response_format: Any = None) -> None:
        self.agent = make_agent(base_url, tools)
        # With events=True the stream also carries iteration and tool events (for UIs);
        # with a response_format, the typed answer's partial values too (B8).
        self.events = events
        self.response_format = response_format
        self._json_answer = scenario.json_answer()  # (made once: not a part of any run)
        if response_format is not None:
            self.name = "selectools Agent typed"
        elif events:
            self.name = "selectools Agent events=True"

    async def run_stream(self, prompt: str = scenario.PROMPT,
                         on_text: Callable[[str], Any] | None = None) -> str:
        """One run through `Agent.astream`; returns the final answer's text."""
        from selectools import AgentResult

        streamed: list[str] = []
        result = None
        async for item in self.agent.astream(prompt, self.response_format, events=self.events):
            if isinstance(item, AgentResult):
                result = item
            elif item.content:
                streamed.append(item.content)
                if on_text is not None:
                    on_text(item.content)
        if result is None:
            raise AssertionError("astream ended without an AgentResult")
        _check_result(result)
        if self.response_format is not None and (
                result.structured_status != "ok" or result.parsed != self._json_answer):
            raise AssertionError(f"the typed answer was not parsed: {result.structured_error}")
        if "".join(streamed) != scenario.FIRST_TEXT + result.content:
            raise AssertionError("the streamed text differs from the two answers")
        return str(result.content)

    async def run_whole(self, prompt: str = scenario.PROMPT) -> str:
        """One run through `Agent.arun` (no streaming); returns the final answer's text."""
        result = await self.agent.arun(prompt)
        _check_result(result)
        return str(result.content)

    def run_sync(self, prompt: str = scenario.PROMPT) -> str:
        result = self.agent.run(prompt)
        _check_result(result)
        return str(result.content)

    async def aclose(self) -> None:
        await self.agent.provider.aclose()


def _check_result(result: Any) -> None:
    if result.iterations != 2 or len(result.tool_calls) != 3:
        raise AssertionError(f"expected 2 iterations and 3 tool calls, got "
                             f"{result.iterations} and {len(result.tool_calls)}: "
                             f"{result.content[:200]!r}")
