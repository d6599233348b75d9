"""Anthropic thinking, tool-call argument deltas and typed output: the decoder on authentic
recordings, the second turn that sends the thinking back, the reasoning setting and
output_config per model, then the provider and the Agent on the loopback server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from partial_values import extends
from pydantic import BaseModel, Field
from wire_replay import aiter_of, frames

from selectools.output import output_schema
from selectools.providers._anthropic_models import (
    EFFORT_BUDGETS,
    claude_version,
    constrainable_schema,
)
from selectools.providers.anthropic import (
    AnthropicProvider,
    build_request_body,
    decode_stream,
    parse_response,
)
from selectools.providers.base import collect_stream
from selectools.types import (
    RAW_ARGUMENTS_KEY,
    AgentResult,
    Message,
    OutputFormat,
    ReasoningDelta,
    ReasoningPart,
    Role,
    StreamChunk,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    TurnEnd,
)
from selectools.usage import UsageStats

WIRE = Path(__file__).parent / "fixtures" / "wire"
KEY = "sk-ant-test-0123456789-secret"
TWO_TURNS = json.loads((WIRE / "anthropic_thinking_tool_use_two_turns.json").read_text())


def recorded_events(name: str) -> list[dict[str, Any]]:
    """The JSON of each event of a recorded SSE stream, as Anthropic sent it."""
    return [json.loads(event.data) for event in frames((WIRE / name).read_bytes())]


def recorded_deltas(name: str, kind: str) -> list[str]:
    """The values of every content_block_delta of `kind` in a recording, in order."""
    field = {"thinking_delta": "thinking", "signature_delta": "signature",
             "input_json_delta": "partial_json", "text_delta": "text"}[kind]
    return [e["delta"][field] for e in recorded_events(name)
            if e["type"] == "content_block_delta" and e["delta"]["type"] == kind]


async def adecode(data: bytes, *, tool_deltas: bool = False) -> list[Any]:
    stream = decode_stream(aiter_of(frames(data)), "claude-sonnet-4-0", tool_deltas=tool_deltas)
    return [item async for item in stream]


def decode(data: bytes, *, tool_deltas: bool = False) -> list[Any]:
    return asyncio.run(adecode(data, tool_deltas=tool_deltas))


def decode_file(name: str, *, tool_deltas: bool = False) -> list[Any]:
    return decode((WIRE / name).read_bytes(), tool_deltas=tool_deltas)


def of_type(items: list[Any], kind: type) -> list[Any]:
    return [item for item in items if isinstance(item, kind)]


def text_of(items: list[Any]) -> str:
    return "".join(item for item in items if isinstance(item, str))


# --------------------------------------------------------------------------- stream decoding

def test_thinking_streams_as_deltas_then_one_part_with_its_signature() -> None:
    name = "anthropic_thinking_stream_recorded.sse"
    items = decode_file(name)
    deltas = of_type(items, ReasoningDelta)
    [part] = of_type(items, ReasoningPart)
    [signature] = recorded_deltas(name, "signature_delta")
    thinking = "".join(recorded_deltas(name, "thinking_delta"))
    assert [d.text for d in deltas] == [t for t in recorded_deltas(name, "thinking_delta") if t]
    assert part == ReasoningPart(thinking, signature, None, "anthropic")
    assert thinking.startswith("This is a straightforward question about pedestrian safety")
    # The block ends before the answer starts; the answer holds none of the thinking.
    assert items.index(part) < next(n for n, i in enumerate(items) if isinstance(i, str))
    assert text_of(items) == "".join(recorded_deltas(name, "text_delta"))
    assert thinking not in text_of(items)
    assert items[-2] == TurnEnd("completed", "end_turn")


def test_redacted_thinking_streams_as_redacted_parts_with_nothing_to_show() -> None:
    name = "anthropic_redacted_thinking_stream_recorded.sse"
    items = decode_file(name)
    recorded = [e["content_block"]["data"] for e in recorded_events(name)
                if e["type"] == "content_block_start"
                and e["content_block"]["type"] == "redacted_thinking"]
    assert len(recorded) == 2
    assert of_type(items, ReasoningPart) == [ReasoningPart("", None, data, "anthropic")
                                             for data in recorded]
    assert of_type(items, ReasoningDelta) == []
    assert text_of(items).startswith("I notice that you've sent what appears to be some")


def test_adaptive_thinking_without_a_display_is_a_signature_and_a_count() -> None:
    items = decode_file("anthropic_adaptive_thinking_omitted_stream.sse")
    [part] = of_type(items, ReasoningPart)
    assert part.text == "" and part.signature and part.signature.startswith("EsECCokBCB")
    assert of_type(items, ReasoningDelta) == []
    usage = items[-1]
    assert isinstance(usage, UsageStats)
    assert (usage.completion_tokens, usage.reasoning_tokens) == (496, 62)


def test_summarized_adaptive_thinking_counts_its_thinking_tokens() -> None:
    name = "anthropic_adaptive_thinking_summarized_stream.sse"
    items = decode_file(name)
    [part] = of_type(items, ReasoningPart)
    assert part.text == "".join(recorded_deltas(name, "thinking_delta"))
    assert "".join(d.text for d in of_type(items, ReasoningDelta)) == part.text
    usage = items[-1]
    assert isinstance(usage, UsageStats)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens) == (47, 373,
                                                                                      62)


def test_a_thinking_block_cut_by_max_tokens_is_not_kept() -> None:
    # The recorded stream cut inside its thinking block (before the signature came), then
    # ended by max_tokens: a block without its signature cannot go back, so none is kept.
    raw = (WIRE / "anthropic_thinking_stream_recorded.sse").read_bytes()
    cut = raw[:raw.index(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                         b"\"index\":0,\"delta\":{\"type\":\"signature_delta\"")]
    cut += (b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":'
            b'"max_tokens"},"usage":{"output_tokens":64}}\n\n'
            b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    items = decode(cut)
    assert of_type(items, ReasoningDelta)  # what came was shown
    assert of_type(items, ReasoningPart) == []
    assert items[-2] == TurnEnd("length", "max_tokens")


@pytest.mark.parametrize("name", ["anthropic_messages_stream_tool_use.sse",
                                  "anthropic_messages_stream_tool_use_recorded.sse",
                                  "anthropic_messages_stream_tool_use_max_tokens_incomplete_json.sse"])
def test_tool_call_deltas_are_the_recorded_fragments_before_the_call(name: str) -> None:
    items = decode_file(name, tool_deltas=True)
    deltas = of_type(items, ToolCallDelta)
    [call] = of_type(items, ToolCall)
    start = next(e["content_block"] for e in recorded_events(name)
                 if e["type"] == "content_block_start"
                 and e["content_block"]["type"] == "tool_use")
    assert [d.arguments_delta for d in deltas] == [
        f for f in recorded_deltas(name, "input_json_delta") if f]
    assert {(d.index, d.call_id, d.tool_name) for d in deltas} == {(0, start["id"],
                                                                    start["name"])}
    assert call.id == start["id"]
    assert items.index(deltas[-1]) < items.index(call)
    joined = "".join(d.arguments_delta for d in deltas)
    if "max_tokens" in name:  # cut: never runnable, with what the deltas showed
        assert call.parameters == {RAW_ARGUMENTS_KEY: joined}
    else:
        assert json.loads(joined) == call.parameters


def test_a_delta_index_is_the_calls_ordinal_not_its_content_block() -> None:
    name = "anthropic_messages_stream_tool_use.sse"
    [block_index] = [e["index"] for e in recorded_events(name)
                     if e["type"] == "content_block_start"
                     and e["content_block"]["type"] == "tool_use"]
    assert block_index == 1  # after the text block
    assert {d.index for d in of_type(decode_file(name, tool_deltas=True), ToolCallDelta)} == {0}


@pytest.mark.parametrize("name", sorted(p.name for p in WIRE.glob("anthropic_*.sse")
                                        if "error" not in p.name))
def test_without_tool_deltas_a_stream_decodes_as_before(name: str) -> None:
    plain = decode_file(name)
    with_deltas = decode_file(name, tool_deltas=True)
    assert of_type(plain, ToolCallDelta) == []
    assert [i for i in with_deltas if not isinstance(i, ToolCallDelta)] == plain


# --------------------------------------------------------------------------- whole answers

def test_a_whole_answer_keeps_its_thinking_apart_from_its_text() -> None:
    [thinking, text, use] = TWO_TURNS["first_response"]["content"]
    message, usage = parse_response(TWO_TURNS["first_response"], "claude-sonnet-4-0")
    assert message.reasoning == [ReasoningPart(thinking["thinking"], thinking["signature"],
                                               None, "anthropic")]
    assert message.content == text["text"]
    assert message.tool_calls == [ToolCall(use["name"], {}, id=use["id"])]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens) == (398, 155,
                                                                                      0)


def test_a_whole_answer_reports_its_thinking_tokens() -> None:
    data = json.loads((WIRE / "anthropic_thinking_tool_use_thinking_tokens.json").read_text())
    message, usage = parse_response(data, "claude-sonnet-4-6")
    [part] = message.reasoning or []
    assert part.text == "The user wants me to call checkSandboxErrors immediately."
    assert (usage.completion_tokens, usage.reasoning_tokens) == (59, 18)
    assert message.stop_reason == "tool_calls"


def test_redacted_thinking_in_a_whole_answer() -> None:
    data = {"content": [{"type": "redacted_thinking", "data": "EqkECkYIBx"},
                        {"type": "text", "text": "Hi."}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 2}}
    message, _ = parse_response(data, "m")
    assert message.reasoning == [ReasoningPart("", None, "EqkECkYIBx", "anthropic")]
    assert message.content == "Hi."


def test_a_malformed_thinking_block_names_its_place() -> None:
    from selectools.providers.errors import MalformedResponseError

    data = {"content": [{"type": "thinking", "thinking": 7, "signature": "s"}],
            "stop_reason": "end_turn"}
    with pytest.raises(MalformedResponseError, match=r"content\[0\]\.thinking"):
        parse_response(data, "m")


# --------------------------------------------------------------------------- the second turn

def _second_turn_messages(first: Message) -> list[Message]:
    [call] = first.tool_calls or []
    return [Message(Role.USER, "What is the largest city in the user country?"), first,
            Message(Role.TOOL, "Mexico", tool_name=call.tool_name, tool_call_id=call.id)]


def _without_is_error(turn: dict[str, Any]) -> dict[str, Any]:
    return {**turn, "content": [{k: v for k, v in block.items() if k != "is_error"}
                                for block in turn["content"]]}


def test_the_second_turn_is_the_one_the_api_accepted() -> None:
    first, _ = parse_response(TWO_TURNS["first_response"], "claude-sonnet-4-0")
    body = build_request_body(model="claude-sonnet-4-0", system_prompt="",
                              messages=_second_turn_messages(first), max_tokens=4096,
                              reasoning=3000)
    accepted = TWO_TURNS["second_request"]
    # The assistant turn: the thinking block first, unchanged, then the text and tool_use.
    assert body["messages"][1] == accepted["messages"][1]
    assert json.dumps(body["messages"][1]["content"][0], sort_keys=True) == json.dumps(
        TWO_TURNS["first_response"]["content"][0], sort_keys=True)
    # (the recorder's client also sent is_error: false, which is the default)
    assert body["messages"] == [accepted["messages"][0], accepted["messages"][1],
                                _without_is_error(accepted["messages"][2])]
    assert (body["thinking"], body["max_tokens"]) == (accepted["thinking"],
                                                      accepted["max_tokens"])


def test_a_streamed_answer_goes_back_as_it_came() -> None:
    async def collect(name: str) -> Message:
        stream = decode_stream(aiter_of(frames((WIRE / name).read_bytes())), "m")
        message, _ = await collect_stream(stream)
        return message

    message = asyncio.run(collect("anthropic_redacted_thinking_stream_recorded.sse"))
    body = build_request_body(model="claude-sonnet-4-5", system_prompt="", messages=[
        Message(Role.USER, "hi"), message, Message(Role.USER, "and then?")])
    blocks = body["messages"][1]["content"]
    recorded = [e["content_block"] for e in recorded_events(
        "anthropic_redacted_thinking_stream_recorded.sse")
        if e["type"] == "content_block_start"
        and e["content_block"]["type"] == "redacted_thinking"]
    assert blocks[:2] == recorded
    assert blocks[2] == {"type": "text", "text": message.content}


def test_reasoning_of_another_protocol_and_unsigned_thinking_are_not_sent() -> None:
    message = Message(Role.ASSISTANT, "Done.", reasoning=[
        ReasoningPart("gemini thought", "sig-g", None, "gemini"),
        ReasoningPart("cut off", None, None, "anthropic"),
        ReasoningPart("kept", "sig-a", None, "anthropic")])
    body = build_request_body(model="m", system_prompt="",
                              messages=[Message(Role.USER, "q"), message])
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "kept", "signature": "sig-a"},
        {"type": "text", "text": "Done."}]


# --------------------------------------------------------------------------- the setting

USER = [Message(Role.USER, "Think.")]


@pytest.mark.parametrize(("model", "version"), [
    ("claude-sonnet-4-5-20250929", (4, 5)), ("claude-3-7-sonnet-20250219", (3, 7)),
    ("claude-sonnet-4-20250514", (4, 0)), ("claude-sonnet-4-0", (4, 0)),
    ("claude-opus-4-1-20250805", (4, 1)), ("claude-haiku-4-5", (4, 5)),
    ("us.anthropic.claude-opus-4-6-v1", (4, 6)), ("claude-opus-4-7", (4, 7)),
    ("claude-sonnet-5", (5, 0)), ("claude-fable-5-1", (5, 1)),
    ("claude-mythos-preview", (99, 0)), ("deepseek-chat", None), ("my-model", None),
])
def test_claude_versions_are_read_from_the_model_name(model: str,
                                                      version: tuple[int, int] | None) -> None:
    assert claude_version(model) == version


@pytest.mark.parametrize("model", ["claude-haiku-4-5", "claude-sonnet-4-0",
                                   "claude-3-7-sonnet-latest", "a-servers-own-model"])
def test_an_effort_on_a_model_without_adaptive_thinking_is_a_budget(model: str) -> None:
    body = build_request_body(model=model, system_prompt="", messages=USER,
                              max_tokens=20000, reasoning="medium")
    assert body["thinking"] == {"type": "enabled", "budget_tokens": EFFORT_BUDGETS["medium"]}
    assert body["max_tokens"] == 20000
    assert "output_config" not in body


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-opus-4-7", "claude-sonnet-5"])
def test_an_effort_on_a_model_with_adaptive_thinking_is_adaptive(model: str) -> None:
    body = build_request_body(model=model, system_prompt="", messages=USER, reasoning="high")
    assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert body["output_config"] == {"effort": "high"}
    assert body["max_tokens"] == 1000


def test_a_budget_not_below_max_tokens_raises_max_tokens_by_the_budget() -> None:
    body = build_request_body(model="claude-sonnet-4-5", system_prompt="", messages=USER,
                              max_tokens=1000, reasoning=2048)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] == 3048  # the answer keeps its 1000
    roomy = build_request_body(model="claude-sonnet-4-6", system_prompt="", messages=USER,
                               max_tokens=8000, reasoning=2048)
    assert (roomy["thinking"]["budget_tokens"], roomy["max_tokens"]) == (2048, 8000)


def test_a_budget_for_a_model_that_thinks_only_adaptively_is_refused() -> None:
    with pytest.raises(ValueError, match=r"claude-opus-4-7 takes no thinking budget.*'low'"):
        build_request_body(model="claude-opus-4-7", system_prompt="", messages=USER,
                           reasoning=4096)


@pytest.mark.parametrize("reasoning", [512, "extreme", True, 2048.0])
def test_a_bad_reasoning_setting_is_refused_with_its_value(reasoning: Any) -> None:
    with pytest.raises(ValueError, match="reasoning|budget"):
        build_request_body(model="claude-sonnet-4-5", system_prompt="", messages=USER,
                           reasoning=reasoning)


def test_a_temperature_with_thinking_is_refused_and_1_is_not_sent() -> None:
    with pytest.raises(ValueError, match=r"temperature=0\.2 cannot be combined with reasoning"):
        build_request_body(model="claude-sonnet-4-5", system_prompt="", messages=USER,
                           temperature=0.2, reasoning="low")
    body = build_request_body(model="claude-sonnet-4-5", system_prompt="", messages=USER,
                              temperature=1.0, reasoning="low")
    assert "temperature" not in body
    plain = build_request_body(model="claude-sonnet-4-5", system_prompt="", messages=USER,
                               temperature=0.2)
    assert plain["temperature"] == 0.2 and "thinking" not in plain


# --------------------------------------------------------------------------- typed output

class City(BaseModel):
    city: str
    population: int = Field(ge=0)


def _output(target: Any) -> OutputFormat:
    schema = output_schema(target)
    return OutputFormat(schema.name, schema.schema, schema.strict_schema, schema.instructions())


def test_typed_output_is_constrained_with_output_config_format() -> None:
    output = _output(City)
    assert output.strict_schema is not None
    body = build_request_body(model="claude-haiku-4-5", system_prompt="Be brief.",
                              messages=USER, output=output)
    assert body["output_config"] == {"format": {
        "type": "json_schema", "schema": constrainable_schema(output.strict_schema)}}
    assert body["system"] == "Be brief."  # constrained: no instructions needed
    schema = body["output_config"]["format"]["schema"]
    population = schema["properties"]["population"]
    assert "minimum" not in population and "minimum: 0" in population["description"]
    assert schema["additionalProperties"] is False


def test_effort_and_format_share_one_output_config() -> None:
    body = build_request_body(model="claude-sonnet-5", system_prompt="", messages=USER,
                              output=_output(City), reasoning="low")
    assert set(body["output_config"]) == {"effort", "format"}


@pytest.mark.parametrize("model", ["claude-sonnet-4-0", "claude-3-7-sonnet-latest",
                                   "a-servers-own-model"])
def test_a_model_without_structured_outputs_gets_the_instructions(model: str) -> None:
    output = _output(City)
    body = build_request_body(model=model, system_prompt="Be brief.", messages=USER,
                              output=output)
    assert "output_config" not in body
    assert body["system"] == f"Be brief.\n\n{output.instructions}"


def test_a_type_without_a_strict_form_gets_the_instructions() -> None:
    output = _output(dict[str, int])
    assert output.strict_schema is None
    body = build_request_body(model="claude-sonnet-4-5", system_prompt="", messages=USER,
                              output=output)
    assert "output_config" not in body
    assert body["system"] == output.instructions


def test_constrainable_schema_keeps_what_the_decoder_takes() -> None:
    schema = {"type": "object", "additionalProperties": False, "required": ["tags", "when"],
              "properties": {
                  "minimum": {"type": "integer", "minimum": 1, "maximum": 9},
                  "tags": {"type": "array", "items": {"type": "string", "maxLength": 5},
                           "minItems": 1, "maxItems": 3},
                  "when": {"type": "string", "format": "date-time", "pattern": "^2"},
                  "site": {"anyOf": [{"type": "string", "format": "uri-reference"},
                                     {"type": "null"}]}}}
    assert constrainable_schema(schema) == {
        "type": "object", "additionalProperties": False, "required": ["tags", "when"],
        "properties": {
            "minimum": {"type": "integer", "description": "(minimum: 1; maximum: 9)"},
            "tags": {"type": "array", "items": {"type": "string",
                                                "description": "(maxLength: 5)"},
                     "minItems": 1, "description": "(maxItems: 3)"},
            "when": {"type": "string", "format": "date-time", "pattern": "^2"},
            "site": {"anyOf": [{"type": "string", "description": '(format: "uri-reference")'},
                               {"type": "null"}]}}}


# --------------------------------------------------------------------------- over HTTP

@pytest.fixture
def provider(wire_server: Any) -> Iterator[AnthropicProvider]:
    provider = AnthropicProvider(api_key=KEY, base_url=wire_server.url, max_retries=0)
    yield provider
    provider.close()


async def test_provider_streams_thinking_and_sends_the_setting(
        wire_server: Any, provider: AnthropicProvider) -> None:
    name = "anthropic_thinking_stream_recorded.sse"
    wire_server.reply_file(WIRE / name, chunk_size=37)
    items = [item async for item in provider.astream(
        model="claude-sonnet-4-0", system_prompt="", messages=USER, max_tokens=4096,
        reasoning=1024, tool_deltas=True)]
    await provider.aclose()
    assert items == await adecode((WIRE / name).read_bytes())
    [request] = wire_server.requests
    assert request.json["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert request.json["max_tokens"] == 4096
    assert "anthropic-beta" not in request.headers
    assert provider.call_options >= {"output", "reasoning", "tool_deltas"}


async def test_provider_constrains_a_whole_answer(wire_server: Any,
                                                  provider: AnthropicProvider) -> None:
    wire_server.reply(body=TWO_TURNS["second_response"])
    output = _output(City)
    message, _ = await provider.acomplete(model="claude-sonnet-4-5", system_prompt="",
                                          messages=USER, output=output)
    await provider.aclose()
    assert message.content.startswith("Based on the information that you're from Mexico")
    body = wire_server.requests[0].json
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert "system" not in body


async def test_a_stream_answered_whole_still_brings_its_thinking(
        wire_server: Any, provider: AnthropicProvider) -> None:
    wire_server.reply(body=TWO_TURNS["first_response"])  # a server that ignored "stream"
    items = [item async for item in provider.astream(
        model="claude-sonnet-4-0", system_prompt="", messages=USER)]
    await provider.aclose()
    [thinking] = [b for b in TWO_TURNS["first_response"]["content"] if b["type"] == "thinking"]
    assert of_type(items, ReasoningDelta) == [ReasoningDelta(thinking["thinking"])]
    assert of_type(items, ReasoningPart) == [ReasoningPart(
        thinking["thinking"], thinking["signature"], None, "anthropic")]


# --------------------------------------------------------------------------- through the agent

async def test_agent_events_show_argument_deltas_and_reasoning_never_in_content(
        wire_server: Any, provider: AnthropicProvider) -> None:
    from selectools import Agent, AgentConfig, tool

    @tool(description="Lookup the weather")
    def get_weather(location: str, units: str) -> str:
        return f"68°F and sunny in {location} ({units})"

    tool_file = "anthropic_messages_stream_tool_use_recorded.sse"
    thinking_file = "anthropic_thinking_stream_recorded.sse"
    wire_server.reply_file(WIRE / tool_file, chunk_size=41)
    wire_server.reply_file(WIRE / thinking_file, chunk_size=53)
    agent = Agent(tools=[get_weather], provider=provider,
                  config=AgentConfig(model="claude-haiku-4-5", reasoning="low"))
    items = [item async for item in agent.astream("What is the weather in SF?", events=True)]
    await provider.aclose()

    chunks = [i for i in items if isinstance(i, StreamChunk)]
    deltas = [c.data for c in chunks if c.event == "tool_call_delta" and c.data is not None]
    call_chunk = next(c for c in chunks if c.tool_calls)
    [call] = call_chunk.tool_calls or []
    assert {(d["index"], d["call_id"], d["tool_name"]) for d in deltas} == {
        (0, "toolu_018acGYLtfR52q9yDbWaEdQZ", "get_weather")}
    assert json.loads("".join(d["arguments_delta"] for d in deltas)) == call.parameters
    assert chunks.index(next(c for c in chunks if c.event == "tool_call_delta")) < \
        chunks.index(call_chunk)

    thinking = "".join(recorded_deltas(thinking_file, "thinking_delta"))
    reasoning = "".join(c.content for c in chunks if c.event == "reasoning")
    assert reasoning == thinking
    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.content == "".join(recorded_deltas(thinking_file, "text_delta"))
    assert thinking not in result.content
    text_chunks = "".join(c.content for c in chunks if c.event is None and not c.tool_calls)
    assert thinking not in text_chunks
    # "low" on a model without adaptive thinking: the least budget, max_tokens raised.
    first = wire_server.requests[0].json
    assert (first["thinking"], first["max_tokens"]) == (
        {"type": "enabled", "budget_tokens": 1024}, 2024)


@pytest.mark.parametrize("streamed", [False, True])
async def test_agent_tool_run_sends_the_thinking_back_byte_for_byte(
        wire_server: Any, provider: AnthropicProvider, streamed: bool) -> None:
    from selectools import Agent, AgentConfig, tool

    @tool(description="The user's country")
    def get_user_country() -> str:
        return "Mexico"

    wire_server.reply(body=TWO_TURNS["first_response"])  # (to a stream: a whole answer)
    wire_server.reply(body=TWO_TURNS["second_response"])
    agent = Agent(tools=[get_user_country], provider=provider,
                  config=AgentConfig(model="claude-sonnet-4-0", reasoning=3000,
                                     max_tokens=4096))
    question = "What is the largest city in the user country?"
    if streamed:
        items = [item async for item in agent.astream(question, events=True)]
        result = items[-1]
        assert any(isinstance(i, StreamChunk) and i.event == "reasoning" for i in items)
    else:
        result = await agent.arun(question)
    await provider.aclose()
    assert isinstance(result, AgentResult)
    assert result.content.startswith("Based on the information that you're from Mexico")

    second = wire_server.requests[1].body.decode()
    [thinking] = [b for b in TWO_TURNS["first_response"]["content"] if b["type"] == "thinking"]
    # The signature and the thinking text travel back exactly as the API sent them.
    assert json.dumps(thinking["signature"]) in second
    assert json.dumps(thinking["thinking"], ensure_ascii=False) in second or \
        json.dumps(thinking["thinking"]) in second
    body = json.loads(second)
    accepted = TWO_TURNS["second_request"]
    assert body["messages"][1:] == [accepted["messages"][1],
                                    _without_is_error(accepted["messages"][2])]
    assert body["thinking"] == accepted["thinking"]
    assert result.usage is not None and result.usage.prompt_tokens == 398 + 566


def test_the_agent_refuses_a_budget_for_an_adaptive_only_model_before_any_request(
        wire_server: Any, provider: AnthropicProvider) -> None:
    from selectools import Agent, AgentConfig

    agent = Agent(tools=[], provider=provider,
                  config=AgentConfig(model="claude-opus-4-7", reasoning=2048))
    with pytest.raises(ValueError, match="takes no thinking budget"):
        agent.run("hi")
    assert wire_server.requests == []


def test_tool_definitions_are_unchanged_by_reasoning() -> None:
    tools = [ToolDefinition("get_user_country", "", {"type": "object", "properties": {}})]
    body = build_request_body(model="claude-sonnet-4-0", system_prompt="", messages=USER,
                              tools=tools, reasoning=3000, max_tokens=4096)
    assert body["tools"] == [{"name": "get_user_country", "description": "",
                              "input_schema": {"type": "object", "properties": {}}}]


# --------------------------------------------------------------------------- typed answers

class Ingredient(BaseModel):
    name: str
    amount: str


class Recipe(BaseModel):
    name: str
    ingredients: list[Ingredient]
    steps: list[str]


class RecipeAnswer(BaseModel):
    recipe: Recipe


CHARACTERS = {  # a JSON schema as the type: "class" is no Python name
    "type": "object", "additionalProperties": False, "required": ["characters"],
    "properties": {"characters": {"type": "array", "items": {
        "type": "object", "additionalProperties": False,
        "required": ["name", "class", "description"],
        "properties": {"name": {"type": "string"}, "class": {"type": "string"},
                       "description": {"type": "string"}}}}}}


async def test_agent_typed_answer_is_constrained_natively(wire_server: Any,
                                                          provider: AnthropicProvider) -> None:
    from selectools import Agent, AgentConfig

    wire_server.reply_file(WIRE / "anthropic_structured_output.json")
    agent = Agent(tools=[], provider=provider,
                  config=AgentConfig(model="claude-sonnet-4-5", system_prompt="Be brief."))
    result = await agent.arun("A lasagna recipe, please.", response_format=RecipeAnswer)
    await provider.aclose()
    assert result.structured_status == "ok"
    assert isinstance(result.parsed, RecipeAnswer)
    assert result.parsed.recipe.name == "Classic Lasagna"
    assert len(result.parsed.recipe.ingredients) == 18
    request = wire_server.requests[0].json
    assert request["output_config"] == {"format": {"type": "json_schema", "schema":
                                                   constrainable_schema(
                                                       _output(RecipeAnswer).strict_schema)}}
    assert request["system"] == "Be brief."


async def test_agent_streams_partial_values_of_a_constrained_answer(
        wire_server: Any, provider: AnthropicProvider) -> None:
    from selectools import Agent, AgentConfig

    name = "anthropic_structured_output_stream.sse"
    wire_server.reply_file(WIRE / name, chunk_size=64)
    agent = Agent(tools=[], provider=provider, config=AgentConfig(model="claude-sonnet-4-5"))
    items = [item async for item in agent.astream("Three characters.", events=True,
                                                  response_format=CHARACTERS)]
    await provider.aclose()
    result = items[-1]
    assert isinstance(result, AgentResult)
    final = json.loads("".join(recorded_deltas(name, "text_delta")))
    assert result.parsed == final
    partials = [json.loads(json.dumps(i.data)) for i in items
                if isinstance(i, StreamChunk) and i.event == "output_partial"]
    assert len(partials) > 3 and partials[-1] == final
    assert all(extends(a, b) for a, b in zip(partials, partials[1:], strict=False))
    request = wire_server.requests[0].json
    assert request["output_config"]["format"]["type"] == "json_schema"
    assert output_schema(CHARACTERS).instructions() not in request.get("system", "")


async def test_agent_on_an_older_model_asks_for_the_typed_answer_in_words(
        wire_server: Any, provider: AnthropicProvider) -> None:
    from selectools import Agent, AgentConfig

    wire_server.reply_file(WIRE / "anthropic_structured_output.json")
    agent = Agent(tools=[], provider=provider,
                  config=AgentConfig(model="claude-sonnet-4-0", system_prompt="Be brief."))
    result = await agent.arun("A lasagna recipe, please.", response_format=RecipeAnswer)
    await provider.aclose()
    assert result.structured_status == "ok"
    request = wire_server.requests[0].json
    assert "output_config" not in request
    assert request["system"] == f"Be brief.\n\n{output_schema(RecipeAnswer).instructions()}"
