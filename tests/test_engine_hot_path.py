"""What the engine's hot path keeps doing while it does less per run and per streamed item
(session 6, issues 18 and 19), through a real OpenAI-compatible server on 127.0.0.1.

A tool call's name is the offered tool's own string, so held results share one string per
tool (a name parsed from each answer was a new 60-65 B string per call); a name the agent
does not offer stays the model's, and is answered as an unknown tool.
"""

from __future__ import annotations

from test_engine_held_results import completion, weather
from wire_server import WireServer

from selectools import Agent
from selectools.providers.openai import OpenAIProvider


async def test_held_results_share_the_offered_tools_name(wire_server: WireServer) -> None:
    for _ in range(2):
        wire_server.reply(body=completion(None, [("weather", '{"city": "Paris"}'),
                                                 ("weather", '{"city": "Oslo"}')]))
        wire_server.reply(body=completion("Sunny."))
    provider = OpenAIProvider(base_url=wire_server.url, model="m", max_retries=0, timeout=5)
    agent = Agent([weather], provider=provider)
    try:
        first = await agent.arun("Weather in Paris and Oslo?")
        second = await agent.arun("Weather in Paris and Oslo?")
    finally:
        await provider.aclose()
    names = [call.tool_name for call in first.tool_calls + second.tool_calls]
    assert names == ["weather"] * 4
    assert all(name is weather.name for name in names)
    assert first.tool_name is weather.name
    # the trace and the history say the same name
    assert first.trace is not None
    assert [t["name"] for t in first.trace.of_type("tool_selection")[0].data["tools"]] == [
        "weather", "weather"]
    assert [m.tool_name for m in agent.history if m.tool_name] == ["weather", "weather"]


async def test_a_name_not_offered_stays_the_models_and_is_refused(
        wire_server: WireServer) -> None:
    wire_server.reply(body=completion(None, [("wether", '{"city": "Paris"}')]))
    wire_server.reply(body=completion("Sorry."))
    provider = OpenAIProvider(base_url=wire_server.url, model="m", max_retries=0, timeout=5)
    try:
        result = await Agent([weather], provider=provider).arun("Weather in Paris?")
    finally:
        await provider.aclose()
    assert result.tool_calls[0].tool_name == "wether"
    sent = wire_server.requests[1].json["messages"]
    tool_message = [m for m in sent if m["role"] == "tool"][0]
    assert "wether" in tool_message["content"] and "weather" in tool_message["content"]
