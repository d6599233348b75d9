"""Answers of the wrong shape as a whole, and streams that end without their end marker,
are typed errors on every protocol, never an empty "completed" answer. Through a loopback
server."""

from __future__ import annotations

from typing import Any

import pytest
from wire_replay import WIRES
from wire_server import WireServer

from selectools.providers.errors import (
    MalformedResponseError,
    ProviderError,
    ServerError,
)
from selectools.types import Message, Role

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
