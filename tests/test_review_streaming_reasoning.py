"""Hostile review of issue 13, reasoning: what a broken or malicious server sends as
reasoning, and reasoning that travels to another provider, through real HTTP on 127.0.0.1
(WireServer serves recorded bodies, some altered as a broken server would send them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from wire_server import WireServer

from selectools.providers.anthropic import AnthropicProvider
from selectools.providers.errors import MalformedResponseError, MalformedStreamError
from selectools.providers.fallback import FallbackProvider
from selectools.types import Message, ReasoningPart, Role

WIRE = Path(__file__).parent / "fixtures" / "wire"
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
