"""Issue 13 on the OpenAI protocol, end to end: an Agent over real HTTP on 127.0.0.1 (the
WireServer replays recorded DeepSeek and OpenRouter streams), asserting what a user
interface gets from `astream(events=True)` and what the next request carries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from partial_values import extends as grows_into
from pydantic import BaseModel
from wire_server import WireServer

from selectools import Agent, AgentConfig, AgentResult, ConversationMemory, StreamChunk
from selectools.providers.openai import OpenAIProvider
from selectools.tools import tool
from selectools.types import Message, ReasoningDelta, ReasoningPart, Role

WIRE = Path(__file__).parent / "fixtures" / "wire"
DEEPSEEK_STREAM = WIRE / "openai_chat_stream_deepseek_reasoning_tool_call.sse"
TEXT_STREAM = WIRE / "openai_chat_stream_text_after_tool_result.sse"
OPENROUTER_STREAM = WIRE / "openai_chat_stream_openrouter_reasoning_details.sse"
INSTRUCTIONS_START = "Reply with a single JSON value"


def recorded_deltas(path: Path) -> list[dict[str, Any]]:
    return [choice["delta"] for line in path.read_text().splitlines()
            if line.startswith("data: {") for choice in json.loads(line[6:])["choices"]]


def recorded_reasoning(path: Path, field: str) -> str:
    return "".join(delta.get(field) or "" for delta in recorded_deltas(path))


def recorded_arguments(path: Path) -> str:
    return "".join(fragment["function"].get("arguments") or ""
                   for delta in recorded_deltas(path) for fragment in delta.get("tool_calls") or ())


@pytest.fixture
async def provider(wire_server: WireServer) -> AsyncIterator[OpenAIProvider]:
    made = OpenAIProvider(base_url=wire_server.url + "/v1", model="deepseek-reasoner",
                          max_retries=0, timeout=10)
    yield made
    await made.aclose()


async def streamed(agent: Agent, prompt: str, response_format: Any = None, *,
                   events: bool = True) -> tuple[AgentResult, list[StreamChunk]]:
    chunks: list[StreamChunk] = []
    async for item in agent.astream(prompt, response_format, events=events):
        if isinstance(item, AgentResult):
            return item, chunks
        chunks.append(item)
    raise AssertionError("the stream ended without a result")


def events_named(chunks: list[StreamChunk], name: str) -> list[StreamChunk]:
    return [chunk for chunk in chunks if chunk.event == name]


def after_assistant(request: Any) -> list[dict[str, Any]]:
    """A request's messages from its first assistant message on."""
    messages = request.json["messages"]
    return messages[[m["role"] for m in messages].index("assistant"):]


def chunk_stream(*deltas: dict[str, Any], finish: str = "stop") -> bytes:
    """A Chat Completions stream of these deltas (for answers no recording has)."""
    ends: list[str | None] = [None] * len(deltas)
    chunks: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": delta, "finish_reason": end}]}
        for delta, end in zip([*deltas, {}], [*ends, finish], strict=True)]
    return "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks).encode() + \
        b"data: [DONE]\n\n"


def text_stream(text: str, step: int = 3) -> bytes:
    return chunk_stream(*({"content": text[i:i + step]} for i in range(0, len(text), step)))


def whole_answer(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 5}}


# -- reasoning and argument deltas, through the engine ------------------------------------------


