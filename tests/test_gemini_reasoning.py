"""Gemini reasoning, typed output and tool-call deltas: thought parts and thought signatures
on authentic recordings, the second turn that sends them back, thinkingConfig,
responseJsonSchema, and the same through the Agent on the loopback server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from wire_replay import aiter_of, decoded, frames

from selectools.output import output_schema
from selectools.providers._framing import SseEvent
from selectools.providers._gemini_models import EFFORT_BUDGETS, thinking_config
from selectools.providers.base import collect_stream
from selectools.providers.errors import InvalidRequestError, MalformedResponseError
from selectools.providers.gemini import (
    GeminiProvider,
    build_request_body,
    decode_stream,
    error_from_response,
    parse_response,
)
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
KEY = "AIzaSy-test-0123456789-secret"


def recorded_chunks(name: str) -> list[dict[str, Any]]:
    """The JSON of each event of a recorded SSE stream."""
    return [json.loads(event.data) for event in frames((WIRE / name).read_bytes())]


def recorded_parts(name: str) -> list[dict[str, Any]]:
    """Every part of a recording (a stream's parts in arrival order), as Gemini sent it."""
    if name.endswith(".json"):
        return list(json.loads((WIRE / name).read_text())["candidates"][0]["content"]["parts"])
    return [part for chunk in recorded_chunks(name)
            for part in chunk["candidates"][0]["content"]["parts"]]


def decode_file(name: str, model: str = "gemini-2.5-pro") -> list[Any]:
    return decoded(decode_stream, frames((WIRE / name).read_bytes()), model)


def gemini_block(text: str = "", signature: str | None = None) -> ReasoningPart:
    return ReasoningPart(text, signature, None, "gemini")


# --------------------------------------------------------------------------- thought parts

def test_streamed_thought_summaries_are_reasoning_and_never_answer_text() -> None:
    name = "gemini_stream_thought_summaries.sse"
    parts = recorded_parts(name)
    thoughts = [p["text"] for p in parts if p.get("thought")]
    answer = [p["text"] for p in parts if not p.get("thought") and p.get("text")]
    [signature] = [p["thoughtSignature"] for p in parts if "thoughtSignature" in p]
    assert len(thoughts) == 4  # the recording: four summaries, then the answer

    items = decode_file(name)
    # One delta per thought part as it arrives, the block whole when the answer begins,
    # then the answer, whose first part's signature is kept in its place.
    assert items[:4] == [ReasoningDelta(text) for text in thoughts]
    assert items[4] == gemini_block("".join(thoughts))
    assert items[5] == answer[0]
    assert items[6] == gemini_block("", signature)
    assert [i for i in items if isinstance(i, str)] == answer
    assert [i for i in items if isinstance(i, ReasoningPart)] == [
        gemini_block("".join(thoughts)), gemini_block("", signature)]
    end, usage = items[-2:]
    assert end == TurnEnd("completed", "STOP")
    # candidatesTokenCount leaves the thoughts out: prompt + candidates + thoughts is the
    # recorded totalTokenCount, and completion tokens (billed as output) include them.
    assert usage == UsageStats.priced(model="gemini-2.5-pro", provider="gemini",
                                      prompt_tokens=34, completion_tokens=469 + 787,
                                      reasoning_tokens=787)
    assert usage.total_tokens == recorded_chunks(name)[-1]["usageMetadata"]["totalTokenCount"]


def test_a_whole_answer_keeps_its_thought_and_the_text_signature() -> None:
    name = "gemini_generate_content_thought_summary.json"
    thought, text = recorded_parts(name)
    message, usage = parse_response(json.loads((WIRE / name).read_text()), "m")
    assert message.content == text["text"]
    assert thought["text"] not in message.content
    assert message.reasoning == [gemini_block(thought["text"]),
                                 gemini_block("", text["thoughtSignature"])]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens,
            usage.total_tokens) == (29, 736 + 1001, 1001, 1766)
    assert usage.model == "gemini-3-pro-preview"


def test_a_text_signature_in_the_last_chunk_is_kept_after_the_text() -> None:
    name = "gemini_stream_text_signature_in_last_chunk.sse"
    *texts, last = recorded_parts(name)
    assert last["text"] == "" and last["thoughtSignature"]
    items = decode_file(name, "gemini-3-pro-preview")
    assert items[:-2] == [p["text"] for p in texts] + [gemini_block("", last["thoughtSignature"])]
    assert items[-2] == TurnEnd("completed", "STOP")
    assert items[-1].reasoning_tokens == 302


