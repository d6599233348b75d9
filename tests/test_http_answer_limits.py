"""Hostile input never exhausts memory: `max_response_bytes` bounds a whole answer,
`max_event_bytes` one stream event (an SSE event, an NDJSON line) and `max_stream_bytes`
a whole stream (events each well-formed and small, without end).

A real HTTP/1.1 server on 127.0.0.1 (asyncio streams, in a thread of its own) sends about
200 MB: a whole answer announced by its Content-Length, one sent chunked, a small gzip
bomb, an SSE event that never ends, an NDJSON line that never ends. The client refuses
each with a `ResponseTooLargeError` naming the limit, the bytes read, the provider and the
setting; it holds well under the payload while doing so (tracemalloc's peak); the server
sees its connection closed long before it sent everything, and the next call opens a new
one (not the refused one from the pool); a FallbackProvider moves on to the next provider;
normal answers, up to the limit's last byte, are read as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp  # noqa: F401  (imported before any measure: the first call would)
import pytest

from selectools.providers._http import MAX_EVENT_BYTES, MAX_RESPONSE_BYTES, MAX_STREAM_BYTES
from selectools.providers.anthropic import AnthropicProvider
from selectools.providers.errors import (
    MalformedResponseError,
    ProviderError,
    ResponseTooLargeError,
)
from selectools.providers.fallback import FallbackProvider, fails_over
from selectools.providers.gemini import GeminiProvider
from selectools.providers.ollama import OllamaProvider
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role

MiB = 1024 * 1024
PAYLOAD = 200 * 1000 * 1000  # what the hostile answers would send, were they read whole
_BLOCK = b" " * MiB  # (made once, before any measure: the server writes it again and again)
_ASK = [Message(Role.USER, "hello")]

_ANSWER = {"id": "c1", "object": "chat.completion", "model": "m",
           "choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "fine"}}],
           "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
_STREAM = b"".join(
    b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": piece},
                                          "finish_reason": None}]}).encode() + b"\n\n"
    for piece in ("Hi", " there", "!")) + b"data: [DONE]\n\n"


# ---------------------------------------------------------------------------------------------
# The server

Send = Callable[[asyncio.StreamWriter, "Served"], Awaitable[None]]


@dataclass
class Served:
    """What the server saw: connections opened, requests, and per answer the bytes of body
    it wrote and whether the client closed the connection before it had written them all."""

    connections: int = 0
    requests: int = 0
    sent: list[int] = field(default_factory=list)
    aborted: list[bool] = field(default_factory=list)


class FloodServer:
    """HTTP/1.1 with keep-alive; each request is answered by the next queued `Send`."""

    def __init__(self) -> None:
        self.served = Served()
        self._answers: list[Send] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, *answers: Send) -> None:
        self._answers.extend(answers)

    def __enter__(self) -> FloodServer:
        self._thread.start()
        assert self._ready.wait(5), "the server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            for writer in self._open:  # (connections kept alive by a client's pool)
                writer.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]  # a free port, the OS's

        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        self.served.connections += 1
        self._open.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.served.requests += 1
                await self._answers.pop(0)(writer, self.served)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        finally:
            self._open.discard(writer)
            writer.close()


def _head(status: int = 200, content_type: str = "application/json",
          length: int | None = None, extra: str = "") -> bytes:
    framing = f"Content-Length: {length}" if length is not None else \
        "Transfer-Encoding: chunked"
    return (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n{framing}\r\n{extra}"
            "\r\n").encode()


def whole(body: bytes | dict[str, Any], *, chunked: bool = False,
          content_type: str = "application/json") -> Send:
    """A normal answer, sent whole (Content-Length) or as one chunk."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    async def send(writer: asyncio.StreamWriter, served: Served) -> None:
        if chunked:
            writer.write(_head(content_type=content_type)
                         + f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n")
        else:
            writer.write(_head(content_type=content_type, length=len(data)) + data)
        await writer.drain()

    return send


def flood(*, chunked: bool, status: int = 200, content_type: str = "application/json",
          start: bytes = b"", block: bytes = _BLOCK, total: int = PAYLOAD,
          extra: str = "") -> Send:
    """`start`, then `block` again and again, `total` bytes in all (announced by the
    Content-Length unless `chunked`), written as fast as the client reads them, until
    it closes the connection."""

    async def send(writer: asyncio.StreamWriter, served: Served) -> None:
        sent, aborted = 0, False
        try:
            writer.write(_head(status, content_type, None if chunked else total, extra))
            first = start
            while sent < total:
                piece = first or block
                first = b""
                piece = piece[:total - sent]
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked
                             else piece)
                await writer.drain()
                sent += len(piece)
        except ConnectionError:
            aborted = True
        served.sent.append(sent)
        served.aborted.append(aborted)
        if aborted:
            raise ConnectionResetError  # (this connection is done)

    return send


