"""A provider's pooled plain-HTTP connections read at most `READ_SIZE` (64 KiB) a recv
(providers/_connector.py: asyncio's default, 256 KiB, is a fresh buffer over glibc's mmap
threshold on every read), and answers of any size still arrive whole through them. A real
HTTP/1.1 server on 127.0.0.1 (test_http_answer_limits's)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from test_http_answer_limits import FloodServer, whole

from selectools.providers._connector import READ_SIZE
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role

_ASK = [Message(Role.USER, "hello")]


def _answer(content: str) -> dict[str, object]:
    return {"id": "c1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


@pytest.fixture
def server() -> Iterator[FloodServer]:
    with FloodServer() as running:
        yield running


def _read_sizes(provider: OpenAIProvider) -> list[int | None]:
    """What each pooled connection of the provider asks of a recv."""
    session, _ = provider._transport._pool()
    connector: Any = session.connector
    return [getattr(protocol.transport, "max_size", None)
            for connections in connector._conns.values() for protocol, _ in connections]


async def test_pooled_connections_read_64_kib_and_answers_still_arrive_whole(
        server: FloodServer) -> None:
    big = "x" * (3 * 1024 * 1024 + 17)  # 48 reads and a bit on one connection
    pieces = [f"token {index} " for index in range(3000)]  # about 270 KB of events
    stream = b"".join(
        b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": piece},
                                              "finish_reason": None}]}).encode() + b"\n\n"
        for piece in pieces) + b"data: [DONE]\n\n"
    server.queue(whole(_answer("first")), whole(_answer(big)),
                 whole(stream, chunked=True, content_type="text/event-stream"))
    provider = OpenAIProvider(base_url=server.url, api_key="k")
    try:
        first, _ = await provider.acomplete(messages=_ASK)
        assert first.content == "first"
        assert _read_sizes(provider) == [READ_SIZE]
        second, _ = await provider.acomplete(messages=_ASK)
        assert second.content == big
        streamed = [item async for item in provider.astream(messages=_ASK)]
        assert "".join(item for item in streamed if isinstance(item, str)) == "".join(pieces)
        assert _read_sizes(provider) == [READ_SIZE]
    finally:
        await provider.aclose()
    assert server.served.connections == 1  # one connection, reused, read in 64 KiB pieces