def test_text_then_a_signed_call_keeps_the_signature_on_the_call() -> None:
    name = "gemini_stream_text_then_signed_call.sse"
    text, call_part, _ = recorded_parts(name)
    items = decode_file(name, "gemini-3.1-pro-preview")
    assert items[0] == text["text"]
    call = items[1]
    assert isinstance(call, ToolCall)
    assert (call.id, call.tool_name, call.parameters) == (
        "g1bmv6il", "get_weather", {"city": "San Francisco"})
    assert call.provider_data == {"thoughtSignature": call_part["thoughtSignature"]}
    assert items[2] == TurnEnd("tool_calls", "STOP")
    assert not any(isinstance(i, (ReasoningDelta, ReasoningPart)) for i in items)


def test_a_turn_cut_while_thinking_still_ends_its_block() -> None:
    chunk = {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Weighing the", "thought": True}]}, "finishReason": "MAX_TOKENS"}],
        "usageMetadata": {"promptTokenCount": 5, "thoughtsTokenCount": 3}}
    items = decoded(decode_stream, [SseEvent(None, json.dumps(chunk))], "m")
    assert items[:3] == [ReasoningDelta("Weighing the"), gemini_block("Weighing the"),
                         TurnEnd("length", "MAX_TOKENS")]


def test_a_signature_on_a_thought_part_ends_its_block_and_stays_on_it() -> None:
    # Code Assist streams thought text, then an empty thought part that holds the signature.
    chunks: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [part]}}]} for part in (
            {"text": "Step one. ", "thought": True}, {"text": "Step two.", "thought": True},
            {"text": "", "thought": True, "thoughtSignature": "c2lnLTE="})]
    chunks.append({"candidates": [{"content": {"role": "model", "parts": [{"text": "Done."}]},
                                   "finishReason": "STOP"}]})
    items = decoded(decode_stream, [SseEvent(None, json.dumps(c)) for c in chunks], "m")
    assert items[:4] == [ReasoningDelta("Step one. "), ReasoningDelta("Step two."),
                         gemini_block("Step one. Step two.", "c2lnLTE="), "Done."]


def test_a_signature_that_is_not_text_is_a_clear_error() -> None:
    data = {"candidates": [{"content": {"parts": [{"text": "hi", "thoughtSignature": 7}]},
                            "finishReason": "STOP"}]}
    with pytest.raises(MalformedResponseError, match=r"parts\[0\]\.thoughtSignature"):
        parse_response(data, "m")


# --------------------------------------------------------------------------- the next turn

def test_the_second_turn_sends_the_parts_back_as_they_came() -> None:
    name = "gemini_generate_content_thought_summary.json"
    data = json.loads((WIRE / name).read_text())
    answer, _ = parse_response(data, "gemini-3-pro-preview")
    body = build_request_body(system_prompt=None, model="gemini-3-pro-preview", messages=[
        Message(Role.USER, "How do I cross the street?"), answer, Message(Role.USER, "Thanks")])
    sent = json.dumps(body["contents"][1])
    assert sent == json.dumps({"role": "model", "parts": recorded_parts(name)})


def test_a_stored_conversation_sends_the_same_parts_back() -> None:
    # Sessions keep messages as dicts: the thoughts and signatures survive the trip.
    name = "gemini_generate_content_thought_summary.json"
    answer, _ = parse_response(json.loads((WIRE / name).read_text()), "gemini-3-pro-preview")
    stored = Message.from_dict(json.loads(json.dumps(answer.to_dict())))
    assert stored.reasoning == answer.reasoning
    history = [Message(Role.USER, "How do I cross the street?")]
    assert build_request_body(system_prompt=None, messages=[*history, stored]) == \
        build_request_body(system_prompt=None, messages=[*history, answer])


def test_a_streamed_text_signature_goes_back_on_the_text_part() -> None:
    name = "gemini_stream_text_signature_in_last_chunk.sse"
    *texts, last = recorded_parts(name)
    answer, _ = collect(decode_file(name, "gemini-3-pro-preview"))
    body = build_request_body(system_prompt=None, model="gemini-3-pro-preview",
                              messages=[Message(Role.USER, "r?"), answer])
    # The stream's pieces are one text part, signed as the recording's last part was.
    expected: dict[str, Any] = {"role": "model", "parts": [
        {"text": "".join(p["text"] for p in texts),
         "thoughtSignature": last["thoughtSignature"]}]}
    assert body["contents"][1] == expected


