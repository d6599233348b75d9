"""Showing one agent run as it happens: text deltas, tool calls and their results."""

from __future__ import annotations

import time
from contextlib import aclosing
from typing import TYPE_CHECKING

from ..types import AgentResult, StreamChunk

if TYPE_CHECKING:
    from ..agent import Agent
    from ._output import PlainOutput


async def show_run(agent: Agent, prompt: str, output: PlainOutput) -> AgentResult | None:
    """Stream `agent` on `prompt` into `output`; returns the result (None if none came)."""
    started = time.perf_counter()
    result: AgentResult | None = None
    # aclosing: a cancelled answer (Ctrl-C) closes the model's stream at once.
    async with aclosing(agent.astream(prompt, events=True)) as items:
        async for item in items:
            if isinstance(item, AgentResult):
                result = item
            elif isinstance(item, StreamChunk):
                show_chunk(item, output)
    output.end_text()
    if result is not None:
        output.summary(describe(result, time.perf_counter() - started))
    return result


#: Events the terminal leaves out: a tool call's argument fragments (its tool_start line
#: shows them whole), typed partial values (the answer streams as text) and the markers.
_NOT_SHOWN = frozenset({"iteration_start", "iteration_end", "tool_call_delta",
                        "output_partial"})


def show_chunk(chunk: StreamChunk, output: PlainOutput) -> None:
    data = chunk.data or {}
    if chunk.event is None:
        if chunk.content:
            output.text(chunk.content)
        # tool calls are shown by the tool_start event that follows, with their call id
    elif chunk.event == "tool_start":
        output.tool_call(str(data.get("tool_name")), data.get("tool_args"))
    elif chunk.event == "tool_result":
        output.tool_result(str(data.get("tool_name")), str(data.get("result", "")),
                           bool(data.get("error")))
    elif chunk.event == "fallback":
        output.notice(f"{data.get('failed_provider')} failed ({data.get('error')}); "
                      f"{data.get('next_provider')} answers again from the start")
    elif chunk.event == "reasoning":
        output.reasoning(chunk.content)
    elif chunk.event not in _NOT_SHOWN:
        output.notice(f"{chunk.event}: {data}")


def describe(result: AgentResult, seconds: float) -> str:
    """One line about a finished run: iterations, tools, tokens, time."""
    parts = [f"{result.iterations} iteration{'s' if result.iterations != 1 else ''}"]
    if result.tool_calls:
        names = list(dict.fromkeys(call.tool_name for call in result.tool_calls))
        parts.append("tools: " + ", ".join(names))
    if result.usage is not None and result.usage.total_tokens:
        parts.append(f"{result.usage.total_tokens} tokens")
    if result.stop_reason != "completed":
        parts.append(f"stopped: {result.stop_reason}")
    parts.append(f"{seconds:.2f} s")
    return "done: " + ", ".join(parts)
