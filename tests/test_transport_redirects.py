"""Credentials never follow a redirect to another origin (scheme, host and port).

aiohttp strips only Authorization and cookies when it follows a redirect to another
origin, so an Anthropic `x-api-key` or a Gemini `x-goog-api-key` went along. The transport
follows no redirect to another origin: it raises a typed ProviderError naming the status
and the Location's origin. A redirect within the origin that keeps the method (307, 308)
is followed, a bounded number of times."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from wire_server import WireServer

from selectools.providers.anthropic import AnthropicProvider
from selectools.providers.base import Provider
from selectools.providers.errors import ProviderError, RedirectError
from selectools.providers.gemini import GeminiProvider
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role

KEY = "sk-redirect-secret-123"
WIRE = Path(__file__).parent / "fixtures" / "wire"

# (provider, header carrying the key, its value, a whole answer, a streamed answer)
STYLES: dict[str, tuple[Callable[[str], Provider], str, str, str, str]] = {
    "bearer": (lambda url: OpenAIProvider(base_url=url + "/v1", api_key=KEY),
               "authorization", f"Bearer {KEY}", "openai_chat_tool_call_single.json",
               "openai_chat_stream_tool_calls.sse"),
    "x-api-key": (lambda url: AnthropicProvider(base_url=url, api_key=KEY),
                  "x-api-key", KEY, "anthropic_messages_tool_use.json",
                  "anthropic_messages_stream_tool_use.sse"),
    "x-goog-api-key": (lambda url: GeminiProvider(base_url=url, api_key=KEY),
                       "x-goog-api-key", KEY, "gemini_generate_content_function_call.json",
                       "gemini_stream_function_call.sse"),
}


@pytest.fixture
def elsewhere() -> Iterator[WireServer]:
    """A second server on another port: another origin, recording what reaches it."""
    with WireServer() as server:
        yield server


def _answer(name: str) -> bytes:
    import json

    raw = (WIRE / name).read_bytes()
    data = json.loads(raw) if name.endswith(".json") else None
    # Some recorded answers wrap the body with the status and headers they came with.
    if isinstance(data, dict) and "body" in data and "status" in data:
        return json.dumps(data["body"]).encode()
    return raw


async def _call(provider: Provider, stream: bool) -> object:
    messages = [Message(role=Role.USER, content="hi")]
    try:
        if stream:
            return [item async for item in provider.astream(  # type: ignore[attr-defined]
                model="m", system_prompt="", messages=messages)]
        return await provider.acomplete(  # type: ignore[attr-defined]
            model="m", system_prompt="", messages=messages)
    finally:
        await provider.aclose()  # type: ignore[attr-defined]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("status", [307, 308, 301, 302, 303])
@pytest.mark.parametrize("style", list(STYLES))
async def test_a_redirect_to_another_origin_is_an_error_and_the_key_stays_home(
        wire_server: WireServer, elsewhere: WireServer, style: str, status: int,
        stream: bool) -> None:
    make, header, value, whole, streamed = STYLES[style]
    elsewhere.reply(body=_answer(streamed if stream else whole),
                    content_type="text/event-stream" if stream else "application/json")
    wire_server.reply(status, b"", headers={
        "Location": f"{elsewhere.url}/steal?token=hunter2&key=1"})
    with pytest.raises(ProviderError) as caught:
        await _call(make(wire_server.url), stream)
    assert not elsewhere.requests  # nothing at all reached the other origin
    error = caught.value
    assert isinstance(error, RedirectError) and error.fail_over  # another provider may answer
    assert error.status == status and not error.should_retry
    assert elsewhere.url in str(error)  # the origin it pointed to...
    assert "hunter2" not in str(error) and "/steal" not in str(error)  # ...not its path or query
    assert KEY not in str(error)
    assert wire_server.requests[0].headers[header] == value  # the right origin had it


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("style", list(STYLES))
async def test_a_307_within_the_origin_is_followed_with_the_same_request(
        wire_server: WireServer, style: str, stream: bool) -> None:
    make, header, value, whole, streamed = STYLES[style]
    wire_server.reply(307, b"", headers={"Location": "/moved/here"})
    wire_server.reply(body=_answer(streamed if stream else whole),
                      content_type="text/event-stream" if stream else "application/json")
    answer = await _call(make(wire_server.url), stream)
    assert answer
    first, second = wire_server.requests
    assert second.path == "/moved/here" and second.method == "POST"
    assert second.body == first.body and second.headers[header] == value


async def test_a_redirect_within_the_origin_that_would_become_a_get_is_an_error(
        wire_server: WireServer) -> None:
    wire_server.reply(302, b"", headers={"Location": "/elsewhere"})
    with pytest.raises(ProviderError, match="302") as caught:
        await _call(STYLES["bearer"][0](wire_server.url), stream=False)
    assert len(wire_server.requests) == 1 and caught.value.status == 302


async def test_redirects_are_followed_a_bounded_number_of_times(
        wire_server: WireServer) -> None:
    for _ in range(10):
        wire_server.reply(307, b"", headers={"Location": "/again"})
    with pytest.raises(ProviderError, match="redirects"):
        await _call(STYLES["bearer"][0](wire_server.url), stream=False)
    assert len(wire_server.requests) <= 6


async def test_a_redirect_without_a_location_is_an_error(wire_server: WireServer) -> None:
    wire_server.reply(307, b"")
    with pytest.raises(ProviderError, match="Location"):
        await _call(STYLES["x-api-key"][0](wire_server.url), stream=True)