def test_a_signature_without_text_goes_back_on_an_empty_text_part() -> None:
    answer = Message(Role.ASSISTANT, "", reasoning=[gemini_block("", "c2ln")],
                     tool_calls=[ToolCall("now", {}, id="c1", provider_data={
                         "thoughtSignature": "Y2FsbA=="})])
    body = build_request_body(system_prompt=None, model="gemini-3-flash-preview",
                              messages=[Message(Role.USER, "time?"), answer])
    assert body["contents"][1]["parts"] == [
        {"text": "", "thoughtSignature": "c2ln"},
        {"functionCall": {"name": "now", "args": {}, "id": "c1"}, "thoughtSignature": "Y2FsbA=="}]


def test_another_protocols_reasoning_is_never_sent_to_gemini() -> None:
    answer = Message(Role.ASSISTANT, "42", reasoning=[
        ReasoningPart("I think", "anthropic-signature", None, "anthropic"),
        ReasoningPart("", None, "ZW5jcnlwdGVk", "anthropic")])
    body = build_request_body(system_prompt=None, messages=[Message(Role.USER, "?"), answer])
    assert body["contents"][1] == {"role": "model", "parts": [{"text": "42"}]}


def collect(items: list[Any]) -> tuple[Message, UsageStats | None]:
    return asyncio.run(collect_stream(aiter_of(items)))


# --------------------------------------------------------------------------- settings

@pytest.mark.parametrize(("reasoning", "model", "thinking", "max_output"), [
    (4096, "gemini-2.5-flash", {"thinkingBudget": 4096, "includeThoughts": True}, 1000 + 4096),
    (2048, "gemini-3-pro-preview", {"thinkingBudget": 2048, "includeThoughts": True},
     1000 + 2048),
    ("high", "models/gemini-3-pro-preview", {"thinkingLevel": "high", "includeThoughts": True},
     1000),
    ("low", "gemini-3.1-flash-lite", {"thinkingLevel": "low", "includeThoughts": True}, 1000),
    ("medium", "gemini-2.5-pro", {"thinkingBudget": EFFORT_BUDGETS["medium"],
                                  "includeThoughts": True}, 1000 + EFFORT_BUDGETS["medium"]),
])
def test_reasoning_becomes_thinking_config(reasoning: str | int, model: str,
                                           thinking: dict[str, Any], max_output: int) -> None:
    body = build_request_body(system_prompt=None, messages=[Message(Role.USER, "?")],
                              model=model, reasoning=reasoning)
    # Thinking counts against maxOutputTokens: a budget is added, so the answer keeps
    # the max_tokens asked for.
    assert body["generationConfig"] == {"maxOutputTokens": max_output, "thinkingConfig": thinking}


def test_no_reasoning_setting_sends_no_thinking_config() -> None:
    body = build_request_body(system_prompt=None, messages=[Message(Role.USER, "?")],
                              model="gemini-3-pro-preview")
    assert body["generationConfig"] == {"maxOutputTokens": 1000}


def test_an_unknown_effort_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="reasoning must be one of"):
        thinking_config("extreme", "gemini-3-pro-preview")


class CityLocation(BaseModel):
    city: str
    country: str


def city_format() -> OutputFormat:
    output = output_schema(CityLocation)
    return OutputFormat(output.name, output.schema, output.strict_schema, output.instructions())


def test_a_typed_answer_is_response_json_schema_strict_first() -> None:
    output = city_format()
    body = build_request_body(system_prompt="Be brief.", messages=[Message(Role.USER, "?")],
                              output=output)
    assert body["generationConfig"] == {
        "maxOutputTokens": 1000, "responseMimeType": "application/json",
        "responseJsonSchema": output.strict_schema}
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    plain = output._replace(strict_schema=None)
    body = build_request_body(system_prompt=None, messages=[Message(Role.USER, "?")],
                              output=plain)
    assert body["generationConfig"]["responseJsonSchema"] == output.schema


