"""One policy for each edge case, the same on every protocol (OpenAI, Anthropic, Gemini,
Ollama): tool arguments however they come, call ids, the field that carries a tool result,
a missing key, the question beside an image, sampling parameters, the tools cache."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from wire_replay import WIRES, whole_with_call
from wire_server import WireServer

from selectools.providers import registry
from selectools.providers.anthropic import API_VERSION, AnthropicProvider
from selectools.providers.errors import AuthenticationError
from selectools.providers.gemini import GeminiProvider
from selectools.providers.ollama import OllamaProvider
from selectools.providers.openai import OpenAIProvider
from selectools.types import (
    RAW_ARGUMENTS_KEY,
    ContentPart,
    Message,
    Role,
    ToolCall,
    ToolDefinition,
)

PROTOCOLS = list(WIRES)
ASK = [Message(Role.USER, "What is the weather in Paris?")]
SRC = Path(__file__).parent.parent / "src" / "selectools"


def parse(protocol: str, data: Any) -> Message:
    message, _ = WIRES[protocol].module.parse_response(data, "m")
    assert isinstance(message, Message)
    return message


def body_of(protocol: str, messages: list[Message], **options: Any) -> Any:
    """The JSON body the protocol's provider would send for `messages`."""
    provider = WIRES[protocol].provider("http://127.0.0.1:9")
    request = provider.build_request(model="m", system_prompt="", messages=messages,
                                     tools=None, temperature=options.get("temperature"),
                                     max_tokens=100, stream=False)
    return request.body


# -- tool arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("arguments", ['{"city": "Paris"}', {"city": "Paris"}],
                         ids=["json-text", "json-object"])
def test_arguments_as_json_text_or_as_an_object_are_the_parameters(
        protocol: str, arguments: Any) -> None:
    # Some compatible servers send OpenAI's arguments as an object; some send Anthropic's
    # input or Gemini's args as text. Both forms mean the same call on every protocol.
    [call] = parse(protocol, whole_with_call(protocol, "weather", arguments)).tool_calls or []
    assert call == ToolCall("weather", {"city": "Paris"}, id="c1")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("arguments", ['{"city": "Pa', '["Paris"]', 42],
                         ids=["cut-short", "not-an-object", "a-number"])
def test_arguments_cut_short_or_malformed_are_kept_raw(protocol: str, arguments: Any) -> None:
    # The call is still there (never dropped, never raised): the agent tells the model.
    [call] = parse(protocol, whole_with_call(protocol, "weather", arguments)).tool_calls or []
    assert call.tool_name == "weather" and call.id == "c1"
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    assert call.parameters == {RAW_ARGUMENTS_KEY: raw}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_no_arguments_is_an_empty_object(protocol: str) -> None:
    [call] = parse(protocol, whole_with_call(protocol, "now", None)).tool_calls or []
    assert call.parameters == {}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("call_id", [None, ""], ids=["missing", "empty"])
def test_every_tool_call_gets_an_id(protocol: str, call_id: Any) -> None:
    calls = [parse(protocol, whole_with_call(protocol, "now", "{}", call_id)).tool_calls
             for _ in range(2)]
    ids = [found[0].id for found in calls if found]
    assert len(ids) == 2 and all(i and i.startswith("call_") for i in ids)
    assert ids[0] != ids[1]  # unique, so each result links to its own call


# -- what the requests carry -------------------------------------------------------------------


def _history(result: Message) -> list[Message]:
    return [ASK[0], Message(Role.ASSISTANT, tool_calls=[ToolCall("weather", {}, id="c1")]),
            result]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_tool_result_is_tool_result_if_set_else_content(protocol: str) -> None:
    both = Message(Role.TOOL, content="shown to the user", tool_result="21 C and sunny",
                   tool_name="weather", tool_call_id="c1")
    sent = json.dumps(body_of(protocol, _history(both)))
    assert "21 C and sunny" in sent and "shown to the user" not in sent
    only_content = Message(Role.TOOL, content="18 C", tool_name="weather", tool_call_id="c1")
    assert "18 C" in json.dumps(body_of(protocol, _history(only_content)))
    empty_result = Message(Role.TOOL, content="not this", tool_result="", tool_name="weather",
                           tool_call_id="c1")
    assert "not this" not in json.dumps(body_of(protocol, _history(empty_result)))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_question_beside_an_image_is_sent(protocol: str) -> None:
    image = ContentPart(type="image_base64", image_base64="aGVsbG8=", media_type="image/png")
    asked = Message(Role.USER, content="What is this?", content_parts=[image])
    sent = json.dumps(body_of(protocol, [asked]))
    assert "What is this?" in sent and "aGVsbG8=" in sent


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_temperature_is_sent_only_when_set(wire_server: WireServer, protocol: str) -> None:
    wire = WIRES[protocol]
    provider = wire.provider(wire_server.url)
    try:
        for temperature in (None, 0.3):
            wire_server.reply(body=wire.whole())
            await provider.acomplete(model="m", messages=ASK, temperature=temperature)
        unset, set_ = (request.json for request in wire_server.requests)
    finally:
        await provider.aclose()
    assert "temperature" not in _keys(unset)
    assert "temperature" in _keys(set_) and "0.3" in json.dumps(set_)


