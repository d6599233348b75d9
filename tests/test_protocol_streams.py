"""Streams on every protocol: one TurnEnd saying why the turn ended (the protocol's finish
reason in our vocabulary), a whole answer where a stream was asked for decoded as that
answer, and an empty 200 stream a typed error that fails over."""

from __future__ import annotations

import json
from typing import Any

import pytest
from wire_replay import WIRE, WIRES, decoded, whole_with_call
from wire_server import WireServer

from selectools.providers._framing import WholeJson
from selectools.providers.errors import MalformedStreamError, ProviderError, StreamError
from selectools.providers.fallback import FallbackProvider
from selectools.providers.stubs import LocalProvider
from selectools.testing import TranscriptProvider
from selectools.types import Message, Role, ToolCall, TurnEnd
from selectools.usage import UsageStats

PROTOCOLS = list(WIRES)
ASK = [Message(Role.USER, "Hello?")]


def openai_stream(reason: str) -> bytes:
    chunks = [{"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]},
              {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]},
              {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1}}]
    return b"".join(b"data: %s\n\n" % json.dumps(c).encode() for c in chunks) + \
        b"data: [DONE]\n\n"


def anthropic_stream(reason: str) -> bytes:
    events = [
        ("message_start", {"type": "message_start", "message": {"model": "m", "usage": {
            "input_tokens": 1, "output_tokens": 0}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Hi"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": reason},
                           "usage": {"output_tokens": 1}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(b"event: %s\ndata: %s\n\n" % (name.encode(), json.dumps(data).encode())
                    for name, data in events)


def gemini_stream(reason: str) -> bytes:
    chunks = [{"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}}]},
              {"candidates": [{"content": {"role": "model", "parts": [{"text": "!"}]},
                               "finishReason": reason}],
               "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 2}}]
    return b"".join(b"data: %s\n\n" % json.dumps(c).encode() for c in chunks)


def ollama_stream(reason: str) -> bytes:
    lines = [{"message": {"role": "assistant", "content": "Hi"}, "done": False},
             {"message": {"role": "assistant", "content": ""}, "done": True,
              "done_reason": reason, "prompt_eval_count": 1, "eval_count": 1}]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


STREAMS = {"openai": openai_stream, "anthropic": anthropic_stream, "gemini": gemini_stream,
           "ollama": ollama_stream}

# (protocol, the protocol's word, ours)
REASONS = [
    ("openai", "stop", "completed"), ("openai", "length", "length"),
    ("openai", "content_filter", "content_filter"),
    ("anthropic", "end_turn", "completed"), ("anthropic", "stop_sequence", "completed"),
    ("anthropic", "max_tokens", "length"),
    ("anthropic", "model_context_window_exceeded", "length"),
    ("anthropic", "refusal", "content_filter"),
    ("gemini", "STOP", "completed"), ("gemini", "MAX_TOKENS", "length"),
    ("gemini", "SAFETY", "content_filter"), ("gemini", "RECITATION", "content_filter"),
    ("gemini", "PROHIBITED_CONTENT", "content_filter"),
    ("gemini", "MALFORMED_FUNCTION_CALL", "error"), ("gemini", "OTHER", "error"),
    ("ollama", "stop", "completed"), ("ollama", "length", "length"),
]


@pytest.mark.parametrize(("protocol", "raw", "reason"), REASONS,
                         ids=[f"{p}-{r}" for p, r, _ in REASONS])
def test_one_turn_end_before_the_usage_names_why_the_stream_ended(
        protocol: str, raw: str, reason: str) -> None:
    items = WIRES[protocol].decode(STREAMS[protocol](raw))
    ends = [item for item in items if isinstance(item, TurnEnd)]
    assert ends == [TurnEnd(reason, raw)]  # type: ignore[arg-type]
    assert items[-2] is ends[0] and isinstance(items[-1], UsageStats)
    assert "".join(i for i in items if isinstance(i, str)).startswith("Hi")


def _whole_with_reason(protocol: str, raw: str) -> Any:
    data = whole_with_call(protocol, "weather", "{}")
    if protocol == "openai":
        data["choices"][0]["finish_reason"] = raw
    elif protocol == "anthropic":
        data["stop_reason"] = raw
    elif protocol == "gemini":
        data["candidates"][0]["finishReason"] = raw
    else:
        data["done_reason"] = raw
    return data


@pytest.mark.parametrize(("protocol", "raw", "reason"), REASONS,
                         ids=[f"{p}-{r}" for p, r, _ in REASONS])
def test_a_whole_answer_carries_the_same_stop_reason(protocol: str, raw: str,
                                                     reason: str) -> None:
    message, _ = WIRES[protocol].module.parse_response(_whole_with_reason(protocol, raw), "m")
    # A normal end of a turn that calls tools is "tool_calls" on every protocol.
    assert message.stop_reason == ("tool_calls" if reason == "completed" else reason)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_authentic_tool_call_streams_end_with_tool_calls(protocol: str) -> None:
    items = WIRES[protocol].decode(WIRES[protocol].stream_bytes())
    [end] = [item for item in items if isinstance(item, TurnEnd)]
    assert end.reason == "tool_calls"
    assert items.index(end) > max(i for i, item in enumerate(items)
                                  if isinstance(item, ToolCall))


def test_local_and_transcript_providers_end_their_turns_too(wire_dir: Any) -> None:
    local = LocalProvider(responses=["Hello there.", ToolCall("now", {}, id="n1")])
    assert [i for i in local.stream(messages=ASK) if isinstance(i, TurnEnd)] == [
        TurnEnd("completed")]
    message, _ = local.complete(messages=ASK)
    assert message.stop_reason == "tool_calls"
    replay = TranscriptProvider([wire_dir / "anthropic_messages_stream_tool_use_max_tokens_"
                                 "incomplete_json.sse"], protocol="anthropic")
    cut, _ = replay.complete(messages=ASK)
    assert cut.stop_reason == "length" and cut.tool_calls


# -- a whole answer where a stream was asked for -----------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_whole_answer_in_place_of_a_stream_is_that_answer(protocol: str) -> None:
    # What the transport yields, alone, when a proxy ignored "stream": true.
    wire = WIRES[protocol]
    whole = wire.whole()
    streamed = decoded(wire.module.decode_stream, [WholeJson(whole)], "m")
    message, usage = wire.module.parse_response(whole, "m")
    expected = [*([message.content] if message.content else []), *(message.tool_calls or []),
                TurnEnd(message.stop_reason), usage]
    assert list(map(_without_id, streamed)) == list(map(_without_id, expected))
    assert message.tool_calls and message.stop_reason == "tool_calls"


def _without_id(item: Any) -> Any:
    """Ids made for calls that came without one differ from one decode to the next (and
    a TurnEnd's raw word is the protocol's, which a whole answer does not repeat)."""
    if isinstance(item, TurnEnd):
        return item.reason
    return (item.tool_name, item.parameters) if isinstance(item, ToolCall) else item


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_error_object_in_place_of_a_stream_is_raised(protocol: str) -> None:
    error: dict[str, Any] = {"error": {"message": "quota gone", "type": "error", "code": 500}}
    if protocol == "anthropic":
        error = {"type": "error", "error": {"type": "api_error", "message": "quota gone"}}
    with pytest.raises(ProviderError, match="quota gone"):
        decoded(WIRES[protocol].module.decode_stream, [WholeJson(error)], "m")


# -- an empty 200 stream -----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_stream_without_any_event_is_a_stream_error(protocol: str) -> None:
    with pytest.raises(MalformedStreamError, match="no events"):
        WIRES[protocol].decode(b"")
    with pytest.raises(MalformedStreamError):
        WIRES[protocol].decode(b"\n\n" if WIRES[protocol].ndjson else b": keep-alive\n\n")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_empty_200_stream_fails_over(wire_server: WireServer, protocol: str) -> None:
    wire = WIRES[protocol]
    content_type = "application/x-ndjson" if wire.ndjson else "text/event-stream"
    empty, sound = wire.provider(wire_server.url), wire.provider(wire_server.url)
    wire_server.reply(body=b"", content_type=content_type)
    try:
        with pytest.raises(StreamError) as caught:
            async for _ in empty.astream(model="m", messages=ASK):
                pass
        assert caught.value.fail_over
        wire_server.reply(body=b"", content_type=content_type)
        wire_server.reply_file(WIRE / wire.stream_file)
        items = [item async for item in FallbackProvider([empty, sound]).astream(
            model="m", system_prompt="", messages=ASK)]
    finally:
        await empty.aclose()
        await sound.aclose()
    assert any(isinstance(item, ToolCall) for item in items)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_proxy_that_ignored_stream_true_still_gives_the_answer(
        wire_server: WireServer, protocol: str) -> None:
    # Over HTTP: a stream was asked for, one whole JSON answer came back (application/json).
    wire = WIRES[protocol]
    provider = wire.provider(wire_server.url)
    wire_server.reply(body=wire.whole())
    try:
        items = [item async for item in provider.astream(model="m", messages=ASK)]
    finally:
        await provider.aclose()
    message, usage = wire.module.parse_response(wire.whole(), "m")
    assert [_without_id(i) for i in items] == [_without_id(i) for i in (
        *([message.content] if message.content else []), *(message.tool_calls or []),
        TurnEnd("tool_calls"), usage)]