def test_gemini_2_5_refuses_json_output_beside_tools_so_it_is_asked_in_words() -> None:
    status, body = 400, (WIRE / "gemini_error_400_json_output_with_function_calling.json")
    error = error_from_response(status, {}, body.read_bytes())
    assert isinstance(error, InvalidRequestError) and "unsupported" in error.message

    output, tools = city_format(), [_weather()]
    older = build_request_body(system_prompt="Be brief.", messages=[Message(Role.USER, "?")],
                               tools=tools, output=output, model="gemini-2.5-flash")
    assert "responseMimeType" not in older["generationConfig"]
    assert older["systemInstruction"] == {
        "parts": [{"text": f"Be brief.\n\n{output.instructions}"}]}
    newer = build_request_body(system_prompt="Be brief.", messages=[Message(Role.USER, "?")],
                               tools=tools, output=output, model="gemini-3-flash-preview")
    assert newer["generationConfig"]["responseJsonSchema"] == output.strict_schema
    assert newer["systemInstruction"] == {"parts": [{"text": "Be brief."}]}


def test_any_provider_of_the_protocol_asks_gemini_2_5_in_words_beside_tools() -> None:
    # The decision is the protocol's (it knows whether tools go with the request), so an
    # HttpProvider made from gemini.PROTOCOL directly decides it the same way.
    from selectools.providers import gemini
    from selectools.providers._http_provider import HttpProvider

    provider = HttpProvider(gemini.PROTOCOL, api_key="k", base_url="http://127.0.0.1:9")
    output, messages = city_format(), [Message(Role.USER, "?")]
    request = provider.build_request(model="gemini-2.5-flash", system_prompt="Be brief.",
                                     messages=messages, tools=[_weather()], temperature=None,
                                     max_tokens=100, stream=False, output=output)
    assert "responseMimeType" not in request.body["generationConfig"]
    assert output.instructions in request.body["systemInstruction"]["parts"][0]["text"]
    alone = provider.build_request(model="gemini-2.5-flash", system_prompt="Be brief.",
                                   messages=messages, tools=None, temperature=None,
                                   max_tokens=100, stream=False, output=output)
    assert alone.body["generationConfig"]["responseJsonSchema"] == output.strict_schema