async def test_the_anthropic_api_version_is_configurable(wire_server: WireServer) -> None:
    wire = WIRES["anthropic"]
    for version in (None, "2026-10-21"):
        options = {} if version is None else {"api_version": version}
        provider = wire.provider(wire_server.url, **options)
        wire_server.reply(body=wire.whole())
        await provider.acomplete(model="m", messages=ASK)
        await provider.aclose()
    default, chosen = (r.headers["anthropic-version"] for r in wire_server.requests)
    assert (default, chosen) == (API_VERSION, "2026-10-21") == ("2023-06-01", "2026-10-21")
    with pytest.raises(ValueError, match="api_version"):
        AnthropicProvider(api_key="k", api_version="")


# -- the key -----------------------------------------------------------------------------------


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
                 "GEMINI_API_KEY", "GOOGLE_API_KEY", "OLLAMA_HOST"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_keys")
@pytest.mark.parametrize("make", [OpenAIProvider, AnthropicProvider, GeminiProvider],
                         ids=["openai", "anthropic", "gemini"])
def test_a_hosted_endpoint_without_a_key_is_refused_when_made(make: Any) -> None:
    with pytest.raises(AuthenticationError, match="API_KEY"):
        make()


@pytest.mark.usefixtures("no_keys")
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_custom_base_url_needs_no_key(wire_server: WireServer, protocol: str) -> None:
    wire = WIRES[protocol]
    provider = wire.provider(wire_server.url, key=None)
    wire_server.reply(body=wire.whole())
    message, _ = await provider.acomplete(model="m", messages=ASK)
    await provider.aclose()
    assert message.tool_calls
    headers = wire_server.requests[0].headers
    assert not {"authorization", "x-api-key", "x-goog-api-key"} & set(headers)


@pytest.mark.usefixtures("no_keys")
def test_ollama_needs_no_key_at_its_default_host() -> None:
    assert OllamaProvider().base_url == "http://localhost:11434"


# -- the house ---------------------------------------------------------------------------------


def test_the_tools_cache_is_keyed_by_tool_names_not_objects() -> None:
    # The agent hands fresh ToolDefinitions on every call: equal ones reuse the bytes.
    provider = WIRES["openai"].provider("http://127.0.0.1:9")

    def definitions(description: str = "Weather of a city") -> list[ToolDefinition]:
        return [ToolDefinition("weather", description, {"type": "object", "properties": {
            "city": {"type": "string"}}})]

    def tools_sent(tools: list[ToolDefinition]) -> Any:
        return provider.build_request(model="m", system_prompt="", messages=ASK, tools=tools,
                                      temperature=None, max_tokens=10, stream=False).body["tools"]

    first, second = definitions(), definitions()  # both alive: distinct object ids
    assert tools_sent(first) is tools_sent(second)
    changed = tools_sent(definitions("Weather, by city"))
    assert changed is not tools_sent(first) and b"Weather, by city" in changed


def test_providers_never_import_tools() -> None:
    # Providers see tools as data (ToolDefinition); tools/ is the engine's side.
    for module in (SRC / "providers").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                target = ("." * node.level) + (node.module or "")
                assert not target.startswith(("..tools", "selectools.tools")), module.name


def test_the_registry_lists_every_provider_and_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    from selectools.cli._loading import PROVIDER_NAMES, make_provider

    assert PROVIDER_NAMES == ("local", "openai", "anthropic", "gemini", "ollama", "llamacpp")
    assert registry.WIRE_PROTOCOLS == ("openai", "anthropic", "gemini", "ollama")
    for name in registry.WIRE_PROTOCOLS:
        described = registry.protocol(name)
        assert described.name == name
        cls = registry.entry(name).provider_class()
        assert cls.__module__ == f"selectools.providers.{name}"
    for class_name, module in registry.lazy_names().items():
        assert getattr(__import__(module, fromlist=[class_name]), class_name).__name__ \
            == class_name
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    made = make_provider("anthropic", "claude-sonnet-4-5")
    assert isinstance(made, AnthropicProvider) and made.default_model == "claude-sonnet-4-5"
    with pytest.raises(ValueError, match="unknown protocol 'local'.*openai, anthropic"):
        registry.protocol("local")
