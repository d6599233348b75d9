"""A 200 answer to a stream request is checked by its content type.

An HTML page (a captive portal, a proxy's error page) used to decode as an empty answer.
Now anything but the framing's types is a MalformedStreamError (which fails over) naming
the type and the start of the body; a whole JSON answer where SSE was asked for (a proxy
that ignored `"stream": true`) is yielded alone as a WholeJson. Lenient where real servers
are: charset parameters, letter case, and no content type at all."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from wire_server import WireServer

from selectools.providers._framing import SseEvent, WholeJson
from selectools.providers._http import Framing, HttpTransport
from selectools.providers._status import error_for_status
from selectools.providers.errors import MalformedStreamError, ProviderError
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role

WIRE = Path(__file__).parent / "fixtures" / "wire"
HTML = b"<!DOCTYPE html><html><head><title>Sign in to the Wi-Fi</title></head></html>"
SSE = b'data: {"a": 1}\n\ndata: [DONE]\n\n'
NDJSON = b'{"a": 1}\n{"done": true}\n'


def _error(status: int, headers: Any, body: bytes) -> ProviderError:
    return error_for_status(provider="test", status=status, message=body.decode(),
                            headers=headers)


async def _events(url: str, framing: Framing) -> list[Any]:
    transport = HttpTransport(provider="test", base_url=url, error_from_response=_error)
    try:
        return [event async for event in transport.post_events("/c", {}, framing=framing)]
    finally:
        await transport.aclose()


@pytest.mark.parametrize(("framing", "content_type"), [
    ("sse", "text/html; charset=utf-8"), ("sse", "text/plain"),
    ("sse", "application/x-ndjson"), ("ndjson", "text/html"), ("ndjson", "text/event-stream"),
])
async def test_a_page_where_a_stream_was_asked_is_a_typed_error(
        wire_server: WireServer, framing: Framing, content_type: str) -> None:
    wire_server.reply(body=HTML, content_type=content_type)
    with pytest.raises(MalformedStreamError) as caught:
        await _events(wire_server.url, framing)
    message = str(caught.value)
    assert content_type.partition(";")[0] in message and "Sign in to the Wi-Fi" in message
    assert caught.value.fail_over and caught.value.status == 200


async def test_a_whole_json_answer_where_sse_was_asked_is_one_whole_json(
        wire_server: WireServer) -> None:
    body = json.loads((WIRE / "openai_chat_tool_call_single.json").read_text())
    wire_server.reply(body=body, content_type="application/json; charset=utf-8")
    assert await _events(wire_server.url, "sse") == [WholeJson(body)]


@pytest.mark.parametrize("body", [b"", b"<html>not json</html>", b'{"cut": '])
async def test_a_json_typed_answer_that_is_not_json_is_a_typed_error(
        wire_server: WireServer, body: bytes) -> None:
    wire_server.reply(body=body, content_type="application/json")
    with pytest.raises(MalformedStreamError, match="application/json"):
        await _events(wire_server.url, "sse")


@pytest.mark.parametrize(("framing", "content_type", "body", "first"), [
    ("sse", "text/event-stream", SSE, SseEvent(None, '{"a": 1}')),
    ("sse", "Text/Event-Stream; charset=UTF-8", SSE, SseEvent(None, '{"a": 1}')),
    ("ndjson", "application/x-ndjson", NDJSON, {"a": 1}),
    ("ndjson", "application/json; charset=utf-8", NDJSON, {"a": 1}),
    ("ndjson", "application/jsonl", NDJSON, {"a": 1}),
])
async def test_stream_types_real_servers_send_are_streams(
        wire_server: WireServer, framing: Framing, content_type: str, body: bytes,
        first: Any) -> None:
    wire_server.reply(body=body, content_type=content_type, chunk_size=7)
    events = await _events(wire_server.url, framing)
    assert events[0] == first and len(events) == 2


@asynccontextmanager
async def _server_without_content_type(body: bytes) -> AsyncIterator[str]:
    """Answers every request with `body` and no Content-Type header at all."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                     % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(("framing", "body", "first"), [
    ("sse", SSE, SseEvent(None, '{"a": 1}')), ("ndjson", NDJSON, {"a": 1})])
async def test_no_content_type_at_all_is_taken_as_the_stream_asked_for(
        framing: Framing, body: bytes, first: Any) -> None:
    async with _server_without_content_type(body) as url:
        assert (await _events(url, framing))[0] == first


async def test_a_provider_stream_answered_by_a_page_fails_and_does_not_retry(
        wire_server: WireServer) -> None:
    wire_server.reply(body=HTML, content_type="text/html")
    provider = OpenAIProvider(base_url=wire_server.url + "/v1", api_key="sk-test")
    try:
        with pytest.raises(MalformedStreamError, match="text/html"):
            async for _ in provider.astream(model="m", system_prompt="",
                                            messages=[Message(role=Role.USER, content="hi")]):
                pass
    finally:
        await provider.aclose()
    assert len(wire_server.requests) == 1  # the same server sends the same page
