"""Review s15 (a broken or hostile model server), through real HTTP on 127.0.0.1: what
a stream sends after its turn ended never runs a tool; a later stop reason cannot undo a
turn cut by max_tokens; counts, error details and parts of odd shapes are typed errors
or kept, never a stray exception or lost text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from wire_replay import WIRES
from wire_server import WireServer

from selectools import Agent, AgentConfig, tool
from selectools.providers.errors import MalformedResponseError, OverloadedError
from selectools.providers.fallback import FallbackProvider
from selectools.testing import ScriptedProvider
from selectools.types import AgentResult, Message, Role

ASK = [Message(Role.USER, "Weather in Paris?")]


@pytest.fixture
def server() -> Iterator[WireServer]:
    with WireServer() as running:
        yield running


def sse(*events: Any, named: bool = False) -> str:
    """SSE blocks of JSON objects (or raw strings); `named`: Anthropic's `event:` lines."""
    blocks = []
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        name = f"event: {event['type']}\n" if named and isinstance(event, dict) else ""
        blocks.append(f"{name}data: {data}\n\n")
    return "".join(blocks)


def weather_agent(provider: Any, ran: list[str]) -> Agent:
    @tool(description="The weather in a city")
    def get_weather(city: str) -> str:
        ran.append(city)
        return f"sunny in {city}"

    return Agent(tools=[get_weather], provider=provider, config=AgentConfig(max_iterations=3))


