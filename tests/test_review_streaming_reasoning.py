"""Hostile review of issue 13, reasoning: what a broken or malicious server sends as
reasoning, and reasoning that travels to another provider, through real HTTP on 127.0.0.1
(WireServer serves recorded bodies, some altered as a broken server would send them)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from wire_server import WireServer

from selectools import Agent, AgentConfig, AgentResult, tool
from selectools.providers.anthropic import AnthropicProvider
from selectools.providers.errors import MalformedResponseError, MalformedStreamError
from selectools.providers.fallback import FallbackProvider
from selectools.providers.gemini import GeminiProvider
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, ReasoningPart, Role, ToolCall

WIRE = Path(__file__).parent / "fixtures" / "wire"
# Recorded live: Claude's thinking tool-use answer and the second request the API accepted.
TWO_TURNS = json.loads((WIRE / "anthropic_thinking_tool_use_two_turns.json").read_text())
REDACTED_STREAM = WIRE / "anthropic_redacted_thinking_stream_recorded.sse"
ASK = [Message(Role.USER, "What is 2 + 2?")]
KEY = "sk-ant-test-0123456789"


def anthropic(server: WireServer) -> AnthropicProvider:
    return AnthropicProvider(api_key=KEY, base_url=server.url, max_retries=0)


def without_redacted_data(body: bytes, replacement: str) -> bytes:
    """The recorded stream with its redacted_thinking block's data replaced (`replacement`
    is JSON text) or, for "", removed."""
    text = body.decode()
    field = f',"data":{replacement}' if replacement else ""
    changed = re.sub(r',"data":"[^"]*"', field, text, count=1)
    assert changed != text
    return changed.encode()


# -- Anthropic: a redacted_thinking block without its data --------------------------------


@pytest.mark.parametrize("replacement", ["", '""', "null"])
async def test_a_streamed_redacted_block_without_data_is_a_malformed_stream(
        wire_server: WireServer, replacement: str) -> None:
    # Kept, it would go back as {"type": "redacted_thinking", "data": ""} on every later
    # turn, which the API refuses: the run could never continue.
    wire_server.reply(200, without_redacted_data(REDACTED_STREAM.read_bytes(), replacement),
                      content_type="text/event-stream")
    provider = anthropic(wire_server)
    with pytest.raises(MalformedStreamError, match="redacted_thinking block without its data"):
        async for _ in provider.astream(model="claude-sonnet-4-5", system_prompt="",
                                        messages=ASK):
            pass
    await provider.aclose()


async def test_a_whole_redacted_block_without_data_is_a_malformed_answer(
        wire_server: WireServer) -> None:
    wire_server.reply(200, {"type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                            "content": [{"type": "redacted_thinking"},
                                        {"type": "text", "text": "4"}],
                            "stop_reason": "end_turn",
                            "usage": {"input_tokens": 5, "output_tokens": 3}})
    provider = anthropic(wire_server)
    with pytest.raises(MalformedResponseError, match=r"content\[0\]\.data is missing"):
        await provider.acomplete(model="claude-sonnet-4-5", system_prompt="", messages=ASK)
    await provider.aclose()


async def test_a_broken_redacted_block_fails_over_to_the_next_provider(
        wire_server: WireServer) -> None:
    wire_server.reply(200, without_redacted_data(REDACTED_STREAM.read_bytes(), ""),
                      content_type="text/event-stream")
    wire_server.reply_file(REDACTED_STREAM, content_type="text/event-stream")
    chain = FallbackProvider([anthropic(wire_server), anthropic(wire_server)])
    items = [item async for item in chain.astream(model="claude-sonnet-4-5", system_prompt="",
                                                  messages=ASK)]
    parts = [item for item in items if isinstance(item, ReasoningPart)]
    assert parts and all(part.redacted for part in parts)  # the second provider's, whole
    assert (parts[0].redacted or "").startswith("EqkECkYI")
    await chain.aclose()


async def test_an_empty_redacted_part_of_the_users_is_not_sent(wire_server: WireServer) -> None:
    wire_server.reply_file(REDACTED_STREAM, content_type="text/event-stream")
    earlier = Message(Role.ASSISTANT, "4", reasoning=[
        ReasoningPart.from_dict({"redacted": "", "protocol": "anthropic"}),
        ReasoningPart(redacted="EqkECkYI", protocol="anthropic")])
    provider = anthropic(wire_server)
    async for _ in provider.astream(model="claude-sonnet-4-5", system_prompt="",
                                    messages=[*ASK, earlier, Message(Role.USER, "And 3 + 3?")]):
        pass
    await provider.aclose()
    sent = wire_server.requests[0].json["messages"][1]["content"]
    assert sent == [{"type": "redacted_thinking", "data": "EqkECkYI"},
                    {"type": "text", "text": "4"}]


# -- OpenAI-compatible servers: one protocol, many servers ---------------------------------

DEEPSEEK_CALL = WIRE / "openai_chat_stream_deepseek_reasoning_tool_call.sse"
GROQ_ANSWER = WIRE / "openai_chat_stream_groq_reasoning.sse"


@tool()
def weather(location: str) -> str:
    """The weather at a place."""
    return "sunny, 18 C"


def openai_compatible(server: WireServer, model: str, name: str) -> OpenAIProvider:
    return OpenAIProvider(base_url=server.url + "/v1", model=model, name=name, max_retries=0)


async def test_deepseeks_reasoning_is_not_sent_to_groq_after_a_fallback(
        wire_server: WireServer) -> None:
    # DeepSeek reasons and calls the tool; on the next turn it is down and Groq answers.
    # Groq refuses an assistant message with `reasoning_content` ("property
    # 'reasoning_content' is unsupported"): DeepSeek's reasoning must not reach it.
    wire_server.reply_file(DEEPSEEK_CALL, content_type="text/event-stream")
    wire_server.reply(503, {"error": {"message": "Service Unavailable"}})
    wire_server.reply_file(GROQ_ANSWER, content_type="text/event-stream")
    chain = FallbackProvider([openai_compatible(wire_server, "deepseek-reasoner", "deepseek"),
                              openai_compatible(wire_server, "qwen/qwen3-32b", "groq")])
    agent = Agent(tools=[weather], provider=chain, config=AgentConfig(max_iterations=3))
    chunks = [chunk async for chunk in agent.astream("What is the weather in San Francisco?")]
    await chain.aclose()
    result = chunks[-1]
    assert isinstance(result, AgentResult)
    assert result.content.startswith(recorded_content(GROQ_ANSWER)[:40])
    first, down, groq = (request.json for request in wire_server.requests)
    assert down["model"] == "deepseek-reasoner" and groq["model"] == "qwen/qwen3-32b"
    # DeepSeek itself gets its reasoning back with the call, as its API requires...
    called = next(m for m in down["messages"] if m.get("tool_calls"))
    assert called["reasoning_content"].startswith("The user is asking for the weather")
    # ...and Groq gets the call and its result, without DeepSeek's reasoning.
    called = next(m for m in groq["messages"] if m.get("tool_calls"))
    assert called["tool_calls"][0]["function"]["name"] == "weather"
    assert not {"reasoning_content", "reasoning", "reasoning_details"} & set(called)


async def test_reasoning_goes_back_to_its_own_model_after_the_provider_changes(
        wire_server: WireServer) -> None:
    wire_server.reply_file(DEEPSEEK_CALL, content_type="text/event-stream")
    wire_server.reply_file(GROQ_ANSWER, content_type="text/event-stream")
    deepseek = openai_compatible(wire_server, "deepseek-reasoner", "deepseek")
    stream = [item async for item in deepseek.astream(system_prompt="", messages=ASK)]
    turn = Message(Role.ASSISTANT, "", tool_calls=[i for i in stream if isinstance(i, ToolCall)],
                   reasoning=[i for i in stream if isinstance(i, ReasoningPart)])
    # Stored and loaded again (a session), then sent to another server's model.
    turn = Message.from_dict(json.loads(json.dumps(turn.to_dict())))
    history = [*ASK, turn, Message(Role.TOOL, "sunny", tool_name="weather",
                                   tool_call_id=(turn.tool_calls or [])[0].id)]
    groq = openai_compatible(wire_server, "qwen/qwen3-32b", "groq")
    async for _ in groq.astream(system_prompt="", messages=history):
        pass
    await deepseek.aclose()
    await groq.aclose()
    sent = wire_server.requests[1].json["messages"][1]
    assert sent["tool_calls"] and "reasoning_content" not in sent


def recorded_content(path: Path) -> str:
    return "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                   for line in path.read_text().splitlines()
                   if line.startswith("data: {") and json.loads(line[6:]).get("choices"))


# -- Gemini: signatures and budgets ---------------------------------------------------------

SIGNED_CALL = WIRE / "gemini_stream_text_then_signed_call.sse"


def gemini(server: WireServer) -> GeminiProvider:
    return GeminiProvider(api_key="gm-test-key-0123456789", base_url=server.url, max_retries=0)


@pytest.mark.parametrize("signature", ['{"forged": true}', "42", "[]"])
async def test_a_call_signature_that_is_no_string_is_a_malformed_stream(
        wire_server: WireServer, signature: str) -> None:
    # It would be kept on the call and sent back on the next turn as it came.
    body = re.sub(r'"thoughtSignature":"[^"]*"', f'"thoughtSignature":{signature}',
                  SIGNED_CALL.read_text(), count=1)
    wire_server.reply(200, body.encode(), content_type="text/event-stream")
    provider = gemini(wire_server)
    with pytest.raises(MalformedStreamError, match=r"parts\[0\]\.thoughtSignature is"):
        async for _ in provider.astream(model="gemini-3.1-pro-preview", system_prompt="",
                                        messages=ASK):
            pass
    await provider.aclose()


@pytest.mark.parametrize("budget", [0, -1, -5000])
async def test_a_budget_that_is_no_positive_count_is_refused_before_sending(
        wire_server: WireServer, budget: int) -> None:
    # Added to maxOutputTokens, a negative budget would have cut the answer short.
    provider = gemini(wire_server)
    with pytest.raises(ValueError, match=f"positive number of tokens, got {budget}"):
        await provider.acomplete(model="gemini-2.5-flash", system_prompt="", messages=ASK,
                                 reasoning=budget)
    await provider.aclose()
    assert wire_server.requests == []


# -- Anthropic thinking after another provider's tool call ---------------------------------

ANTHROPIC_TEXT = WIRE / "anthropic_messages_stream_text.sse"


async def test_anthropic_continues_another_providers_tool_loop_without_thinking(
        wire_server: WireServer) -> None:
    # DeepSeek calls the tool and is then down; Anthropic, with thinking on, would refuse
    # the tool loop ("Expected `thinking` or `redacted_thinking`, but found `tool_use`"):
    # that request goes without thinking, as the API's error advises.
    wire_server.reply_file(DEEPSEEK_CALL, content_type="text/event-stream")
    wire_server.reply(503, {"error": {"message": "Service Unavailable"}})
    wire_server.reply_file(ANTHROPIC_TEXT, content_type="text/event-stream")
    chain = FallbackProvider([openai_compatible(wire_server, "deepseek-reasoner", "deepseek"),
                              AnthropicProvider(api_key=KEY, base_url=wire_server.url,
                                                model="claude-sonnet-4-5", max_retries=0)])
    agent = Agent(tools=[weather], provider=chain,
                  config=AgentConfig(max_iterations=3, reasoning="high", max_tokens=800))
    chunks = [chunk async for chunk in agent.astream("What is the weather in San Francisco?")]
    await chain.aclose()
    assert isinstance(chunks[-1], AgentResult) and chunks[-1].content
    first, _, claude = (request.json for request in wire_server.requests)
    assert first["reasoning_effort"] == "high"
    assert "thinking" not in claude and "output_config" not in claude
    assert claude["max_tokens"] == 800
    assert claude["messages"][-2]["content"][0]["type"] == "tool_use"


def test_a_new_question_after_such_a_loop_thinks_again() -> None:
    from selectools.providers.anthropic import build_request_body

    call = ToolCall("weather", {"location": "SF"}, "call_1")
    loop = [*ASK, Message(Role.ASSISTANT, "", tool_calls=[call]),
            Message(Role.TOOL, "sunny", tool_name="weather", tool_call_id="call_1")]
    body = build_request_body(model="claude-sonnet-4-5", system_prompt="", messages=loop,
                              reasoning="high", max_tokens=800)
    assert "thinking" not in body and body["max_tokens"] == 800
    later = [*loop, Message(Role.ASSISTANT, "Sunny."), Message(Role.USER, "And tomorrow?")]
    body = build_request_body(model="claude-sonnet-4-5", system_prompt="", messages=later,
                              reasoning="high", max_tokens=800)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 16384}


@pytest.mark.parametrize("item", ["a string", 7, None, ["nested"]])
async def test_reasoning_details_items_that_are_no_objects_are_a_malformed_answer(
        wire_server: WireServer, item: Any) -> None:
    # (as in a stream: they would be kept and sent back to the server on the next turn)
    answer = json.loads((WIRE / "openai_chat_openrouter_reasoning_details.json").read_text())
    answer["choices"][0]["message"]["reasoning_details"].append(item)
    wire_server.reply(200, answer)
    provider = openai_compatible(wire_server, "anthropic/claude-sonnet-4", "openrouter")
    with pytest.raises(MalformedResponseError, match=r"reasoning_details\[\d\] is .*not an object"):
        await provider.acomplete(system_prompt="", messages=ASK)
    await provider.aclose()


# -- Anthropic interleaved thinking: each block goes back in its place ----------------------


def interleaved_events() -> list[dict[str, Any]]:
    """One answer as Claude streams it with interleaved thinking: a thinking block, a call,
    a second thinking block, a second call (NousResearch/hermes-agent#35975's shape, which
    the API refuses back reordered: "`thinking` or `redacted_thinking` blocks in the latest
    assistant message cannot be modified")."""
    def thinking(index: int, text: str, signature: str) -> list[dict[str, Any]]:
        return [{"type": "content_block_start", "index": index,
                 "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
                {"type": "content_block_delta", "index": index,
                 "delta": {"type": "thinking_delta", "thinking": text}},
                {"type": "content_block_delta", "index": index,
                 "delta": {"type": "signature_delta", "signature": signature}},
                {"type": "content_block_stop", "index": index}]

    def call(index: int, call_id: str, city: str) -> list[dict[str, Any]]:
        return [{"type": "content_block_start", "index": index, "content_block": {
                    "type": "tool_use", "id": call_id, "name": "weather", "input": {}}},
                {"type": "content_block_delta", "index": index, "delta": {
                    "type": "input_json_delta", "partial_json": json.dumps({"location": city})}},
                {"type": "content_block_stop", "index": index}]

    return [{"type": "message_start", "message": {"model": "claude-sonnet-4-6",
                                                  "usage": {"input_tokens": 50}}},
            *thinking(0, "Paris first.", "sig-A"), *call(1, "toolu_1", "Paris"),
            *thinking(2, "Now Rome.", "sig-B"), *call(3, "toolu_2", "Rome"),
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
             "usage": {"output_tokens": 80}},
            {"type": "message_stop"}]


def named_sse(events: list[dict[str, Any]]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


async def test_interleaved_thinking_goes_back_in_the_order_it_came(
        wire_server: WireServer) -> None:
    wire_server.reply(200, named_sse(interleaved_events()), content_type="text/event-stream")
    wire_server.reply_file(ANTHROPIC_TEXT, content_type="text/event-stream")
    provider = AnthropicProvider(api_key=KEY, base_url=wire_server.url,
                                 model="claude-sonnet-4-6", max_retries=0)
    agent = Agent(tools=[weather], provider=provider,
                  config=AgentConfig(max_iterations=3, reasoning="high"))
    chunks = [chunk async for chunk in agent.astream("Weather in Paris and Rome?")]
    await provider.aclose()
    assert isinstance(chunks[-1], AgentResult)
    turn = wire_server.requests[1].json["messages"][1]["content"]
    assert [(b["type"], b.get("signature") or b.get("id")) for b in turn] == [
        ("thinking", "sig-A"), ("tool_use", "toolu_1"),
        ("thinking", "sig-B"), ("tool_use", "toolu_2")]
    assert "thinking" in wire_server.requests[1].json  # the loop keeps thinking on


def test_the_order_survives_a_stored_session_and_a_whole_answer() -> None:
    from selectools.providers.anthropic import build_request_body, parse_response

    whole = {"type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
             "content": [{"type": "thinking", "thinking": "Paris first.", "signature": "sig-A"},
                         {"type": "text", "text": "Checking both."},
                         {"type": "tool_use", "id": "toolu_1", "name": "weather",
                          "input": {"location": "Paris"}},
                         {"type": "redacted_thinking", "data": "EqkE"},
                         {"type": "tool_use", "id": "toolu_2", "name": "weather",
                          "input": {"location": "Rome"}}],
             "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 9}}
    message, _ = parse_response(whole, "claude-sonnet-4-6")
    stored = Message.from_dict(json.loads(json.dumps(message.to_dict())))
    results = [Message(Role.TOOL, "sunny", tool_name="weather", tool_call_id=call.id)
               for call in stored.tool_calls or []]
    body = build_request_body(model="claude-sonnet-4-6", system_prompt="",
                              messages=[*ASK, stored, *results], reasoning="high")
    assert body["messages"][1]["content"] == whole["content"]


def test_a_loop_begun_with_thinking_keeps_it_after_answers_without_any() -> None:
    # Claude thinks once per turn (without interleaving): the loop's second call comes with
    # no thinking block, and the API takes thinking on for the rest of the loop.
    from selectools.providers.anthropic import build_request_body, parse_response

    first, _ = parse_response(TWO_TURNS["first_response"], "claude-sonnet-4-0")
    (call,) = first.tool_calls or []
    second = Message(Role.ASSISTANT, "", tool_calls=[ToolCall("weather", {"location": "Mexico"},
                                                              "toolu_2")])
    loop = [Message(Role.USER, "What is the largest city in the user country?"), first,
            Message(Role.TOOL, "Mexico", tool_name=call.tool_name, tool_call_id=call.id),
            second, Message(Role.TOOL, "sunny", tool_name="weather", tool_call_id="toolu_2")]
    body = build_request_body(model="claude-sonnet-4-0", system_prompt="", messages=loop,
                              reasoning=3000, max_tokens=4096)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 3000}
    assert body["messages"][1]["content"][0]["type"] == "thinking"
    assert body["messages"][3]["content"][0]["type"] == "tool_use"
