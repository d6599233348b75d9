"""An error a server reports inside a 200 answer or stream gets one typed error on every
protocol: by its HTTP-like code, else its type word, else a server failure that is retried
and fails over (a FallbackProvider moves on to the next provider). Through a loopback server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from wire_replay import WIRES
from wire_server import WireServer

from selectools.providers.errors import (
    ContextLengthError,
    InvalidRequestError,
    OverloadedError,
    ProviderError,
    RateLimitError,
    ServerError,
    StreamError,
)
from selectools.providers.fallback import FallbackProvider
from selectools.types import Message, Role

ASK = [Message(Role.USER, "Hello?")]
BACKUP = {"choices": [{"message": {"content": "from backup"}, "finish_reason": "stop"}]}


def untyped(protocol: str) -> Any:
    """The error object `protocol`'s servers send, with nothing that tells its kind."""
    if protocol == "openai":
        return {"error": {"message": "upstream failed"}}
    if protocol == "anthropic":
        return {"type": "error", "error": {"message": "upstream failed"}}
    if protocol == "gemini":
        return {"error": {"message": "upstream failed"}}
    return {"error": "upstream failed"}


def body_of(protocol: str, payload: Any, streamed: bool) -> tuple[bytes, str]:
    data = json.dumps(payload).encode()
    if not streamed:
        return data, "application/json"
    if WIRES[protocol].ndjson:
        return data + b"\n", "application/x-ndjson"
    return b"data: " + data + b"\n\n", "text/event-stream"


async def failure_of(provider: Any, streamed: bool) -> ProviderError:
    try:
        if streamed:
            async for _ in provider.astream(model="m", messages=ASK):
                pass
        else:
            await provider.acomplete(model="m", messages=ASK)
    except ProviderError as error:
        return error
    raise AssertionError("the call did not fail")


@pytest.mark.parametrize("protocol", list(WIRES))
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "stream"])
async def test_an_untyped_error_inside_a_200_is_a_server_failure_that_fails_over(
        wire_server: WireServer, protocol: str, streamed: bool) -> None:
    failing = WIRES[protocol].provider(wire_server.url)
    backup = WIRES["openai"].provider(wire_server.url)
    body, content_type = body_of(protocol, untyped(protocol), streamed)
    wire_server.reply(body=body, content_type=content_type)
    wire_server.reply(body=BACKUP)  # a whole answer also serves a stream request
    fallback = FallbackProvider([failing, backup])
    try:
        if streamed:
            items = [item async for item in fallback.astream(model="m", messages=ASK)]
            assert "from backup" in items
        else:
            message, _ = await fallback.acomplete(model="m", messages=ASK)
            assert message.content == "from backup"
        # The same error alone: the kind a retry and a fallback act on.
        wire_server.reply(body=body, content_type=content_type)
        error = await failure_of(failing, streamed)
    finally:
        await failing.aclose()
        await backup.aclose()
    assert isinstance(error, StreamError if streamed else ServerError)
    assert error.should_retry and error.fail_over
    assert "upstream failed" in str(error) and error.provider == protocol


def typed(protocol: str, word: str) -> Any:
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": word, "message": "said so"}}
    if protocol == "ollama":
        return {"error": {"type": word, "message": "said so"}}  # a gateway's error object
    return {"error": {"type": word, "message": "said so"}}


@pytest.mark.parametrize("protocol", list(WIRES))
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize(("word", "expected"), [
    ("rate_limit_error", RateLimitError), ("overloaded_error", OverloadedError),
    ("invalid_request_error", InvalidRequestError),
    ("context_length_exceeded", ContextLengthError)])
async def test_an_error_type_word_picks_the_same_class_on_every_protocol(
        wire_server: WireServer, protocol: str, streamed: bool, word: str,
        expected: type[ProviderError]) -> None:
    provider = WIRES[protocol].provider(wire_server.url)
    body, content_type = body_of(protocol, typed(protocol, word), streamed)
    wire_server.reply(body=body, content_type=content_type)
    try:
        error = await failure_of(provider, streamed)
    finally:
        await provider.aclose()
    assert type(error) is expected and error.error_type == word


@pytest.mark.parametrize("protocol", list(WIRES))
async def test_an_http_code_in_the_error_object_is_its_status(
        wire_server: WireServer, protocol: str) -> None:
    provider = WIRES[protocol].provider(wire_server.url)
    wire_server.reply(body={"error": {"code": 429, "message": "slow down",
                                      "status": "RESOURCE_EXHAUSTED"}})
    try:
        error = await failure_of(provider, streamed=False)
    finally:
        await provider.aclose()
    assert isinstance(error, RateLimitError) and error.status == 429