OPENAI_CALL = {"choices": [{"index": 0, "delta": {"tool_calls": [{
    "index": 0, "id": "c1", "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}}]}
OPENAI_FINISH = {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
OPENAI_STOP = {"choices": [{"index": 0, "delta": {"content": "Done."},
                            "finish_reason": "stop"}]}

ANTHROPIC_CALL = [
    {"type": "content_block_start", "index": 0, "content_block": {
        "type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}},
    {"type": "content_block_delta", "index": 0, "delta": {
        "type": "input_json_delta", "partial_json": '{"city": "Paris"}'}},
    {"type": "content_block_stop", "index": 0}]
ANTHROPIC_START = {"type": "message_start", "message": {
    "model": "m", "usage": {"input_tokens": 3, "output_tokens": 1}}}


def anthropic_turn(reason: str, *blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [ANTHROPIC_START, *blocks,
            {"type": "message_delta", "delta": {"stop_reason": reason},
             "usage": {"output_tokens": 5}}, {"type": "message_stop"}]


ANTHROPIC_TEXT = [
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Done."}},
    {"type": "content_block_stop", "index": 0}]

GEMINI_CALL = {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {
    "id": "g1", "name": "get_weather", "args": {"city": "Paris"}}}]}, "finishReason": "STOP"}]}
GEMINI_TEXT = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Done."}]},
                               "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}}

#: Per protocol: (a turn that calls get_weather, then the same call sent again after the
#: turn's end; a plain answer, then a call sent after its end; the final answer).
AFTER_THE_END = {
    "openai": (sse(OPENAI_CALL, OPENAI_FINISH, OPENAI_CALL, OPENAI_FINISH, "[DONE]"),
               sse(OPENAI_STOP, OPENAI_CALL, OPENAI_FINISH, "[DONE]"),
               sse(OPENAI_STOP, "[DONE]")),
    "anthropic": (sse(*anthropic_turn("tool_use", *ANTHROPIC_CALL), *ANTHROPIC_CALL,
                      named=True),
                  sse(*anthropic_turn("end_turn", *ANTHROPIC_TEXT), *ANTHROPIC_CALL,
                      {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
                      named=True),
                  sse(*anthropic_turn("end_turn", *ANTHROPIC_TEXT), named=True)),
    "gemini": (sse(GEMINI_CALL, GEMINI_CALL), sse(GEMINI_TEXT, GEMINI_CALL),
               sse(GEMINI_TEXT)),
}


@pytest.mark.parametrize("protocol", list(AFTER_THE_END))
async def test_a_call_sent_again_after_the_turn_ended_runs_once(
        server: WireServer, protocol: str) -> None:
    repeated, _, final = AFTER_THE_END[protocol]
    server.reply(body=repeated, content_type="text/event-stream")
    server.reply(body=final, content_type="text/event-stream")
    ran: list[str] = []
    agent = weather_agent(WIRES[protocol].provider(server.url), ran)
    text = "".join([item.content async for item in agent.astream("Weather in Paris?")
                    if hasattr(item, "content") and type(item).__name__ == "StreamChunk"])
    assert ran == ["Paris"]
    assert text.endswith("Done.")


@pytest.mark.parametrize("protocol", list(AFTER_THE_END))
async def test_a_call_sent_after_a_plain_answer_ended_never_runs(
        server: WireServer, protocol: str) -> None:
    _, answer_then_call, _ = AFTER_THE_END[protocol]
    server.reply(body=answer_then_call, content_type="text/event-stream")
    ran: list[str] = []
    agent = weather_agent(WIRES[protocol].provider(server.url), ran)
    chunks = [item async for item in agent.astream("Weather in Paris?")]
    assert ran == []
    result = chunks[-1]
    assert isinstance(result, AgentResult)
    assert result.content == "Done." and result.stop_reason == "completed"
    assert len(server.requests) == 1


async def test_a_turn_cut_by_max_tokens_stays_cut_whatever_a_later_reason_says(
        server: WireServer) -> None:
    events = [ANTHROPIC_START, *ANTHROPIC_CALL,
              {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}},
              {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
              {"type": "message_stop"}]
    server.reply(body=sse(*events, named=True), content_type="text/event-stream")
    ran: list[str] = []
    agent = weather_agent(WIRES["anthropic"].provider(server.url), ran)
    chunks = [item async for item in agent.astream("Weather?")]
    assert ran == [] and isinstance(chunks[-1], AgentResult)
    assert chunks[-1].stop_reason == "length"


@pytest.mark.parametrize("protocol, usage", [
    ("openai", {"prompt_tokens": 10**400, "completion_tokens": 1}),
    ("gemini", {"promptTokenCount": 10**400, "candidatesTokenCount": 1}),
    ("anthropic", {"input_tokens": 2**60, "output_tokens": 1}),
])
async def test_a_token_count_past_any_real_one_is_a_malformed_answer(
        server: WireServer, protocol: str, usage: dict[str, Any]) -> None:
    body = WIRES[protocol].whole()
    body["usageMetadata" if protocol == "gemini" else "usage"] = usage
    server.reply(body=json.dumps(body))
    with pytest.raises(MalformedResponseError, match="not a token count"):
        await WIRES[protocol].provider(server.url, key="sk-test-s15").acomplete(
            model="m", system_prompt="", messages=ASK, tools=None)


async def test_a_gemini_overload_with_odd_details_still_fails_over(server: WireServer) -> None:
    server.reply(status=503, body={"error": {"code": 503, "message": "overloaded",
                                             "status": "UNAVAILABLE", "details": 5}})
    gemini = WIRES["gemini"].provider(server.url)
    with pytest.raises(OverloadedError):
        await gemini.acomplete(model="m", system_prompt="", messages=ASK, tools=None)
    server.reply(status=503, body={"error": {"code": 503, "message": "overloaded",
                                             "status": "UNAVAILABLE", "details": 5}})
    backup = ScriptedProvider(["from the backup"])
    result = await Agent(tools=[], provider=FallbackProvider([gemini, backup])).arun("hi")
    assert result.content == "from the backup"


@pytest.mark.parametrize("protocol, raw", [
    ("gemini", sse({"candidates": [{"content": {"parts": [{
        "text": "I'll look. ", "functionCall": {"name": "get_weather", "args": {
            "city": "Paris"}}}]}, "finishReason": "STOP"}]})),
])
async def test_text_beside_a_call_in_one_part_loses_neither(
        server: WireServer, protocol: str, raw: str) -> None:
    server.reply(body=raw, content_type="text/event-stream")
    server.reply(body=sse(GEMINI_TEXT), content_type="text/event-stream")
    ran: list[str] = []
    agent = weather_agent(WIRES[protocol].provider(server.url), ran)
    chunks = [item async for item in agent.astream("Weather?")]
    shown = "".join(c.content for c in chunks[:-1] if type(c).__name__ == "StreamChunk")
    assert ran == ["Paris"] and shown.startswith("I'll look. ")


@pytest.mark.parametrize("protocol, raw", [
    ("anthropic", sse(ANTHROPIC_START, {"type": "content_block_delta", "index": 0, "delta": {
        "type": "text_delta", "text": "Kept text."}}, {"type": "message_delta", "delta": {
            "stop_reason": "end_turn"}}, {"type": "message_stop"}, named=True)),
    ("openai", sse({"choices": [{"index": None, "delta": {"content": "Kept text."}}]},
                   {"choices": [{"index": None, "delta": {}, "finish_reason": "stop"}]},
                   "[DONE]")),
])
async def test_text_of_an_unopened_block_or_a_null_index_is_kept(
        server: WireServer, protocol: str, raw: str) -> None:
    server.reply(body=raw, content_type="text/event-stream")
    chunks = [item async for item in weather_agent(
        WIRES[protocol].provider(server.url), []).astream("Hi")]
    assert chunks[-1].content == "Kept text."