@pytest.fixture
def server() -> Iterator[FloodServer]:
    with FloodServer() as running:
        yield running


def _gzip_bomb(size: int) -> bytes:
    """`size` bytes of JSON whitespace, gzipped: about a thousandth of that on the wire."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(_BLOCK) for _ in range(size // MiB)]
    return b"".join(parts) + packer.flush()


@contextlib.contextmanager
def _peak() -> Iterator[list[int]]:
    """The peak of memory traced (allocated by Python) inside the block, in bytes."""
    measured: list[int] = []
    tracemalloc.start()
    try:
        yield measured
    finally:
        measured.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


async def _drain(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


# ---------------------------------------------------------------------------------------------
# Whole answers


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_200_mb_answer_is_refused_holding_a_fraction_of_it(
        server: FloodServer, chunked: bool) -> None:
    provider = OpenAIProvider(base_url=server.url, name="hostile")
    server.queue(whole(_ANSWER), flood(chunked=chunked), whole(_ANSWER))
    try:
        await provider.acomplete(messages=_ASK)  # (aiohttp imported: not in the measure)
        with _peak() as peak, pytest.raises(ResponseTooLargeError) as caught:
            await provider.acomplete(messages=_ASK)
        # The next call is answered, on a new connection: the refused one was closed.
        message, _ = await provider.acomplete(messages=_ASK)
    finally:
        await provider.aclose()
    error = caught.value
    assert isinstance(error, MalformedResponseError) and not error.should_retry
    assert error.provider == "hostile" and error.setting == "max_response_bytes"
    assert error.limit == MAX_RESPONSE_BYTES == 32 * MiB
    text = str(error)
    assert text.startswith("hostile 200: ")
    assert "max_response_bytes=33,554,432 (32 MiB)" in text
    assert "raise the provider's max_response_bytes=" in text
    if chunked:  # read up to the limit, one read past it at most, and held no longer
        assert MAX_RESPONSE_BYTES < error.received < MAX_RESPONSE_BYTES + 2 * MiB
        assert f"{error.received:,} bytes read" in text
        assert peak[0] < MAX_RESPONSE_BYTES + 4 * MiB < PAYLOAD // 5
    else:  # refused by its Content-Length, before a byte of the body was read
        assert error.received == PAYLOAD and "(its Content-Length)" in text
        assert "refused unread" in text
        assert peak[0] < 2 * MiB
    assert message.content == "fine"
    assert server.served.requests == 3  # not retried: the same server sends the same
    assert server.served.connections == 2
    assert server.served.aborted == [True] and server.served.sent[0] < PAYLOAD // 4


async def test_a_gzip_bomb_is_refused_as_it_is_decompressed(server: FloodServer) -> None:
    bomb = _gzip_bomb(64 * MiB)
    assert len(bomb) < MiB  # announced by a Content-Length far under the limit
    server.queue(flood(chunked=False, block=bomb, total=len(bomb),
                       extra="Content-Encoding: gzip\r\n"))
    provider = OpenAIProvider(base_url=server.url)
    try:
        with _peak() as peak, pytest.raises(ResponseTooLargeError) as caught:
            await provider.acomplete(messages=_ASK)
    finally:
        await provider.aclose()
    assert MAX_RESPONSE_BYTES < caught.value.received < MAX_RESPONSE_BYTES + 2 * MiB
    assert peak[0] < MAX_RESPONSE_BYTES + 4 * MiB


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_an_answer_of_exactly_the_limit_is_read_one_byte_more_is_not(
        server: FloodServer, chunked: bool) -> None:
    body = json.dumps(_ANSWER).encode()
    server.queue(whole(body, chunked=chunked), whole(body, chunked=chunked))
    exact = OpenAIProvider(base_url=server.url, max_response_bytes=len(body))
    short = OpenAIProvider(base_url=server.url, max_response_bytes=len(body) - 1)
    try:
        message, usage = await exact.acomplete(messages=_ASK)
        with pytest.raises(ResponseTooLargeError) as caught:
            await short.acomplete(messages=_ASK)
    finally:
        await exact.aclose()
        await short.aclose()
    assert message.content == "fine" and usage.total_tokens == 4
    assert caught.value.limit == len(body) - 1 and caught.value.received == len(body)
    assert "(32 MiB)" not in str(caught.value)  # (a size under a MiB is shown in bytes)


async def test_normal_answers_reuse_their_connection(server: FloodServer) -> None:
    server.queue(*(whole(_ANSWER, chunked=index % 2 == 1) for index in range(4)))
    provider = OpenAIProvider(base_url=server.url)
    try:
        answers = [await provider.acomplete(messages=_ASK) for _ in range(4)]
    finally:
        await provider.aclose()
    assert [message.content for message, _ in answers] == ["fine"] * 4
    assert server.served.connections == 1


async def test_an_error_status_with_a_200_mb_body_is_refused_too(server: FloodServer) -> None:
    # (a stream request's error body is read whole: by the same limit)
    server.queue(flood(chunked=True, status=500))
    provider = OpenAIProvider(base_url=server.url, max_retries=0, max_response_bytes=MiB)
    try:
        with pytest.raises(ResponseTooLargeError) as caught:
            await _drain(provider.astream(messages=_ASK))
    finally:
        await provider.aclose()
    assert caught.value.status == 500 and caught.value.setting == "max_response_bytes"
    assert caught.value.limit == MiB and "(1 MiB)" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Streams


@pytest.mark.parametrize("shape", ["one-line", "many-lines"])
async def test_an_sse_event_that_never_ends_is_refused(server: FloodServer, shape: str) -> None:
    # One endless `data:` line, or `data:` lines without the blank line that ends an event.
    block = _BLOCK if shape == "one-line" else (b"data: " + b"x" * 1017 + b"\n") * 1024
    server.queue(whole(_STREAM, content_type="text/event-stream"),
                 flood(chunked=True, content_type="text/event-stream", start=b"data: ",
                       block=block),
                 whole(_STREAM, content_type="text/event-stream"))
    provider = OpenAIProvider(base_url=server.url, name="hostile")
    try:
        assert (await _drain(provider.astream(messages=_ASK)))[:3] == ["Hi", " there", "!"]
        with _peak() as peak, pytest.raises(ResponseTooLargeError) as caught:
            await _drain(provider.astream(messages=_ASK))
        after = await _drain(provider.astream(messages=_ASK))
    finally:
        await provider.aclose()
    error = caught.value
    assert error.setting == "max_event_bytes" and error.limit == MAX_EVENT_BYTES == 8 * MiB
    assert MAX_EVENT_BYTES < error.received < MAX_EVENT_BYTES + 2 * MiB
    text = str(error)
    assert text.startswith("hostile 200: stream event over max_event_bytes=8,388,608 (8 MiB)")
    assert f"{error.received:,} bytes read without the event ending" in text
    assert "raise the provider's max_event_bytes=" in text
    assert peak[0] < MAX_EVENT_BYTES + 4 * MiB < PAYLOAD // 10
    assert after[:3] == ["Hi", " there", "!"]
    # Three requests (the refused one not retried); the normal stream's connection reused
    # by it, and the third on a new one.
    assert server.served.requests == 3 and server.served.connections == 2
    assert server.served.aborted == [True] and server.served.sent[0] < PAYLOAD // 4


async def test_an_ndjson_line_that_never_ends_is_refused(server: FloodServer) -> None:
    server.queue(flood(chunked=True, content_type="application/x-ndjson",
                       start=b'{"message": {"content": "'))
    provider = OllamaProvider(host=server.url.removesuffix("/v1"), max_event_bytes=2 * MiB)
    try:
        with _peak() as peak, pytest.raises(ResponseTooLargeError) as caught:
            await _drain(provider.astream(messages=_ASK))
    finally:
        await provider.aclose()
    assert caught.value.provider == "ollama" and caught.value.limit == 2 * MiB
    assert 2 * MiB < caught.value.received < 4 * MiB
    assert peak[0] < 2 * MiB + 4 * MiB


async def test_a_stream_of_many_events_is_unaffected_by_a_small_event_limit(
        server: FloodServer) -> None:
    # 2,000 events, 300 KB in all, far over the event limit in sum and each far under it.
    pieces = [f"token {index} " for index in range(2000)]
    body = b"".join(
        b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": piece},
                                              "finish_reason": None}]}).encode() + b"\n\n"
        for piece in pieces) + b"data: [DONE]\n\n"
    assert len(body) > 100_000
    server.queue(whole(body, chunked=True, content_type="text/event-stream"))
    provider = OpenAIProvider(base_url=server.url, max_event_bytes=4096)
    try:
        items = await _drain(provider.astream(messages=_ASK))
    finally:
        await provider.aclose()
    assert "".join(item for item in items if isinstance(item, str)) == "".join(pieces)


#: One well-formed OpenAI text delta, as a hostile server repeats it without end.
_DELTA = b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": "x"},
                                             "finish_reason": None}]}).encode() + b"\n\n"


async def test_a_stream_of_small_events_without_end_is_refused_at_max_stream_bytes(
        server: FloodServer) -> None:
    server.queue(flood(chunked=True, content_type="text/event-stream",
                       block=_DELTA * (64 * 1024 // len(_DELTA))),
                 whole(_STREAM, content_type="text/event-stream"))
    provider = OpenAIProvider(base_url=server.url, name="hostile", max_stream_bytes=4 * MiB)
    texts: list[Any] = []
    try:
        with pytest.raises(ResponseTooLargeError) as caught:
            async for item in provider.astream(messages=_ASK):
                texts.append(item)
        after = await _drain(provider.astream(messages=_ASK))  # a new connection, as before
    finally:
        await provider.aclose()
    error = caught.value
    assert error.setting == "max_stream_bytes" and error.limit == 4 * MiB
    assert 4 * MiB < error.received < 5 * MiB
    assert str(error).startswith("hostile 200: stream over max_stream_bytes=4,194,304 "
                                 "(4 MiB): ")
    assert "raise the provider's max_stream_bytes=" in str(error)
    # Each event was read as it came (the limit is on the sum, not on any one event)...
    assert len(texts) > 10_000 and set(texts) == {"x"}
    # ...and the rest of the 200 MB was not: the connection was closed, not pooled.
    assert server.served.aborted[0] and server.served.sent[0] < PAYLOAD // 4
    assert after[:3] == ["Hi", " there", "!"] and server.served.connections == 2


async def test_a_stream_of_exactly_max_stream_bytes_is_read(server: FloodServer) -> None:
    server.queue(whole(_STREAM, chunked=True, content_type="text/event-stream"))
    provider = OpenAIProvider(base_url=server.url, max_stream_bytes=len(_STREAM))
    try:
        items = await _drain(provider.astream(messages=_ASK))
    finally:
        await provider.aclose()
    assert items[:3] == ["Hi", " there", "!"]


# ---------------------------------------------------------------------------------------------
# Fallback


async def test_a_fallback_moves_on_from_an_answer_too_large(server: FloodServer) -> None:
    server.queue(flood(chunked=True), whole(_ANSWER))
    failed: list[tuple[str, str, BaseException]] = []
    fallback = FallbackProvider(
        [OpenAIProvider(base_url=server.url, name="hostile", max_response_bytes=4 * MiB),
         OpenAIProvider(base_url=server.url, name="good")],
        on_fallback=lambda failed_label, next_label, error: failed.append(
            (failed_label, next_label, error)))
    try:
        message, usage = await fallback.acomplete(messages=_ASK)
    finally:
        for provider in fallback.providers:
            await provider.aclose()  # type: ignore[union-attr]
    assert message.content == "fine" and usage.provider == "good"
    [(failed_label, next_label, error)] = failed
    assert (failed_label, next_label) == ("hostile", "good")
    assert isinstance(error, ResponseTooLargeError) and fails_over(error)


async def test_a_fallback_moves_on_from_a_stream_event_too_large(server: FloodServer) -> None:
    server.queue(flood(chunked=True, content_type="text/event-stream", start=b"data: "),
                 whole(_STREAM, content_type="text/event-stream"))
    failed: list[BaseException] = []
    fallback = FallbackProvider(
        [OpenAIProvider(base_url=server.url, name="hostile", max_event_bytes=MiB),
         OpenAIProvider(base_url=server.url, name="good")],
        on_fallback=lambda failed_label, next_label, error: failed.append(error))
    try:
        items = await _drain(fallback.astream(messages=_ASK))
    finally:
        for provider in fallback.providers:
            await provider.aclose()  # type: ignore[union-attr]
    assert [item for item in items if isinstance(item, str)] == ["Hi", " there", "!"]
    [error] = failed
    assert isinstance(error, ResponseTooLargeError) and error.setting == "max_event_bytes"


# ---------------------------------------------------------------------------------------------
# The settings


def test_every_provider_takes_the_limits_and_reports_them() -> None:
    made = [OpenAIProvider(base_url="http://127.0.0.1:9", max_response_bytes=5 * MiB,
                           max_event_bytes=MiB),
            AnthropicProvider(base_url="http://127.0.0.1:9", max_response_bytes=5 * MiB,
                              max_event_bytes=MiB),
            GeminiProvider(base_url="http://127.0.0.1:9", max_response_bytes=5 * MiB,
                           max_event_bytes=MiB),
            OllamaProvider(host="http://127.0.0.1:9", max_response_bytes=5 * MiB,
                           max_event_bytes=MiB)]
    for provider in made:
        assert (provider.max_response_bytes, provider.max_event_bytes) == (5 * MiB, MiB)
        assert provider.max_stream_bytes == MAX_STREAM_BYTES == 256 * MiB
    default = OpenAIProvider(base_url="http://127.0.0.1:9")
    assert (default.max_response_bytes, default.max_event_bytes) == (32 * MiB, 8 * MiB)
    unlimited = OllamaProvider(max_response_bytes=None, max_event_bytes=None,
                               max_stream_bytes=None)
    assert (unlimited.max_response_bytes, unlimited.max_event_bytes,
            unlimited.max_stream_bytes) == (None, None, None)
    assert GeminiProvider(base_url="http://127.0.0.1:9",
                          max_stream_bytes=MiB).max_stream_bytes == MiB


@pytest.mark.parametrize(("value", "kind"), [(0, ValueError), (-1, ValueError),
                                             (True, TypeError), (1.5e6, TypeError),
                                             ("32MiB", TypeError)])
def test_a_limit_that_is_not_a_positive_int_is_refused_when_made(value: Any,
                                                                  kind: type[Exception]) -> None:
    for setting in ("max_response_bytes", "max_event_bytes", "max_stream_bytes"):
        with pytest.raises(kind, match=setting):
            OpenAIProvider(base_url="http://127.0.0.1:9", **{setting: value})


def test_the_error_is_a_provider_error_that_fails_over() -> None:
    error = ResponseTooLargeError("too long", setting="max_event_bytes", limit=1,
                                  received=2, provider="p")
    assert isinstance(error, ProviderError) and error.fail_over and not error.retryable
    assert str(error) == "p: too long" and (error.limit, error.received) == (1, 2)
