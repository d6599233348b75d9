"""Keys a server echoes never reach the retry loop's log, `on_retry`, an error's attributes,
or a message that quotes only the start of a body (a key cut by the quote is still masked);
credentials in a base URL are secrets too. Every protocol, through a loopback server."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from wire_replay import WIRES
from wire_server import WireServer

from selectools.providers.errors import ProviderError
from selectools.types import Message, Role

KEY = "sk-live-0123456789abcdefSECRET"
ASK = [Message(Role.USER, "Hello?")]
NO_WAIT = {"retry-after": "0"}  # the retry comes at once: no backoff in a test


def echo(protocol: str) -> Any:
    """A 500 body of `protocol` that echoes the key."""
    text = f"invalid key {KEY}"
    if protocol == "openai":
        return {"error": {"message": text, "type": "server_error"}}
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": "api_error", "message": text}}
    if protocol == "gemini":
        return {"error": {"code": 500, "message": text, "status": "INTERNAL"}}
    return {"error": text}


def texts_of(error: BaseException) -> list[str]:
    """Every text an error shows: str, repr, args, attributes, and those of its chain."""
    found: list[str] = []
    link: BaseException | None = error
    while link is not None:
        found += [str(link), repr(link), *map(str, link.args)]
        found += [str(value) for value in vars(link).values()]
        link = link.__cause__ or link.__context__
    return found


def assert_clean(error: BaseException, secret: str = KEY, shown: int = 4) -> None:
    """Neither the secret nor more than `shown - 1` of its first characters appear."""
    for text in texts_of(error):
        assert secret[:shown] not in text, f"{type(error).__name__} shows the key: {text[:300]}"


def stream_type(protocol: str) -> str:
    return "application/x-ndjson" if WIRES[protocol].ndjson else "text/event-stream"


@pytest.mark.parametrize("protocol", list(WIRES))
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "stream"])
async def test_the_retry_log_and_on_retry_never_see_an_echoed_key(
        wire_server: WireServer, protocol: str, streamed: bool,
        caplog: pytest.LogCaptureFixture) -> None:
    retried: list[ProviderError] = []
    provider = WIRES[protocol].provider(wire_server.url, key=KEY).with_options(
        max_retries=1, on_retry=lambda attempt, error, delay: retried.append(error))
    wire_server.reply(500, body=echo(protocol), headers=NO_WAIT)
    wire = WIRES[protocol]
    caplog.set_level(logging.DEBUG, logger="selectools")
    try:
        if streamed:
            wire_server.reply(body=wire.stream_bytes(), content_type=stream_type(protocol))
            items = [item async for item in provider.astream(model="m", messages=ASK)]
            assert items
        else:
            wire_server.reply(body=wire.whole())
            message, _ = await provider.acomplete(model="m", messages=ASK)
            assert message.tool_calls
    finally:
        await provider.aclose()
    assert len(retried) == 1 and len(wire_server.requests) == 2
    assert_clean(retried[0])
    assert "***" in retried[0].message  # the rest of the server's words are kept
    logged = [record.getMessage() for record in caplog.records]
    assert any("retry 1/1" in line for line in logged)
    assert not [line for line in logged if KEY[:4] in line]


async def failure_of(call: Any) -> ProviderError:
    try:
        await call()
    except ProviderError as error:
        return error
    raise AssertionError("the call did not fail")


# How many of the key's characters a quote keeps before it is cut: the fewest that are
# masked, some, and all but the last.
KEPT = [4, 12, len(KEY) - 1]


@pytest.mark.parametrize("protocol", list(WIRES))
@pytest.mark.parametrize("kept", KEPT)
async def test_a_key_cut_by_the_quote_of_an_error_body_is_masked(
        wire_server: WireServer, protocol: str, kept: int) -> None:
    provider = WIRES[protocol].provider(wire_server.url, key=KEY)
    # The quote of a body is 200 characters: the key straddles the cut.
    wire_server.reply(500, body="y" * (200 - kept) + KEY, content_type="text/plain")
    try:
        error = await failure_of(lambda: provider.acomplete(model="m", messages=ASK))
    finally:
        await provider.aclose()
    assert "yyyy***..." in error.message
    assert_clean(error)


@pytest.mark.parametrize("protocol", list(WIRES))
@pytest.mark.parametrize("kept", KEPT)
async def test_a_key_cut_by_the_quote_of_a_stream_event_is_masked(
        wire_server: WireServer, protocol: str, kept: int) -> None:
    provider = WIRES[protocol].provider(wire_server.url, key=KEY)
    line = ("x" * (200 - kept) + KEY).encode()
    body = line + b"\n" if WIRES[protocol].ndjson else b"data: " + line + b"\n\n"
    wire_server.reply(body=body, content_type=stream_type(protocol))

    async def stream() -> None:
        async for _ in provider.astream(model="m", messages=ASK):
            pass

    try:
        error = await failure_of(stream)
    finally:
        await provider.aclose()
    assert "xxxx***..." in error.message
    assert_clean(error)


@pytest.mark.parametrize("kept", KEPT)
async def test_a_key_cut_by_the_description_of_a_wrong_value_is_masked(
        wire_server: WireServer, kept: int) -> None:
    provider = WIRES["openai"].provider(wire_server.url, key=KEY)
    # A wrong value is described by its first 80 characters of repr (its quote, then text).
    wire_server.reply(body={"choices": "x" * (79 - kept) + KEY})
    try:
        error = await failure_of(lambda: provider.acomplete(model="m", messages=ASK))
    finally:
        await provider.aclose()
    assert "choices is a string" in error.message and "xxxx***..." in error.message
    assert_clean(error)


TOKEN = "PROXYTOKEN123"


def with_userinfo(url: str, user: str = "proxyuser", password: str = TOKEN) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{user}:{password}@{rest}"


def closed_port_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there now: connections are refused


@pytest.mark.parametrize("protocol", list(WIRES))
async def test_credentials_in_the_base_url_are_sent_but_never_shown(
        wire_server: WireServer, protocol: str) -> None:
    from selectools.providers.fallback import AllProvidersFailedError, FallbackProvider

    # No key of its own: the URL's credentials are the Authorization (Basic) header.
    provider = WIRES[protocol].provider(with_userinfo(wire_server.url), key=None)
    dead = WIRES[protocol].provider(with_userinfo(closed_port_url()), key=None)
    wire_server.reply(500, body=f"proxy refused proxyuser:{TOKEN}", content_type="text/plain")
    fallback = FallbackProvider([dead, provider])
    try:
        error = await failure_of(lambda: fallback.acomplete(model="m", messages=ASK))
    finally:
        await provider.aclose()
        await dead.aclose()
    assert isinstance(error, AllProvidersFailedError)
    sent = wire_server.requests[0].headers["Authorization"]
    assert sent.startswith("Basic ") and TOKEN not in sent  # sent, base64-encoded
    for shown in (repr(provider), provider.base_url, repr(dead), dead.base_url,
                  *texts_of(error), *[str(e) for _, e in error.failures]):
        assert TOKEN not in shown and "proxyuser" not in shown, shown
        assert sent.removeprefix("Basic ") not in shown
    assert provider.base_url.startswith("http://127.0.0.1:")
    assert "connection to http://127.0.0.1:" in str(error.failures[0][1])
    assert "proxy refused ***:***" in str(error.failures[1][1])


def typed_error(protocol: str) -> Any:
    """A 400 body of `protocol` whose error type (or status) echoes the key."""
    if protocol == "openai":
        return {"error": {"message": "bad", "type": f"invalid {KEY}", "code": None}}
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": f"invalid {KEY}", "message": "bad"}}
    if protocol == "gemini":
        return {"error": {"code": 400, "message": "bad", "status": f"INVALID {KEY}"}}
    return {"error": "bad"}


@pytest.mark.parametrize("protocol", list(WIRES))
async def test_no_attribute_of_the_error_keeps_an_echoed_key(
        wire_server: WireServer, protocol: str) -> None:
    provider = WIRES[protocol].provider(wire_server.url, key=KEY)
    wire_server.reply(400, body=typed_error(protocol), headers={"x-request-id": f"req {KEY}"})
    try:
        error = await failure_of(lambda: provider.acomplete(model="m", messages=ASK))
    finally:
        await provider.aclose()
    assert error.request_id == "req ***"
    if protocol != "ollama":
        assert error.error_type is not None and "***" in error.error_type
    assert_clean(error)


def test_credentials_in_the_base_url_and_a_bearer_key_are_refused_without_showing_them(
        ) -> None:
    from selectools.providers.openai import OpenAIProvider

    with pytest.raises(ValueError, match="carries credentials") as caught:
        OpenAIProvider(base_url=with_userinfo("http://127.0.0.1:1") + "/v1", api_key=KEY)
    assert TOKEN not in str(caught.value) and KEY not in str(caught.value)
    assert "http://127.0.0.1:1/v1" in str(caught.value)
