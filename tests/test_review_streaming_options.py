"""Hostile review of issue 13, call options: a protocol of the user's own whose stream
decoder predates `tool_deltas` still streams with `events=True`, and a reasoning setting
reaches only the models that take it (over real HTTP where the endpoint allows)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from wire_server import WireServer

from selectools import Agent, AgentConfig, tool
from selectools.providers import openai
from selectools.providers._http_provider import HttpProvider
from selectools.providers.anthropic import AnthropicProvider
from selectools.providers.gemini import GeminiProvider
from selectools.types import Message, Role, StreamChunk

WIRE = Path(__file__).parent / "fixtures" / "wire"
TOOL_CALLS = WIRE / "openai_chat_stream_tool_calls.sse"
ANSWER = WIRE / "openai_chat_stream_text_after_tool_result.sse"
ASK = [Message(Role.USER, "How many r's are in strawberry?")]


async def decoder_without_deltas(events: AsyncIterator[Any], model: str) -> AsyncIterator[Any]:
    """A user's decoder written before `tool_deltas` existed (two positional arguments)."""
    async for item in openai.decode_stream(events, model):
        yield item


OLD_PROTOCOL = dataclasses.replace(openai.PROTOCOL, name="mine",
                                   decode_stream=decoder_without_deltas)


@tool()
def get_weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


@tool()
def get_product_name() -> str:
    """The product's name."""
    return "selectools"


async def test_a_decoder_without_the_tool_deltas_keyword_streams_events(
        wire_server: WireServer) -> None:
    provider = HttpProvider(OLD_PROTOCOL, base_url=wire_server.url + "/v1")
    assert "tool_deltas" not in provider.call_options
    assert "output" in provider.call_options
    wire_server.reply_file(TOOL_CALLS, content_type="text/event-stream")
    wire_server.reply_file(ANSWER, content_type="text/event-stream")
    agent = Agent(tools=[get_weather, get_product_name], provider=provider,
                  config=AgentConfig(max_iterations=3))
    chunks: list[Any] = []
    try:
        async for chunk in agent.astream("Weather in Mexico City, and the product?",
                                         events=True):
            chunks.append(chunk)
    finally:
        await provider.aclose()
    deltas = [c.data for c in chunks
              if isinstance(c, StreamChunk) and c.event == "tool_call_delta"]
    # Each call once, whole (made by the agent, since this decoder yields no fragments).
    assert deltas == [
        {"index": 0, "call_id": "call_NS4iQj14cDFwc0BnrKqDHavt", "tool_name": "get_weather",
         "arguments_delta": '{"city": "Mexico City"}'},
        {"index": 1, "call_id": "call_SkGkkGDvHQEEk0CGbnAh2AQw",
         "tool_name": "get_product_name", "arguments_delta": "{}"}]
    assert chunks[-1].content  # the answer of the second stream
    assert len(wire_server.requests) == 2


def test_a_decoder_with_keyword_arguments_is_given_tool_deltas() -> None:
    async def decoder(events: AsyncIterator[Any], model: str,
                      **options: Any) -> AsyncIterator[Any]:
        async for item in openai.decode_stream(events, model, **options):
            yield item

    provider = HttpProvider(dataclasses.replace(openai.PROTOCOL, decode_stream=decoder),
                            base_url="http://127.0.0.1:9/v1")
    assert "tool_deltas" in provider.call_options
    assert "tool_deltas" in HttpProvider(openai.PROTOCOL,
                                         base_url="http://127.0.0.1:9/v1").call_options


@pytest.mark.parametrize(("model", "sent"), [("gpt-4o-mini", False), ("gpt-4.1", False),
                                             ("o4-mini", True), ("gpt-5-mini", True)])
def test_api_openai_com_gets_reasoning_effort_only_for_its_reasoning_models(
        model: str, sent: bool) -> None:
    # gpt-4o-mini answers 400 "Unrecognized request argument: reasoning_effort": a chain
    # with AgentConfig(reasoning=...) for its Claude or o-series models must not fail there.
    body = openai.build_request_body(model=model, system_prompt="", messages=ASK,
                                     hosted=True, reasoning="high")
    assert ("reasoning_effort" in body) is sent
    # A compatible server's model is sent the setting whatever its name.
    assert openai.build_request_body(model=model, system_prompt="", messages=ASK,
                                     reasoning="high")["reasoning_effort"] == "high"
    with pytest.raises(ValueError, match="reasoning must be one of"):
        openai.build_request_body(model=model, system_prompt="", messages=ASK, hosted=True,
                                  reasoning="max")


ANTHROPIC_TEXT = WIRE / "anthropic_messages_stream_text.sse"


@pytest.mark.parametrize(("model", "thinks"), [("claude-3-5-haiku-20241022", False),
                                               ("claude-3-opus-20240229", False),
                                               ("claude-3-7-sonnet-20250219", True)])
async def test_claude_models_that_cannot_think_are_sent_no_thinking(
        wire_server: WireServer, model: str, thinks: bool) -> None:
    # Claude 3.5 Haiku answers 400 to `thinking`: a run whose reasoning setting is for
    # another model of its fallback chain must not fail there.
    wire_server.reply_file(ANTHROPIC_TEXT, content_type="text/event-stream")
    provider = AnthropicProvider(api_key="sk-ant-test-0123456789", base_url=wire_server.url,
                                 model=model)
    agent = Agent(tools=[], provider=provider, config=AgentConfig(reasoning="high"))
    chunks = [chunk async for chunk in agent.astream("Hi")]
    await provider.aclose()
    assert chunks[-1].content
    body = wire_server.requests[0].json
    assert ("thinking" in body) is thinks
    assert body["max_tokens"] == (1000 + 16384 if thinks else 1000)


GEMINI_TEXT = WIRE / "gemini_stream_text_after_function_response.sse"


@pytest.mark.parametrize(("model", "thinks"), [("gemini-2.0-flash", False),
                                               ("gemini-1.5-pro", False),
                                               ("models/gemini-2.0-flash-lite", False),
                                               ("gemini-2.5-flash", True),
                                               ("gemini-3-pro-preview", True)])
async def test_gemini_models_that_cannot_think_are_sent_no_thinking_config(
        wire_server: WireServer, model: str, thinks: bool) -> None:
    # Gemini 2.0 answers 400 "thinking_config is not supported" (googleapis/js-genai#681).
    wire_server.reply_file(GEMINI_TEXT, content_type="text/event-stream")
    provider = GeminiProvider(api_key="gm-test-key-0123456789", base_url=wire_server.url,
                              model=model)
    agent = Agent(tools=[], provider=provider, config=AgentConfig(reasoning=2048))
    chunks = [chunk async for chunk in agent.astream("Hi")]
    await provider.aclose()
    assert chunks[-1].content
    config = wire_server.requests[0].json["generationConfig"]
    assert ("thinkingConfig" in config) is thinks
    assert config["maxOutputTokens"] == (1000 + 2048 if thinks else 1000)
