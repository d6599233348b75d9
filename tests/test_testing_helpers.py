"""selectools.testing: agents tested against scripted turns and recorded streams."""

from __future__ import annotations

from pathlib import Path

import pytest

from selectools import Agent, StreamChunk, ToolCall, tool
from selectools.testing import ScriptedProvider, TranscriptProvider


@tool(description="Weather for a city")
def get_weather(city: str) -> str:
    return f"Sunny in {city}"


@tool(description="Product name")
def get_product_name() -> str:
    return "Pydantic AI"


async def test_recorded_openai_streams_drive_a_full_tool_loop(wire_dir: Path) -> None:
    provider = TranscriptProvider([wire_dir / "openai_chat_stream_tool_calls.sse",
                                   wire_dir / "openai_chat_stream_text_after_tool_result.sse"])
    agent = Agent(tools=[get_weather, get_product_name], provider=provider)
    items = [i async for i in agent.astream("weather?")]
    result = items[-1]
    calls = [c for i in items if isinstance(i, StreamChunk) and i.tool_calls
             for c in i.tool_calls]
    assert [(c.tool_name, c.parameters) for c in calls] == [
        ("get_weather", {"city": "Mexico City"}), ("get_product_name", {})]
    tool_results = [m.content for m in agent.history if m.tool_result is not None]
    assert tool_results == ["Sunny in Mexico City", "Pydantic AI"]
    assert result.content and result.iterations == 2  # type: ignore[union-attr]
    assert result.usage.llm_calls == 2  # type: ignore[union-attr]


async def test_recorded_ollama_ndjson_replays(wire_dir: Path) -> None:
    provider = TranscriptProvider([wire_dir / "ollama_chat_stream_text.ndjson"],
                                  protocol="ollama")
    result = await Agent(provider=provider).arun("hi")
    assert result.content and result.usage is not None and result.usage.total_tokens > 0


def test_scripted_provider_plays_turns_and_unknown_protocols_are_named() -> None:
    agent = Agent(tools=[get_weather], provider=ScriptedProvider(
        [ToolCall("get_weather", {"city": "Oslo"}), "Sunny in Oslo today."]))
    assert agent.run("weather in Oslo?").content == "Sunny in Oslo today."
    with pytest.raises(ValueError, match="unknown protocol 'grpc'"):
        TranscriptProvider([], protocol="grpc")  # type: ignore[arg-type]
