"""What a streamed run holds while its final answer streams (B3: 500 runs in flight on one
Agent): nothing of the turn's tools but their messages in the history, and no container a
turn without reasoning or argument deltas never fills.
"""

from __future__ import annotations

import gc
import types

from selectools import Agent, LocalProvider, ToolCall, tool
from selectools.agent.run import StreamedTurn
from selectools.agent.tool_runner import ToolOutcome, ToolRunner


@tool(description="The weather in a city")
async def weather(city: str) -> str:
    return f"Sunny in {city}"


def reachable(root: object) -> list[object]:
    """What `root` holds, through containers and objects (not modules, classes or
    functions, whose globals hold everything)."""
    seen: dict[int, object] = {}
    stack = [root]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, (type, types.ModuleType, types.FunctionType,
                                                 types.BuiltinFunctionType)):
            continue
        seen[id(item)] = item
        stack.extend(gc.get_referents(item))
    return list(seen.values())


async def test_a_run_streaming_its_answer_holds_nothing_of_its_tools() -> None:
    provider = LocalProvider(responses=[
        [ToolCall("weather", {"city": "Paris"}, "c1"), ToolCall("weather", {"city": "Oslo"},
                                                                "c2")],
        "It is sunny in Paris and in Oslo."])
    agent = Agent([weather], provider=provider)
    stream = agent.astream("Weather?", events=False)
    seen_calls = False
    async for item in stream:
        if getattr(item, "tool_calls", None):
            seen_calls = True
        elif seen_calls and getattr(item, "content", None):
            break  # the final answer's first text: the run is in flight
    held = reachable(stream)  # the run's generator: its frame, the Run, the provider's
    assert [o for o in held if isinstance(o, (ToolOutcome, ToolRunner))] == []
    [turn] = [o for o in held if isinstance(o, StreamedTurn)]
    assert isinstance(turn, StreamedTurn) and turn.calls is None
    frame = stream.ag_frame  # type: ignore[attr-defined]
    assert frame.f_locals.get("chunk") is None  # not the first turn's tool-call chunk
    assert "messages" not in frame.f_locals and "prior" not in frame.f_locals
    assert turn.reasoning is None and turn.streamed is None
    rest = [item async for item in stream]
    result = rest[-1]
    assert result.content == "It is sunny in Paris and in Oslo."  # type: ignore[union-attr]
    assert [m.content for m in provider.requests[1][1] if m.tool_result is not None] == [
        "Sunny in Paris", "Sunny in Oslo"]
