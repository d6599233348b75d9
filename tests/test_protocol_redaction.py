"""A server that echoes the API key back never gets it into an exception: on every protocol,
whether it comes in an error inside a 200 body, a mid-stream error event, an event that is
not JSON or an error status's body, the key is in neither str(exc), repr(exc), exc.args nor
any exception the error is chained to."""

from __future__ import annotations

import json
from typing import Any

import pytest
from wire_replay import WIRES
from wire_server import WireServer

from selectools.providers.errors import ProviderError
from selectools.types import Message, Role

KEY = "sk-live-0123456789abcdefSECRET"
ASK = [Message(Role.USER, "Hello?")]
ECHO = f"invalid key {KEY} for this model"


def error_payload(protocol: str) -> Any:
    if protocol == "openai":
        return {"error": {"message": ECHO, "type": "invalid_request_error", "code": KEY}}
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": "api_error", "message": ECHO}}
    if protocol == "gemini":
        return {"error": {"code": 500, "message": ECHO, "status": "INTERNAL"}}
    return {"error": ECHO}


def sse(payload: Any, protocol: str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    event = b"event: error\n" if protocol == "anthropic" and not isinstance(payload, str) else b""
    return event + b"data: " + data.encode() + b"\n\n"


def stream_body(protocol: str, payload: Any) -> bytes:
    if WIRES[protocol].ndjson:
        line = payload if isinstance(payload, str) else json.dumps(payload)
        return json.dumps({"message": {"content": "Hi"}, "done": False}).encode() + b"\n" + \
            line.encode() + b"\n"
    return sse(payload, protocol)


def chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in found:
        found.append(link)
        link = link.__cause__ or link.__context__
    return found


def assert_no_key(exc: BaseException) -> None:
    for link in chain(exc):
        for text in (str(link), repr(link), *map(repr, link.args), *map(str, link.args)):
            assert KEY not in text, f"key in {type(link).__name__}: {text[:200]}"
    assert isinstance(exc, ProviderError)


async def failure(call: Any) -> BaseException:
    try:
        await call()
    except Exception as exc:
        return exc
    raise AssertionError("the call did not fail")


@pytest.mark.parametrize("protocol", list(WIRES))
@pytest.mark.parametrize("case", ["error in a 200 body", "mid-stream error event",
                                  "event not JSON", "error status body"])
async def test_the_key_a_server_echoes_is_never_in_the_error(
        wire_server: WireServer, protocol: str, case: str) -> None:
    provider = WIRES[protocol].provider(wire_server.url, key=KEY)

    async def whole() -> None:
        await provider.acomplete(model="m", messages=ASK)

    async def stream() -> None:
        async for _ in provider.astream(model="m", messages=ASK):
            pass

    stream_type = "application/x-ndjson" if WIRES[protocol].ndjson else "text/event-stream"
    if case == "error in a 200 body":
        wire_server.reply(body=error_payload(protocol))
        call = whole
    elif case == "mid-stream error event":
        wire_server.reply(body=stream_body(protocol, error_payload(protocol)),
                          content_type=stream_type)
        call = stream
    elif case == "event not JSON":
        wire_server.reply(body=stream_body(protocol, f"<html>denied for {KEY}</html>"),
                          content_type=stream_type)
        call = stream
    else:
        wire_server.reply(401, body=error_payload(protocol))
        call = whole
    try:
        exc = await failure(call)
    finally:
        await provider.aclose()
    assert wire_server.requests, "the server was called"
    assert_no_key(exc)
    assert "***" in str(exc)  # the rest of the server's words are kept
