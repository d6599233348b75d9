"""Ollama thinking, `think` and native typed output (`format`): the pure parts on recorded
answers of real servers, and the provider through HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from wire_replay import decoded, frames
from wire_server import WireServer

from selectools import Agent, AgentConfig
from selectools.output import output_schema
from selectools.providers import ollama
from selectools.providers.errors import MalformedStreamError
from selectools.providers.ollama import OllamaProvider
from selectools.tools import tool
from selectools.types import (
    AgentResult,
    Message,
    OutputFormat,
    ReasoningDelta,
    ReasoningPart,
    Role,
    StreamChunk,
    ToolCall,
    TurnEnd,
)
from selectools.usage import UsageStats

WIRE = Path(__file__).parent / "fixtures" / "wire"
THINKING_TOOLS_STREAM = WIRE / "ollama_chat_stream_thinking_tools.ndjson"
THINKING_TOOLS_ANSWER = WIRE / "ollama_chat_thinking_tools.json"
ASK = [Message(Role.USER, "What is the weather in Paris and Lyon?")]


@tool()
def weather_get(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


class City(BaseModel):
    name: str
    country: str


def decode(raw: bytes, cuts: list[int] | None = None) -> list[Any]:
    return decoded(ollama.decode_stream, frames(raw, cuts or (), ndjson=True), "qwen3.5")


def ndjson(*lines: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def line(done: bool = False, **message: Any) -> dict[str, Any]:
    """One /api/chat stream line in the shape the server sends."""
    data: dict[str, Any] = {"model": "qwen3.5", "message": {"role": "assistant", **message},
                            "done": done}
    if done:
        data.update(done_reason="stop", prompt_eval_count=3, eval_count=4)
    return data


# -- decoding ----------------------------------------------------------------------------------


def test_thinking_streams_as_deltas_then_one_part_before_the_calls() -> None:
    items = decode(THINKING_TOOLS_STREAM.read_bytes())
    assert items[:3] == [ReasoningDelta("The"), ReasoningDelta(" user"),
                         ReasoningPart("The user", protocol="ollama")]
    first, second, end, usage = items[3:]
    assert first == ToolCall("weather_get", {"city": "Paris"}, id="call_zy4pkytc")
    # the second call came without an id (and with the first one's index): one is made
    assert isinstance(second, ToolCall) and second.parameters == {"city": "Lyon"}
    assert second.id and second.id != first.id
    assert end == TurnEnd("tool_calls", "stop")
    assert usage == UsageStats(277, 82, 359, None, "qwen3.5", "ollama")


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_network_chunking_decodes_the_thinking_identically(data: st.DataObject) -> None:
    raw = THINKING_TOOLS_STREAM.read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    reasoning = [i for i in decode(raw, cuts) if isinstance(i, (ReasoningDelta, ReasoningPart))]
    assert reasoning == [ReasoningDelta("The"), ReasoningDelta(" user"),
                         ReasoningPart("The user", protocol="ollama")]


def test_thinking_that_ends_in_text_closes_before_the_text() -> None:
    raw = ndjson(line(content="", thinking="Add"), line(content="", thinking=" them."),
                 line(content="4"), line(done=True, content=""))
    assert decode(raw)[:5] == [ReasoningDelta("Add"), ReasoningDelta(" them."),
                               ReasoningPart("Add them.", protocol="ollama"), "4",
                               TurnEnd("completed", "stop")]


def test_thinking_cut_by_the_last_line_is_still_one_part() -> None:
    raw = ndjson(line(content="", thinking="Hmm"), line(done=True, content=""))
    assert decode(raw)[:3] == [ReasoningDelta("Hmm"), ReasoningPart("Hmm", protocol="ollama"),
                               TurnEnd("completed", "stop")]


def test_thinking_that_is_no_string_is_a_malformed_stream_naming_it() -> None:
    raw = ndjson(line(content="", thinking={"text": "x"}), line(done=True, content=""))
    with pytest.raises(MalformedStreamError, match="message.thinking"):
        decode(raw)


def test_a_whole_answer_keeps_its_thinking_out_of_the_content() -> None:
    data = json.loads(THINKING_TOOLS_ANSWER.read_text())
    message, usage = ollama.parse_response(data, "qwen3.5:35b")
    assert message.content == ""
    assert message.reasoning is not None and len(message.reasoning) == 1
    part = message.reasoning[0]
    assert part.protocol == "ollama" and part.signature is None
    assert part.text.startswith("The user wants me to read two Java files")
    assert "\n\n1. com.chabicht" in part.text
    assert [(c.id, c.parameters["file_name"].rsplit("/", 1)[-1])
            for c in message.tool_calls or []] == [
        ("call_trmym6vj", "OllamaApiClient.java"), ("call_24957ol8", "OpenAiApiClient.java")]
    assert message.stop_reason == "tool_calls"
    assert (usage.prompt_tokens, usage.completion_tokens) == (557, 213)


# -- requests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("reasoning", "think"), [
    ("low", "low"), ("medium", "medium"), ("high", "high"), (4096, True)])
def test_reasoning_becomes_think(reasoning: str | int, think: str | bool,
                                 ollama_request_schema: Callable[[Any], None]) -> None:
    body = ollama.build_request_body(model="gpt-oss", system_prompt="", messages=ASK,
                                     reasoning=reasoning)
    ollama_request_schema(body)
    assert body["think"] == think


@pytest.mark.parametrize("reasoning", ["extreme", 0, True, 1.5])
def test_a_reasoning_setting_ollama_cannot_take_is_refused_before_sending(
        reasoning: Any) -> None:
    with pytest.raises(ValueError, match="reasoning must be one of"):
        ollama.build_request_body(model="qwen3", system_prompt="", messages=ASK,
                                  reasoning=reasoning)


def test_no_reasoning_setting_sends_no_think() -> None:
    assert "think" not in ollama.build_request_body(model="qwen3", system_prompt="",
                                                    messages=ASK)


def test_thinking_goes_back_only_from_ollama_and_only_on_assistant_turns(
        ollama_request_schema: Callable[[Any], None]) -> None:
    call = ToolCall("weather_get", {"city": "Paris"}, id="call_1")
    ours = Message(Role.ASSISTANT, "", tool_calls=[call],
                   reasoning=[ReasoningPart("The", protocol="ollama"),
                              ReasoningPart(" user", protocol="ollama")])
    foreign = Message(Role.ASSISTANT, "Hi", reasoning=[
        ReasoningPart("hidden", signature="c2ln", protocol="anthropic")])
    body = ollama.build_request_body(model="qwen3", system_prompt="", messages=[
        *ASK, ours, Message(Role.TOOL, "", tool_name="weather_get", tool_result="sunny",
                            tool_call_id="call_1"), foreign, Message(Role.USER, "Thanks")])
    ollama_request_schema(body)
    assert body["messages"][1]["thinking"] == "The user"
    assert "thinking" not in body["messages"][3]


def test_a_typed_answer_without_tools_is_constrained_by_format(
        ollama_request_schema: Callable[[Any], None]) -> None:
    schema = output_schema(City)
    output = OutputFormat(schema.name, schema.schema, schema.strict_schema,
                          schema.instructions())
    body = ollama.build_request_body(model="qwen3", system_prompt="Be brief.", messages=ASK,
                                     output=output)
    ollama_request_schema(body)
    assert body["format"] == schema.strict_schema  # the strict variant, when there is one
    # ...and the schema in words too, as Ollama's docs advise
    assert body["messages"][0] == {"role": "system",
                                   "content": f"Be brief.\n\n{schema.instructions()}"}
    plain = output._replace(strict_schema=None)
    assert ollama.build_request_body(model="qwen3", system_prompt="", messages=ASK,
                                     output=plain)["format"] == schema.schema


def test_a_typed_answer_with_tools_is_asked_for_in_words_only() -> None:
    schema = output_schema(City)
    output = OutputFormat(schema.name, schema.schema, schema.strict_schema,
                          schema.instructions())
    body = ollama.build_request_body(model="qwen3", system_prompt="", messages=ASK,
                                     tools=[weather_get.definition], output=output)
    assert "format" not in body
    assert body["messages"][0] == {"role": "system", "content": schema.instructions()}


# -- through HTTP ------------------------------------------------------------------------------


@pytest.fixture
async def provider(wire_server: WireServer) -> AsyncIterator[OllamaProvider]:
    made = OllamaProvider(host=wire_server.url, model="qwen3.5")
    yield made
    await made.aclose()


async def test_an_agent_streams_the_reasoning_and_sends_it_back_on_the_next_turn(
        wire_server: WireServer, provider: OllamaProvider,
        ollama_request_schema: Callable[[Any], None]) -> None:
    wire_server.reply_file(THINKING_TOOLS_STREAM, chunk_size=40)
    wire_server.reply_file(WIRE / "ollama_chat_stream_text.ndjson")
    agent = Agent(tools=[weather_get], provider=provider,
                  config=AgentConfig(reasoning="high"))
    items = [item async for item in agent.astream(ASK[0].content, events=True)]

    result = items[-1]
    assert isinstance(result, AgentResult) and result.content == "The"
    assert [c.content for c in items if isinstance(c, StreamChunk)
            and c.event == "reasoning"] == ["The", " user"]
    # whole calls: the engine makes one delta each, carrying the whole arguments
    deltas = [c.data for c in items if isinstance(c, StreamChunk)
              and c.event == "tool_call_delta"]
    assert [(d["index"], json.loads(d["arguments_delta"])) for d in deltas if d] == [
        (0, {"city": "Paris"}), (1, {"city": "Lyon"})]
    first, second = (request.json for request in wire_server.requests)
    ollama_request_schema(first)
    assert first["think"] == "high" and second["think"] == "high"
    (turn,) = [m for m in second["messages"] if m["role"] == "assistant"]
    assert turn["thinking"] == "The user"
    assert [c["function"]["arguments"] for c in turn["tool_calls"]] == [
        {"city": "Paris"}, {"city": "Lyon"}]
    assert [m for m in second["messages"] if "The user" in json.dumps(m)] == [turn]


async def test_a_whole_answer_where_a_stream_was_asked_keeps_its_reasoning(
        wire_server: WireServer, provider: OllamaProvider) -> None:
    wire_server.reply_file(THINKING_TOOLS_ANSWER)
    items = [i async for i in provider.astream(model="", system_prompt="", messages=ASK)]
    parts = [i for i in items if isinstance(i, ReasoningPart)]
    assert len(parts) == 1 and parts[0].text.endswith("Let me make both function calls now.")
    assert not [i for i in items if isinstance(i, str)]


async def test_acomplete_returns_the_reasoning_on_the_message(
        wire_server: WireServer, provider: OllamaProvider) -> None:
    wire_server.reply_file(THINKING_TOOLS_ANSWER)
    message, _ = await provider.acomplete(model="", system_prompt="", messages=ASK,
                                          reasoning=2048)
    assert message.reasoning and message.reasoning[0].protocol == "ollama"
    assert wire_server.requests[0].json["think"] is True


async def test_a_typed_run_sends_format_and_parses_the_answer(
        wire_server: WireServer, provider: OllamaProvider) -> None:
    answer = '{"name": "Lyon", "country": "France"}'
    wire_server.reply(body=ndjson(line(content=answer[:15]), line(content=answer[15:]),
                                  line(done=True, content="")),
                      content_type="application/x-ndjson")
    agent = Agent(tools=[], provider=provider)
    items = [item async for item in agent.astream("Name a city.", response_format=City,
                                                  events=True)]
    result = items[-1]
    assert isinstance(result, AgentResult) and result.parsed == City(name="Lyon",
                                                                     country="France")
    partials = [c.data for c in items if isinstance(c, StreamChunk)
                and c.event == "output_partial"]
    assert partials and partials[-1] == {"name": "Lyon", "country": "France"}
    body = wire_server.requests[0].json
    assert body["format"] == output_schema(City).strict_schema
    assert "tools" not in body


async def test_a_typed_run_with_tools_sends_no_format_on_any_turn(
        wire_server: WireServer, provider: OllamaProvider) -> None:
    wire_server.reply_file(THINKING_TOOLS_STREAM)
    wire_server.reply(body=ndjson(line(content='{"name": "Paris", "country": "France"}'),
                                  line(done=True, content="")),
                      content_type="application/x-ndjson")
    agent = Agent(tools=[weather_get], provider=provider)
    result = [item async for item in agent.astream("Where is it sunny?",
                                                   response_format=City)][-1]
    assert isinstance(result, AgentResult) and result.parsed == City(name="Paris", country="France")
    for request in wire_server.requests:
        assert "format" not in request.json and request.json["tools"]
        assert output_schema(City).instructions() in request.json["messages"][0]["content"]
