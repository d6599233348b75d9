"""B6's reference: the job of `cases.b6_local` written by hand over the same objects.

A careful user who wants no Agent writes this loop over `LocalProvider`: ask the model
(`acomplete`) with the messages so far and the tools' definitions, run the tool calls it
answers with (the same `Tool` objects, `await tool.aexecute(...)`, which validates the
arguments), append the answer and the results, ask again, return the final text. What the
Agent adds on top (trace, usage, observers, ids, stop reasons, deadlines, artifacts, the
result object) is the engine's cost, measured against this loop: B6's budget is at most 3x.

`b6_hand_us` times both the way `b6_local` times `Agent.arun` (batches of runs on a fresh
scripted provider, perf_counter per batch), batches interleaved one by one so that both
see the same machine.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from selectools import Message, Role

from . import scenario

FINAL_TEXT = "It is sunny in Paris."
MAX_ITERATIONS = 6


async def hand_loop_run(provider: Any, tools: Sequence[Any], prompt: str) -> str:
    """One run by hand: model, tools, model, ... until an answer without tool calls."""
    by_name = {tool.name: tool for tool in tools}
    definitions = [tool.definition for tool in tools]
    messages = [Message(role=Role.USER, content=prompt)]
    for _ in range(MAX_ITERATIONS):
        response, _usage = await provider.acomplete(
            model="local", system_prompt="You are a helpful assistant.", messages=messages,
            tools=definitions)
        messages.append(response)
        if not response.tool_calls:
            return str(response.content)
        for call in response.tool_calls:
            tool = by_name.get(call.tool_name)
            try:
                if tool is None:
                    raise LookupError(f"unknown tool {call.tool_name!r}")
                text = await tool.aexecute(call.parameters)
            except Exception as exc:  # the model reads the error, as with the Agent
                text = f"Error: {exc}"
            messages.append(Message(role=Role.TOOL, content=text, tool_name=call.tool_name,
                                    tool_call_id=call.id))
    raise RuntimeError(f"no final answer after {MAX_ITERATIONS} iterations")


def _scripted(count: int) -> Any:
    from selectools import LocalProvider, ToolCall

    turns: list[Any] = []
    for _ in range(count):
        turns += [ToolCall("get_weather", {"city": "Paris"}), FINAL_TEXT]
    return LocalProvider(responses=turns)


def _check(answer: str, provider: Any, who: str) -> None:
    if answer != FINAL_TEXT:
        raise AssertionError(f"B6 {who}: wrong answer {answer!r}")
    seen = provider.requests[-1][1][-1]
    if seen.role != Role.TOOL or seen.content != scenario.weather_text("Paris"):
        raise AssertionError(f"B6 {who}: the second call did not see the tool result: {seen!r}")


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "mean": statistics.fmean(values),
            "min": min(values), "max": max(values), "n": len(values)}


def b6_hand_us(runs: int, batches: int) -> dict[str, Any]:
    """µs per run of `hand_loop_run` and of `Agent.arun` on the same job (LocalProvider
    scripted turns: a tool call, then the answer), in batches of `runs` runs on a fresh
    provider, the two interleaved batch by batch (who goes first alternates). Returns
    {"hand_us", "arun_us"} summaries and "ratio" (median arun / median hand)."""
    from selectools import Agent, tool

    weather = tool(scenario.get_weather)

    async def hand_batch(count: int) -> float:
        provider = _scripted(count)
        start = time.perf_counter()
        for _ in range(count):
            answer = await hand_loop_run(provider, [weather], scenario.PROMPT)
        elapsed = time.perf_counter() - start
        _check(answer, provider, "hand loop")
        return elapsed / count * 1e6

    async def agent_batch(count: int) -> float:
        provider = _scripted(count)
        agent = Agent([weather], provider=provider)
        start = time.perf_counter()
        for _ in range(count):
            result = await agent.arun(scenario.PROMPT)
        elapsed = time.perf_counter() - start
        if result.iterations != 2:
            raise AssertionError(f"B6 Agent: {result.iterations} iterations, not 2")
        _check(result.content, provider, "Agent")
        return elapsed / count * 1e6

    async def main() -> dict[str, list[float]]:
        timed: dict[str, tuple[Callable[[int], Awaitable[float]], list[float]]] = {
            "hand_us": (hand_batch, []), "arun_us": (agent_batch, [])}
        for batch, _ in timed.values():  # warm both
            await batch(min(runs, 50))
        order = list(timed)
        for i in range(batches):
            for name in order[i % 2:] + order[:i % 2]:
                batch, values = timed[name]
                values.append(await batch(runs))
        return {name: values for name, (_, values) in timed.items()}

    measured = asyncio.run(main())
    hand, arun = _summary(measured["hand_us"]), _summary(measured["arun_us"])
    return {"hand_us": hand, "arun_us": arun, "ratio": arun["median"] / hand["median"]}


if __name__ == "__main__":  # python -m benchmarks.engine_loop [runs] [batches]
    import json
    import sys

    arguments = [int(value) for value in sys.argv[1:3]]
    print(json.dumps(b6_hand_us(*(arguments or [2000, 7])), indent=1))
