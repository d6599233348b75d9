"""Hostile review of issue 13, cost: a stream's long tool-call argument, reasoning details
or signature, in many fragments, decodes in time linear in its size (each fragment used to
be added to the text so far, copying it: quadratic, a minute for 20 MB in 40,000
fragments, which a slow or hostile server can send). Through real HTTP on 127.0.0.1.

The bound is wide (the linear decoder takes about a second here): only the quadratic one
misses it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from wire_server import WireServer

from selectools.providers.anthropic import AnthropicProvider
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, ReasoningPart, Role, ToolCall

FRAGMENTS = 40_000
PIECE = "x" * 500  # 20 MB in all
BOUND_SECONDS = 20.0
ASK = [Message(Role.USER, "Write the file.")]


def sse(events: Iterator[dict[str, Any]], *, named: bool = False) -> bytes:
    return "".join((f"event: {event['type']}\n" if named else "") + f"data: {json.dumps(event)}\n\n"
                   for event in events).encode()


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def long_call() -> Iterator[dict[str, Any]]:
    yield chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                 "function": {"name": "write_file", "arguments": '{"text": "'}}]})
    for _ in range(FRAGMENTS):
        yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": PIECE}}]})
    yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]})
    yield chunk({}, "tool_calls")


def long_details() -> Iterator[dict[str, Any]]:
    for _ in range(FRAGMENTS):
        yield chunk({"reasoning": PIECE, "reasoning_details": [
            {"type": "reasoning.text", "text": PIECE, "index": 0}]})
    yield chunk({"content": "Done."}, "stop")


def long_signature() -> Iterator[dict[str, Any]]:
    yield {"type": "message_start", "message": {"model": "claude-sonnet-4-5",
                                                "usage": {"input_tokens": 3}}}
    yield {"type": "content_block_start", "index": 0,
           "content_block": {"type": "thinking", "thinking": "", "signature": ""}}
    yield {"type": "content_block_delta", "index": 0,
           "delta": {"type": "thinking_delta", "thinking": "Hm."}}
    for _ in range(FRAGMENTS):
        yield {"type": "content_block_delta", "index": 0,
               "delta": {"type": "signature_delta", "signature": PIECE}}
    yield {"type": "content_block_stop", "index": 0}
    yield {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
           "usage": {"output_tokens": 9}}
    yield {"type": "message_stop"}


async def timed(provider: Any) -> tuple[list[Any], float]:
    started = time.perf_counter()
    items = [item async for item in provider.astream(system_prompt="", messages=ASK)]
    elapsed = time.perf_counter() - started
    await provider.aclose()
    return items, elapsed


async def test_a_long_argument_in_many_fragments_decodes_in_linear_time(
        wire_server: WireServer) -> None:
    wire_server.reply(200, sse(long_call()), content_type="text/event-stream")
    items, elapsed = await timed(OpenAIProvider(base_url=wire_server.url + "/v1"))
    (call,) = [item for item in items if isinstance(item, ToolCall)]
    assert call.parameters == {"text": PIECE * FRAGMENTS}
    assert elapsed < BOUND_SECONDS


async def test_long_reasoning_details_decode_in_linear_time(wire_server: WireServer) -> None:
    wire_server.reply(200, sse(long_details()), content_type="text/event-stream")
    items, elapsed = await timed(OpenAIProvider(base_url=wire_server.url + "/v1"))
    (part,) = [item for item in items if isinstance(item, ReasoningPart)]
    (detail,) = json.loads(part.signature or "")["reasoning_details"]
    assert detail == {"type": "reasoning.text", "text": PIECE * FRAGMENTS, "index": 0}
    assert part.text == PIECE * FRAGMENTS
    assert elapsed < BOUND_SECONDS


async def test_a_long_signature_in_many_fragments_decodes_in_linear_time(
        wire_server: WireServer) -> None:
    wire_server.reply(200, sse(long_signature(), named=True), content_type="text/event-stream")
    items, elapsed = await timed(AnthropicProvider(api_key="sk-ant-test-0123456789",
                                                   base_url=wire_server.url))
    (part,) = [item for item in items if isinstance(item, ReasoningPart)]
    assert part.text == "Hm." and part.signature == PIECE * FRAGMENTS
    assert elapsed < BOUND_SECONDS