def _weather() -> Any:
    from selectools.types import ToolDefinition

    return ToolDefinition("get_weather", "Weather in a city", {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


# --------------------------------------------------------------------------- through the agent

@pytest.fixture
def provider(wire_server: Any) -> Iterator[GeminiProvider]:
    provider = GeminiProvider(api_key=KEY, base_url=wire_server.url, max_retries=0)
    yield provider
    provider.close()


async def test_agent_streams_reasoning_events_and_sends_the_thoughts_back(
        wire_server: Any, provider: GeminiProvider) -> None:
    from selectools import Agent, AgentConfig
    from selectools.memory import ConversationMemory

    name = "gemini_stream_thought_summaries.sse"
    parts = recorded_parts(name)
    thoughts = [p["text"] for p in parts if p.get("thought")]
    answer = "".join(p["text"] for p in parts if not p.get("thought") and p.get("text"))
    [signature] = [p["thoughtSignature"] for p in parts if "thoughtSignature" in p]
    wire_server.reply_file(WIRE / name, chunk_size=200)
    wire_server.reply_file(WIRE / "gemini_stream_text_signature_in_last_chunk.sse")
    agent = Agent(tools=[], provider=provider, memory=ConversationMemory(),
                  config=AgentConfig(model="gemini-2.5-pro", reasoning=2048))

    items = [item async for item in agent.astream("How do I cross the street?", events=True)]
    reasoning = [i.content for i in items if isinstance(i, StreamChunk) and i.event == "reasoning"]
    assert reasoning == thoughts
    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.content == answer
    assert result.usage is not None and result.usage.reasoning_tokens == 787
    first = wire_server.requests[0].json
    assert first["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 2048,
                                                           "includeThoughts": True}

    async for _ in agent.astream("And at night?"):
        pass
    await provider.aclose()
    second = wire_server.requests[1].json
    assert second["contents"][1] == {"role": "model", "parts": [
        {"text": "".join(thoughts), "thought": True},
        {"text": answer, "thoughtSignature": signature}]}


async def test_agent_gets_a_tool_call_delta_per_gemini_call_before_the_call(
        wire_server: Any, provider: GeminiProvider) -> None:
    from selectools import Agent, tool

    @tool(description="Weather in a city")
    def get_weather(city: str) -> str:
        return f"Sunny in {city}"

    name = "gemini_stream_text_then_signed_call.sse"
    text, call_part, _ = recorded_parts(name)
    wire_server.reply_file(WIRE / name, chunk_size=100)
    wire_server.reply_file(WIRE / "gemini_stream_text_after_function_response.sse")
    agent = Agent(tools=[get_weather], provider=provider)
    items = [item async for item in agent.astream("Weather in SF?", events=True)]
    await provider.aclose()

    chunks = [i for i in items if isinstance(i, StreamChunk)]
    [delta_at] = [n for n, c in enumerate(chunks) if c.event == "tool_call_delta"]
    [call_at] = [n for n, c in enumerate(chunks) if c.tool_calls]
    assert delta_at < call_at
    delta = chunks[delta_at].data
    assert delta is not None
    assert (delta["index"], delta["call_id"], delta["tool_name"]) == (0, "g1bmv6il",
                                                                      "get_weather")
    assert json.loads(delta["arguments_delta"]) == call_part["functionCall"]["args"]
    # The call goes back on the next turn byte for byte as it came, after the text.
    second = wire_server.requests[1].json
    assert json.dumps(second["contents"][1]) == json.dumps(
        {"role": "model", "parts": [text, call_part]})


async def test_agent_typed_answer_is_constrained_natively(wire_server: Any,
                                                          provider: GeminiProvider) -> None:
    from selectools import Agent, AgentConfig

    wire_server.reply_file(WIRE / "gemini_generate_content_json_output.json")
    agent = Agent(tools=[], provider=provider,
                  config=AgentConfig(system_prompt="Answer briefly."))
    result = await agent.arun("What is the largest city in Mexico?",
                              response_format=CityLocation)
    await provider.aclose()
    assert result.parsed == CityLocation(city="Mexico City", country="Mexico")
    assert result.structured_status == "ok"
    request = wire_server.requests[0].json
    output = output_schema(CityLocation)
    assert request["generationConfig"]["responseMimeType"] == "application/json"
    assert request["generationConfig"]["responseJsonSchema"] == (
        output.strict_schema if output.strict_schema is not None else output.schema)
    assert request["systemInstruction"] == {"parts": [{"text": "Answer briefly."}]}


async def test_agent_with_tools_on_gemini_2_5_asks_for_the_typed_answer_in_words(
        wire_server: Any, provider: GeminiProvider) -> None:
    from selectools import Agent, AgentConfig, tool

    @tool(description="The user's country")
    def get_country() -> str:
        return "Mexico"

    wire_server.reply_file(WIRE / "gemini_generate_content_json_output.json")
    agent = Agent(tools=[get_country], provider=provider,
                  config=AgentConfig(system_prompt="Answer briefly."))
    result = await agent.arun("Largest city in my country?", response_format=CityLocation)
    await provider.aclose()
    assert result.parsed == CityLocation(city="Mexico City", country="Mexico")
    request = wire_server.requests[0].json
    assert "responseMimeType" not in request["generationConfig"]
    assert request["tools"]
    instructions = output_schema(CityLocation).instructions()
    assert request["systemInstruction"] == {
        "parts": [{"text": f"Answer briefly.\n\n{instructions}"}]}


async def test_agent_streams_a_typed_answer_constrained_beside_tools_on_gemini_3(
        wire_server: Any, provider: GeminiProvider) -> None:
    from selectools import Agent, AgentConfig, tool

    @tool(description="Weather in a city")
    def get_weather(city: str) -> str:
        return f"Sunny in {city}"

    wire_server.reply_file(WIRE / "gemini_stream_text_then_signed_call.sse", chunk_size=100)
    wire_server.reply_file(WIRE / "gemini_stream_json_output.sse", chunk_size=50)
    agent = Agent(tools=[get_weather], provider=provider,
                  config=AgentConfig(model="gemini-3-flash-preview"))
    items = [item async for item in agent.astream("Largest city in Mexico?",
                                                  response_format=CityLocation, events=True)]
    await provider.aclose()

    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.parsed == CityLocation(city="Mexico City", country="Mexico")
    partials = [i.data for i in items if isinstance(i, StreamChunk) and i.event == "output_partial"]
    assert partials and partials[-1] == {"city": "Mexico City", "country": "Mexico"}
    output = output_schema(CityLocation)
    for request in wire_server.requests:  # Gemini 3 takes the schema beside the tools
        assert request.json["tools"]
        assert request.json["generationConfig"]["responseJsonSchema"] == (
            output.strict_schema if output.strict_schema is not None else output.schema)
        [system] = request.json["systemInstruction"]["parts"]
        assert output.instructions() not in system["text"]