@pytest.mark.parametrize("events", [True, False], ids=["events", "plain"])
async def test_deepseek_reasoning_and_argument_deltas_reach_the_ui_and_go_back(
        wire_server: WireServer, provider: OpenAIProvider, events: bool) -> None:
    ran: list[str] = []

    @tool(description="The weather in a place")
    def weather(location: str) -> str:
        ran.append(location)
        return "sunny, 18 C"

    wire_server.reply_file(DEEPSEEK_STREAM, chunk_size=97)
    wire_server.reply_file(TEXT_STREAM, chunk_size=97)
    agent = Agent(tools=[weather], provider=provider)
    result, chunks = await streamed(agent, "What is the weather in San Francisco?",
                                    events=events)

    reasoning = recorded_reasoning(DEEPSEEK_STREAM, "reasoning_content")
    assert reasoning.startswith("The user is asking for the weather")
    fragments = events_named(chunks, "tool_call_delta")
    if events:
        assert "".join(chunk.content for chunk in events_named(chunks, "reasoning")) == reasoning
        assert len(fragments) == 10  # as they came, not once the call was whole
        assert "".join(f.data["arguments_delta"] for f in fragments) == \
            recorded_arguments(DEEPSEEK_STREAM) == '{"location": "San Francisco"}'
        assert {(f.data["index"], f.data["call_id"], f.data["tool_name"]) for f in fragments} \
            == {(0, "call_00_ioIn7yN9p1ZOMNpDLwd4MgAF", "weather")}
        start = events_named(chunks, "tool_start")[0]
        assert chunks.index(fragments[-1]) < chunks.index(start)
    else:
        assert not events_named(chunks, "reasoning") and not fragments
    assert ran == ["San Francisco"]
    assert result.content == "The capital of the UK is London."
    text = "".join(chunk.content for chunk in chunks if chunk.event is None)
    assert reasoning not in text and reasoning not in result.content
    assert result.usage is not None and result.usage.reasoning_tokens == 39

    # The second request carries the reasoning back on the assistant message that called
    # the tool, as DeepSeek's thinking mode requires.
    first, second = wire_server.requests
    assert "tool_deltas" not in first.json and "reasoning_effort" not in first.json
    assistant, tool_result = after_assistant(second)
    assert assistant["reasoning_content"] == reasoning
    assert assistant["tool_calls"][0]["id"] == "call_00_ioIn7yN9p1ZOMNpDLwd4MgAF"
    assert tool_result == {"role": "tool", "tool_call_id": "call_00_ioIn7yN9p1ZOMNpDLwd4MgAF",
                           "content": "sunny, 18 C"}


async def test_openrouter_reasoning_details_go_back_on_the_next_question(
        wire_server: WireServer, provider: OpenAIProvider) -> None:
    wire_server.reply_file(OPENROUTER_STREAM, chunk_size=128)
    wire_server.reply(body=text_stream("Yes: 4."), content_type="text/event-stream")
    agent = Agent(tools=[], provider=provider, memory=ConversationMemory())
    result, chunks = await streamed(agent, "What is 2+2?")
    text = "This is a simple arithmetic question. 2+2 equals 4."
    assert "".join(chunk.content for chunk in events_named(chunks, "reasoning")) == text
    assert result.content == "2 + 2 = 4"
    assert result.message.reasoning is not None
    assert [part.text for part in result.message.reasoning] == [text]

    await streamed(agent, "Are you sure?")
    assistant, question = after_assistant(wire_server.requests[1])
    assert assistant["content"] == "2 + 2 = 4" and question["content"] == "Are you sure?"
    (detail,) = assistant["reasoning_details"]
    assert detail["type"] == "reasoning.text" and detail["text"] == text
    assert detail["signature"].startswith("Et0BCkgIChACGAIqQA2s7h7t")  # as recorded


async def test_whole_answers_keep_reasoning_through_the_provider(
        wire_server: WireServer, provider: OpenAIProvider) -> None:
    data = json.loads((WIRE / "openai_chat_deepseek_reasoning.json").read_text())
    wire_server.reply(body=data)
    wire_server.reply(body=data)  # to a stream request: decoded as that answer
    message, usage = await provider.acomplete(messages=[Message(Role.USER, "r's?")])
    recorded = data["choices"][0]["message"]
    assert message.content == recorded["content"] and usage.reasoning_tokens == 315
    assert message.reasoning == [ReasoningPart(recorded["reasoning_content"],
                                               '{"model": "deepseek-reasoner"}', None, "openai")]
    items = [item async for item in provider.astream(messages=[Message(Role.USER, "r's?")])]
    assert items[:2] == [ReasoningDelta(recorded["reasoning_content"]), message.reasoning[0]]
    assert items[2] == recorded["content"]


@pytest.mark.parametrize(("setting", "effort"), [("high", "high"), (2048, "medium")])
async def test_the_reasoning_setting_is_sent_as_reasoning_effort(
        wire_server: WireServer, provider: OpenAIProvider, setting: str | int,
        effort: str) -> None:
    wire_server.reply(body=whole_answer("Hi"))
    agent = Agent(tools=[], provider=provider, config=AgentConfig(reasoning=setting))  # type: ignore[arg-type]
    assert (await agent.arun("hi")).content == "Hi"
    assert wire_server.requests[0].json["reasoning_effort"] == effort


