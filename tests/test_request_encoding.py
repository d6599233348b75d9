"""Request bodies on the wire: tool definitions are encoded once per tool list, yet every
request carries exactly what building it afresh gives, also after a tool has changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from wire_server import WireServer

from selectools._json import RawJson, encode
from selectools.providers._http_provider import HttpProvider
from selectools.providers.anthropic import AnthropicProvider
from selectools.providers.gemini import GeminiProvider
from selectools.providers.ollama import OllamaProvider
from selectools.providers.openai import OpenAIProvider
from selectools.providers.protocol import ModelRequest
from selectools.tools import Tool, tool
from selectools.types import Message, Role

WIRE = Path(__file__).parent / "fixtures" / "wire"
ASK = [Message(Role.USER, "What is the capital of the UK?")]

# Each HTTP provider on the replay server, with a whole answer of its protocol to reply.
PROVIDERS: dict[str, tuple[Callable[[str], HttpProvider], str]] = {
    "openai": (lambda url: OpenAIProvider(api_key="k", base_url=url + "/v1", model="m"),
               "openai_chat_tool_call_single.json"),
    "anthropic": (lambda url: AnthropicProvider(api_key="k", base_url=url, model="m"),
                  "anthropic_messages_tool_use.json"),
    "gemini": (lambda url: GeminiProvider(api_key="k", base_url=url, model="m"),
               "gemini_generate_content_function_call.json"),
    "ollama": (lambda url: OllamaProvider(host=url, model="m"), "ollama_chat_tools.json"),
}


def make_tools() -> list[Tool]:
    @tool()
    def get_capital(country: str) -> str:
        """The capital city of a country.

        Args:
            country: The country's English name.
        """
        return "London"

    @tool()
    def get_weather(city: str, days: int = 1) -> str:
        """The weather forecast for a city."""
        return "Sunny"

    return [get_capital, get_weather]


async def sent_and_fresh(server: WireServer, provider: HttpProvider, reply: str,
                         tools: list[Tool]) -> tuple[Any, Any]:
    """Make one call; return the body the server received and the body built afresh."""
    answer = json.loads((WIRE / reply).read_text())
    server.reply(body=answer["body"] if "source" in answer else answer)  # a wrapped recording
    definitions = [tool.definition for tool in tools]  # what the agent hands a provider
    await provider.acomplete(model="m", system_prompt="Be brief.", messages=ASK,
                             tools=definitions)
    fresh = provider.protocol.build_request(ModelRequest(
        model="m", system_prompt="Be brief.", messages=ASK, temperature=None, max_tokens=1000,
        stream=False)).body
    fresh["tools"] = provider.protocol.encode_tools(definitions)
    return server.requests[-1].json, fresh


@pytest.mark.parametrize("name", PROVIDERS)
async def test_each_request_carries_the_tools_as_they_are_now(wire_server: WireServer,
                                                               name: str) -> None:
    make, reply = PROVIDERS[name]
    provider = make(wire_server.url)
    tools = make_tools()
    try:
        sent, fresh = await sent_and_fresh(wire_server, provider, reply, tools)
        assert sent == fresh and "tools" in sent
        assert await sent_and_fresh(wire_server, provider, reply, tools) == (fresh, fresh)

        # Changed in every way a user might change a tool, between two calls:
        tools[0].description = "Capital cities, by country."
        tools[0].parameters_schema["properties"]["country"]["description"] = "ISO name"
        tools[1].name = "get_forecast"
        changed, fresh = await sent_and_fresh(wire_server, provider, reply, tools)
        assert changed == fresh and changed != sent
        assert "Capital cities, by country." in json.dumps(changed)
        assert "ISO name" in json.dumps(changed) and "get_forecast" in json.dumps(changed)

        # Another tool list on the same provider, then the first one again.
        other, fresh_other = await sent_and_fresh(wire_server, provider, reply, tools[:1])
        assert other == fresh_other
        assert await sent_and_fresh(wire_server, provider, reply, tools) == (changed, changed)
    finally:
        await provider.aclose()


def test_encode_places_raw_json_values_as_they_are() -> None:
    body = {"model": "m", "tools": RawJson(b'[{"name":"f"}]'), "text": "naïve ✓"}
    encoded = encode(body)
    assert json.loads(encoded) == {"model": "m", "tools": [{"name": "f"}], "text": "naïve ✓"}
    assert "naïve ✓".encode() in encoded  # UTF-8, not \\u escapes
    assert json.loads(encode({"tools": RawJson(b"[]")})) == {"tools": []}
    assert encode({"a": [1, {"b": None}]}) == b'{"a":[1,{"b":null}]}'


def test_a_lone_surrogate_is_sent_escaped_not_refused() -> None:
    # e.g. a file name decoded with os.fsdecode, in a tool's result
    body = {"content": "report-\udcff.txt", "tools": RawJson(b"[]")}
    encoded = encode(body)
    assert b"\\udcff" in encoded and json.loads(encoded)["content"] == "report-\udcff.txt"
