"""Answers of the wrong shape as a whole, and streams that end without their end marker,
are typed errors on every protocol, never an empty "completed" answer. Through a loopback
server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from wire_replay import WIRES
from wire_server import WireServer

from selectools.providers.errors import (
    MalformedResponseError,
    MalformedStreamError,
    ProviderError,
    ServerError,
)
from selectools.types import RAW_ARGUMENTS_KEY, Message, Role, ToolCall, TurnEnd

ASK = [Message(Role.USER, "Hello?")]


async def whole_failure(wire_server: WireServer, protocol: str, body: Any) -> ProviderError:
    provider = WIRES[protocol].provider(wire_server.url)
    wire_server.reply(body=body)
    try:
        await provider.acomplete(model="m", messages=ASK)
    except ProviderError as error:
        return error
    finally:
        await provider.aclose()
    raise AssertionError("the answer was accepted")


@pytest.mark.parametrize("protocol", list(WIRES))
@pytest.mark.parametrize("body", [{}, {"foo": 1}], ids=["empty object", "another API"])
async def test_an_answer_without_the_protocols_content_is_malformed(
        wire_server: WireServer, protocol: str, body: Any) -> None:
    error = await whole_failure(wire_server, protocol, body)
    assert isinstance(error, MalformedResponseError) and error.fail_over
    assert "malformed answer" in str(error)


@pytest.mark.parametrize("protocol", list(WIRES))
async def test_a_gateways_openai_style_error_is_honoured_on_every_protocol(
        wire_server: WireServer, protocol: str) -> None:
    error = await whole_failure(wire_server, protocol,
                                {"error": {"message": "quota exhausted at the gateway"}})
    assert isinstance(error, ServerError) and "quota exhausted at the gateway" in str(error)


@pytest.mark.parametrize(("protocol", "body"), [
    ("anthropic", {"content": [], "stop_reason": "end_turn", "usage": {}}),
    ("gemini", {"promptFeedback": {"blockReason": "SAFETY"}}),
    ("ollama", {"message": {"role": "assistant", "content": ""}, "done": True}),
])
async def test_an_empty_answer_in_the_protocols_shape_is_still_an_answer(
        wire_server: WireServer, protocol: str, body: Any) -> None:
    provider = WIRES[protocol].provider(wire_server.url)
    wire_server.reply(body=body)
    try:
        message, _ = await provider.acomplete(model="m", messages=ASK)
    finally:
        await provider.aclose()
    assert message.content == ""


def sse_event(data: Any, name: str | None = None) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + (data if isinstance(data, bytes) else json.dumps(data).encode()) \
        + b"\n\n"


ANTHROPIC_START = (
    sse_event({"type": "message_start", "message": {"usage": {"input_tokens": 1}}},
              "message_start")
    + sse_event({"type": "content_block_start", "index": 0,
                 "content_block": {"type": "text", "text": ""}}, "content_block_start")
    + sse_event({"type": "content_block_delta", "index": 0,
                 "delta": {"type": "text_delta", "text": "The answer is"}},
                "content_block_delta"))

#: Each protocol's stream of "The answer is", ended cleanly before its end marker.
CUT_STREAMS: dict[str, bytes] = {
    "openai": sse_event({"choices": [{"index": 0, "delta": {"content": "The answer is"}}]}),
    "anthropic": ANTHROPIC_START,
    "gemini": sse_event({"candidates": [{"content": {"parts": [{"text": "The answer is"}]}}]}),
    "ollama": json.dumps({"message": {"role": "assistant", "content": "The answer is"},
                          "done": False}).encode() + b"\n",
}


async def streamed(wire_server: WireServer, protocol: str, body: bytes,
                   seen: list[Any]) -> ProviderError | None:
    provider = WIRES[protocol].provider(wire_server.url)
    content_type = "application/x-ndjson" if WIRES[protocol].ndjson else "text/event-stream"
    wire_server.reply(body=body, content_type=content_type)
    try:
        async for item in provider.astream(model="m", messages=ASK):
            seen.append(item)
    except ProviderError as error:
        return error
    finally:
        await provider.aclose()
    return None


@pytest.mark.parametrize("protocol", list(WIRES))
async def test_a_stream_without_its_end_marker_is_a_malformed_stream(
        wire_server: WireServer, protocol: str) -> None:
    seen: list[Any] = []
    error = await streamed(wire_server, protocol, CUT_STREAMS[protocol], seen)
    assert isinstance(error, MalformedStreamError) and error.fail_over
    assert "ended without" in str(error)
    assert seen == ["The answer is"]  # what came was passed on, and no end was made up


@pytest.mark.parametrize("ending", ["[DONE] only", "finish_reason only"])
async def test_an_openai_compatible_stream_with_either_end_marker_is_complete(
        wire_server: WireServer, ending: str) -> None:
    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": '{"x": 1}'}}
    body = sse_event({"choices": [{"index": 0, "delta": {"tool_calls": [call]},
                                   **({"finish_reason": "tool_calls"}
                                      if ending == "finish_reason only" else {})}]})
    if ending == "[DONE] only":
        body += sse_event(b"[DONE]")
    seen: list[Any] = []
    assert await streamed(wire_server, "openai", body, seen) is None
    assert [item.parameters for item in seen if isinstance(item, ToolCall)] == [{"x": 1}]


def anthropic_open_tool_block(stop_reason: str | None) -> bytes:
    body = ANTHROPIC_START + sse_event(
        {"type": "content_block_start", "index": 1,
         "content_block": {"type": "tool_use", "id": "tu1", "name": "delete", "input": {}}},
        "content_block_start") + sse_event(
        {"type": "content_block_delta", "index": 1,
         "delta": {"type": "input_json_delta", "partial_json": '{"path": "/tmp"}'}},
        "content_block_delta")
    if stop_reason:
        body += sse_event({"type": "message_delta", "delta": {"stop_reason": stop_reason},
                           "usage": {"output_tokens": 5}}, "message_delta")
    return body


async def test_an_anthropic_tool_block_that_never_ended_is_never_runnable(
        wire_server: WireServer) -> None:
    seen: list[Any] = []
    # Its JSON happens to be whole, but the block never ended: the turn was cut.
    assert await streamed(wire_server, "anthropic", anthropic_open_tool_block("max_tokens"),
                          seen) is None
    calls = [item for item in seen if isinstance(item, ToolCall)]
    assert len(calls) == 1 and calls[0].parameters == {RAW_ARGUMENTS_KEY: '{"path": "/tmp"}'}
    assert TurnEnd("length", "max_tokens") in seen


async def test_an_anthropic_stream_cut_inside_a_tool_block_yields_no_call(
        wire_server: WireServer) -> None:
    seen: list[Any] = []
    error = await streamed(wire_server, "anthropic", anthropic_open_tool_block(None), seen)
    assert isinstance(error, MalformedStreamError)
    assert not [item for item in seen if isinstance(item, ToolCall)]