# -- native typed output -----------------------------------------------------------------------


class City(BaseModel):
    name: str
    population: int


async def test_typed_output_is_constrained_natively_and_validated(
        wire_server: WireServer, provider: OpenAIProvider) -> None:
    wire_server.reply(body=whole_answer('{"name": "Paris", "population": 2100000}'))
    agent = Agent(tools=[], provider=provider, config=AgentConfig(system_prompt="Be exact."))
    result = await agent.arun("The capital of France?", response_format=City)
    assert result.structured_status == "ok"
    assert result.parsed == City(name="Paris", population=2100000)
    body = wire_server.requests[0].json
    constraint = body["response_format"]
    assert constraint["type"] == "json_schema" and constraint["json_schema"]["strict"] is True
    assert constraint["json_schema"]["name"] == "City"
    assert set(constraint["json_schema"]["schema"]["properties"]) == {"name", "population"}
    system = body["messages"][0]
    assert system["role"] == "system" and INSTRUCTIONS_START not in system["content"]


async def test_a_wrapped_strict_root_is_unwrapped_whole_and_while_it_streams(
        wire_server: WireServer, provider: OpenAIProvider) -> None:
    answer = '{"value": [2, 3, 5, 7]}'
    wire_server.reply(body=whole_answer(answer))
    wire_server.reply(body=text_stream(answer), content_type="text/event-stream")
    agent = Agent(tools=[], provider=provider)

    result = await agent.arun("The first primes?", response_format=list[int])
    assert result.structured_status == "ok" and result.parsed == [2, 3, 5, 7]
    schema = wire_server.requests[0].json["response_format"]["json_schema"]["schema"]
    assert schema["type"] == "object" and schema["required"] == ["value"]

    result, chunks = await streamed(agent, "The first primes?", list[int])
    assert result.parsed == [2, 3, 5, 7]
    partials = [list(chunk.data) for chunk in events_named(chunks, "output_partial")]
    assert partials and partials[-1] == [2, 3, 5, 7]
    assert all(type(value) is list for value in partials)  # never the wrapper itself
    assert all(grows_into(earlier, later)
               for earlier, later in zip(partials, partials[1:], strict=False))


async def test_typed_output_and_tools_go_in_the_same_requests(
        wire_server: WireServer, provider: OpenAIProvider) -> None:
    @tool(description="The population of a city")
    def population(city: str) -> int:
        return 2100000

    wire_server.reply(body=chunk_stream({"tool_calls": [{
        "index": 0, "id": "call_1", "type": "function",
        "function": {"name": "population", "arguments": '{"city": "Paris"}'}}]},
        finish="tool_calls"), content_type="text/event-stream")
    wire_server.reply(body=text_stream('{"name": "Paris", "population": 2100000}'),
                      content_type="text/event-stream")
    agent = Agent(tools=[population], provider=provider)
    result, chunks = await streamed(agent, "How many live in Paris?", City)
    assert result.parsed == City(name="Paris", population=2100000)
    assert [chunk.data for chunk in events_named(chunks, "tool_call_delta")] == [
        {"index": 0, "call_id": "call_1", "tool_name": "population",
         "arguments_delta": '{"city": "Paris"}'}]
    for request in wire_server.requests:
        assert request.json["response_format"]["json_schema"]["name"] == "City"
        assert request.json["tools"][0]["function"]["name"] == "population"


async def test_a_tool_call_written_in_the_reasoning_is_never_run(
        wire_server: WireServer, provider: OpenAIProvider) -> None:
    ran: list[str] = []

    @tool(description="Delete a file")
    def delete(path: str) -> str:
        ran.append(path)
        return "deleted"

    written = '{"tool_name": "delete", "parameters": {"path": "/etc/passwd"}}'
    wire_server.reply(body=chunk_stream({"reasoning_content": "I could call " + written},
                                        {"content": "I will not delete anything."}),
                      content_type="text/event-stream")
    agent = Agent(tools=[delete], provider=provider)
    result, chunks = await streamed(agent, "Clean up")
    assert ran == [] and not events_named(chunks, "tool_start")
    assert result.content == "I will not delete anything."
    assert "".join(c.content for c in events_named(chunks, "reasoning")).endswith(written)
