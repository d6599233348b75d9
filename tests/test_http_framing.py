"""The shared HTTP layer: SSE and NDJSON framing, status-to-error mapping, the transport."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_server import WireServer

from selectools.providers._framing import NdjsonDecoder, SseDecoder, SseEvent
from selectools.providers._http import HttpTransport
from selectools.providers._status import body_snippet, error_for_status, retry_after_from
from selectools.providers.errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamError,
)

WIRE = Path(__file__).parent / "fixtures" / "wire"
SSE_FILES = sorted(WIRE.glob("*.sse"))
NDJSON_FILES = sorted(WIRE.glob("*.ndjson"))


def sse_in_chunks(data: bytes, cuts: list[int]) -> list[SseEvent]:
    decoder = SseDecoder()
    events: list[SseEvent] = []
    start = 0
    for cut in sorted(set(cuts)):
        events += decoder.feed(data[start:cut])
        start = cut
    events += decoder.feed(data[start:])
    return events + decoder.close()


def ndjson_in_chunks(data: bytes, cuts: list[int]) -> list[object]:
    decoder = NdjsonDecoder()
    values: list[object] = []
    start = 0
    for cut in sorted(set(cuts)):
        values += decoder.feed(data[start:cut])
        start = cut
    values += decoder.feed(data[start:])
    return values + decoder.close()


# -- SSE ----------------------------------------------------------------------------------------


def test_sse_fields_comments_and_multiline_data() -> None:
    stream = (b": keep-alive\n"
              b"event: message_start\ndata: {\"a\": 1}\n\n"
              b"data: line one\ndata:line two\n\n"
              b"data:  two spaces\n\n"
              b"id: 7\nretry: 100\nevent: ping\n\n"  # no data: nothing dispatched
              b"data: [DONE]\n\n")
    assert sse_in_chunks(stream, []) == [
        SseEvent("message_start", '{"a": 1}'),
        SseEvent(None, "line one\nline two"),
        SseEvent(None, " two spaces"),
        SseEvent(None, "[DONE]"),
    ]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_sse_line_ends(newline: bytes) -> None:
    stream = newline.join([b"event: a", b"data: 1", b"", b"data: 2", b"", b""])
    assert sse_in_chunks(stream, []) == [SseEvent("a", "1"), SseEvent(None, "2")]


def test_sse_crlf_split_between_chunks_is_one_line_end() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"data: 1\r") == []
    assert decoder.feed(b"\n\r") == [SseEvent(None, "1")]
    assert decoder.feed(b"\ndata: 2\r\n\r\n") == [SseEvent(None, "2")]


def test_sse_keeps_trailing_spaces_and_flushes_unterminated_event() -> None:
    assert sse_in_chunks(b'data: {"x": 1}     \n\ndata: tail', []) == [
        SseEvent(None, '{"x": 1}     '), SseEvent(None, "tail")]


def test_sse_multibyte_text_split_inside_a_character() -> None:
    data = 'data: {"t": "héllo ☃"}\n\n'.encode()
    for cut in range(len(data)):
        assert sse_in_chunks(data, [cut]) == [SseEvent(None, '{"t": "héllo ☃"}')]


@pytest.mark.parametrize("path", SSE_FILES, ids=lambda p: p.name)
def test_every_sse_transcript_decodes_to_json_events(path: Path) -> None:
    events = sse_in_chunks(path.read_bytes(), [])
    assert events
    for event in events:
        if event.data != "[DONE]":
            json.loads(event.data)


@pytest.mark.parametrize("path", SSE_FILES, ids=lambda p: p.name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_sse_any_chunking_gives_the_same_events(path: Path, data: st.DataObject) -> None:
    raw = path.read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    assert sse_in_chunks(raw, cuts) == sse_in_chunks(raw, [])


_SSE_LINES = st.sampled_from([
    "data: 1", "data:2", "data:  padded ", "data", "event: tool", "event:", ": keep-alive",
    "id: 7", "retry: 10", "", "", "data: é☃", "\ufeffdata: bom",
])


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.tuples(_SSE_LINES, st.sampled_from(["\n", "\r\n", "\r"])),
                      max_size=20),
       data=st.data())
def test_sse_mixed_line_ends_in_any_chunking(lines: list[tuple[str, str]],
                                             data: st.DataObject) -> None:
    raw = "".join(line + end for line, end in lines).encode()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=20))
    assert sse_in_chunks(raw, cuts) == sse_in_chunks(raw, [])
    # the same lines all ending in LF decode to the same events
    plain = "\n".join(re.split(r"\r\n|\r|\n", raw.decode())).encode()
    assert sse_in_chunks(raw, []) == sse_in_chunks(plain, [])


# -- NDJSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", NDJSON_FILES, ids=lambda p: p.name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_ndjson_any_chunking_gives_the_same_values(path: Path, data: st.DataObject) -> None:
    raw = path.read_bytes()
    whole = [json.loads(line) for line in raw.splitlines() if line.strip()]
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    assert ndjson_in_chunks(raw, cuts) == whole


def test_ndjson_crlf_blank_lines_and_last_line_without_newline() -> None:
    assert ndjson_in_chunks(b'{"a":1}\r\n\r\n{"b":2}', [3]) == [{"a": 1}, {"b": 2}]


def test_ndjson_rejects_a_line_that_is_not_json() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        NdjsonDecoder().feed(b"<html>\n")


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "kind"), [
    (401, AuthenticationError), (403, PermissionDeniedError), (404, NotFoundError),
    (400, InvalidRequestError), (409, InvalidRequestError), (413, InvalidRequestError),
    (422, InvalidRequestError), (408, ProviderTimeoutError), (429, RateLimitError),
    (500, ServerError), (502, ServerError), (503, OverloadedError), (529, OverloadedError),
    (418, ProviderError),
])
def test_status_picks_the_error_class(status: int, kind: type[ProviderError]) -> None:
    error = error_for_status(provider="p", status=status, message="boom", headers={})
    assert type(error) is kind
    assert (error.provider, error.status, error.message) == ("p", status, "boom")
    assert "p" in str(error) and str(status) in str(error) and "boom" in str(error)


def test_context_length_flag_gives_context_length_error() -> None:
    error = error_for_status(provider="p", status=400, message="too long", headers={},
                             context_length=True)
    assert isinstance(error, ContextLengthError) and isinstance(error, InvalidRequestError)


def test_retry_hints_from_headers() -> None:
    assert retry_after_from({"retry-after": "3"}) == 3.0
    assert retry_after_from({"Retry-After-Ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_from({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_from({"retry-after": "soon"}) is None
    assert retry_after_from({}) is None
    told_no = error_for_status(provider="p", status=429, message="m",
                               headers={"x-should-retry": "false"})
    assert told_no.should_retry is False
    told_yes = error_for_status(provider="p", status=400, message="m",
                                headers={"X-Should-Retry": "true", "x-request-id": "req_1"})
    assert told_yes.should_retry is True and told_yes.request_id == "req_1"


def test_body_snippet_quotes_the_start_of_bytes_or_text() -> None:
    assert body_snippet(b"  <html>\n") == "<html>"
    assert body_snippet("  event text ") == "event text"
    assert body_snippet(b"\n" * 5000 + "é".encode() * 1000) == "é" * 200 + "..."
    assert body_snippet("x" * 201) == "x" * 200 + "..."
    assert body_snippet(b"ok", limit=1) == "o..."


# -- transport ----------------------------------------------------------------------------------


def _error(status: int, headers: object, body: bytes) -> ProviderError:
    return error_for_status(provider="test", status=status, message=body.decode(),
                            headers=headers)  # type: ignore[arg-type]


def _transport(url: str, **options: object) -> HttpTransport:
    return HttpTransport(provider="test", base_url=url + "/v1/",
                         headers={"Authorization": "Bearer sk-very-secret"},
                         error_from_response=_error, **options)  # type: ignore[arg-type]


async def test_post_json_sends_headers_and_body(wire_server: WireServer) -> None:
    wire_server.reply(body={"ok": True})
    transport = _transport(wire_server.url)
    try:
        assert await transport.post_json("/chat", {"q": "é"}, params={"alt": "sse"}) == {"ok": True}
    finally:
        await transport.aclose()
    request = wire_server.requests[0]
    assert (request.method, request.path, request.query) == ("POST", "/v1/chat", {"alt": "sse"})
    assert request.headers["authorization"] == "Bearer sk-very-secret"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {"q": "é"}


async def test_events_arrive_chunk_by_chunk_and_pool_is_reused(wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    try:
        for _ in range(2):
            wire_server.reply_file(WIRE / "openai_chat_stream_tool_calls.sse", chunk_size=5)
            events = [e async for e in transport.post_events("/c", {}, framing="sse")]
            assert events[-1] == SseEvent(None, "[DONE]")
        assert len(transport._sessions) == 1
    finally:
        await transport.aclose()


async def test_error_status_goes_through_error_from_response(wire_server: WireServer) -> None:
    wire_server.reply(401, b"bad key", headers={"retry-after": "2"})
    transport = _transport(wire_server.url)
    try:
        with pytest.raises(AuthenticationError) as caught:
            await transport.post_json("/c", {})
    finally:
        await transport.aclose()
    assert caught.value.message == "bad key"
    assert caught.value.retry_after == 2.0


def test_redact_removes_every_key_header_value_and_a_bearer_token_alone() -> None:
    transport = HttpTransport(provider="t", base_url="http://127.0.0.1:1", headers={
        "Authorization": "Bearer sk-one", "x-api-key": "k-two", "X-Goog-Api-Key": "g-three",
        "api-key": "a-four", "OpenAI-Organization": "org-visible"}, error_from_response=_error)
    text = "Bearer sk-one | sk-one | k-two | g-three | a-four | org-visible"
    assert transport.redact(text) == "*** | *** | *** | *** | *** | org-visible"


async def test_a_key_echoed_in_an_error_body_is_redacted_at_the_provider_boundary(
        wire_server: WireServer) -> None:
    # The transport reports what the server said; the provider boundary, the one redaction
    # step, removes the key before the error leaves the call.
    from selectools.providers.openai import OpenAIProvider
    from selectools.types import Message, Role

    wire_server.reply(401, {"error": {"message": "bad key sk-very-secret"}})
    provider = OpenAIProvider(base_url=wire_server.url + "/v1", api_key="sk-very-secret")
    try:
        with pytest.raises(AuthenticationError) as caught:
            await provider.acomplete(model="m", system_prompt="",
                                     messages=[Message(role=Role.USER, content="hi")])
    finally:
        await provider.aclose()
    assert "sk-very-secret" not in str(caught.value)
    assert "sk-very-secret" not in caught.value.message
    assert "sk-very-secret" not in repr(caught.value.args)


async def test_stream_cut_mid_way_is_a_connection_error(wire_server: WireServer) -> None:
    wire_server.reply_file(WIRE / "openai_chat_stream_tool_calls.sse", chunk_size=100,
                           cut_after=700)
    transport = _transport(wire_server.url)
    seen: list[SseEvent] = []
    try:
        with pytest.raises(ProviderConnectionError):
            async for event in transport.post_events("/c", {}, framing="sse"):
                seen.append(event)
    finally:
        await transport.aclose()
    assert seen  # events before the cut were delivered


async def test_refused_connection_is_a_connection_error() -> None:
    with WireServer() as server:
        url = server.url  # the port is free again once the server stops
    transport = _transport(url)
    try:
        with pytest.raises(ProviderConnectionError) as caught:
            await transport.post_json("/c", {})
    finally:
        await transport.aclose()
    assert caught.value.should_retry


async def test_no_answer_within_timeout_is_a_timeout_error(wire_server: WireServer) -> None:
    wire_server.reply(body={}, delay=1.0)
    transport = _transport(wire_server.url, timeout=0.1)
    try:
        with pytest.raises(ProviderTimeoutError):
            await transport.post_json("/c", {})
    finally:
        await transport.aclose()


async def test_a_stream_that_stalls_mid_body_is_a_timeout_error(wire_server: WireServer) -> None:
    body = (WIRE / "openai_chat_stream_tool_calls.sse").read_bytes()
    first_event_end = body.index(b"\n\n") + 2
    release = wire_server.reply(body=body, content_type="text/event-stream",
                                hold_after=first_event_end)
    transport = _transport(wire_server.url, timeout=0.2)
    seen: list[SseEvent] = []
    try:
        with pytest.raises(ProviderTimeoutError):
            async for event in transport.post_events("/c", {}, framing="sse"):
                seen.append(event)
    finally:
        release.set()
        await transport.aclose()
    assert seen  # the events before the stall were delivered


async def test_a_slow_consumer_is_not_a_timeout(wire_server: WireServer) -> None:
    # The timeout bounds the wait for the server's next bytes, not the consumer's pauses.
    wire_server.reply_file(WIRE / "openai_chat_stream_tool_calls.sse", chunk_size=200)
    transport = _transport(wire_server.url, timeout=0.1)
    try:
        events = []
        async for event in transport.post_events("/c", {}, framing="sse"):
            events.append(event)
            if len(events) in (1, 2):
                await asyncio.sleep(0.25)
        assert events[-1] == SseEvent(None, "[DONE]")
    finally:
        await transport.aclose()


async def test_malformed_ndjson_line_is_a_stream_error(wire_server: WireServer) -> None:
    wire_server.reply(body=b'{"a": 1}\nnot json\n', content_type="application/x-ndjson")
    transport = _transport(wire_server.url)
    try:
        with pytest.raises(StreamError, match="not JSON"):
            async for _ in transport.post_events("/c", {}, framing="ndjson"):
                pass
    finally:
        await transport.aclose()


async def test_one_session_per_event_loop(wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    wire_server.reply(body={"n": 1})
    wire_server.reply(body={"n": 2})
    assert await transport.post_json("/c", {}) == {"n": 1}

    async def from_another_loop() -> tuple[object, int]:
        answer = await transport.post_json("/c", {})
        sessions = len(transport._sessions)
        await transport.aclose()  # closes this loop's session, and the other one over there
        return answer, sessions

    # another loop, in another thread, gets its own session
    other, sessions = await asyncio.to_thread(asyncio.run, from_another_loop())
    assert (other, sessions) == ({"n": 2}, 2)
    assert not transport._sessions
    assert "sk-very-secret" not in repr(transport)


# -- cost: linear in the bytes ------------------------------------------------------------------


_BIG = 10_000_000
_READ = 1_460  # one TCP segment's payload


def _cpu_seconds(decode: object, data: bytes, read: int | None) -> float:
    """The least CPU time of three decodings of `data` fed in `read`-byte pieces (whole when
    None). This thread's CPU time, so other work on the machine does not count."""
    import time

    best = float("inf")
    for _ in range(3):
        decoder = decode()  # type: ignore[operator]
        started = time.thread_time()
        if read is None:
            decoder.feed(data)
        else:
            for start in range(0, len(data), read):
                decoder.feed(data[start:start + read])
        decoder.close()
        best = min(best, time.thread_time() - started)
    return best


@pytest.mark.parametrize(("decoder", "data"), [
    (SseDecoder, b"data: " + b"x" * _BIG + b"\n\n"),
    (NdjsonDecoder, b'{"content": "' + b"x" * _BIG + b'"}\n'),
], ids=["sse", "ndjson"])
def test_one_huge_event_in_small_reads_costs_about_as_much_as_reading_it_whole(
        decoder: type, data: bytes) -> None:
    # Re-joining the partial line on every read made this quadratic: 3.8 s (SSE) and over
    # 12 s (NDJSON) against some 20 ms whole. Linear decoding stays within a small factor.
    whole = _cpu_seconds(decoder, data, None)
    in_reads = _cpu_seconds(decoder, data, _READ)
    assert in_reads <= 10 * whole + 0.05, (in_reads, whole)


_LONG_LINES = st.lists(st.tuples(
    st.sampled_from(["data: ", "data:", "event: ", ": ", ""]),
    st.text(st.sampled_from("ab☃{}\"é"), max_size=3000),
    st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"])), max_size=8)


@settings(max_examples=100, deadline=None)
@given(lines=_LONG_LINES, data=st.data())
def test_sse_lines_spanning_many_reads_decode_the_same(lines: list[tuple[str, str, str]],
                                                      data: st.DataObject) -> None:
    raw = "".join(field + value + end for field, value, end in lines).encode()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=60))
    assert sse_in_chunks(raw, cuts) == sse_in_chunks(raw, [])


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.text(max_size=3000), max_size=8),
       ends=st.sampled_from(["\n", "\r\n", "\n\n"]), data=st.data())
def test_ndjson_lines_spanning_many_reads_decode_the_same(values: list[str], ends: str,
                                                          data: st.DataObject) -> None:
    raw = "".join(json.dumps({"v": value}) + ends for value in values).encode()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=60))
    assert ndjson_in_chunks(raw, cuts) == [{"v": value} for value in values]


@pytest.mark.parametrize(("status", "content_type"), [
    (500, "application/json"), (200, "application/json")])
async def test_a_stream_request_answered_by_a_stalled_non_stream_body_times_out(
        wire_server: WireServer, status: int, content_type: str) -> None:
    # Stream requests set no aiohttp read timeout (the watchdog bounds the stream's reads),
    # so an error body or a whole JSON answer that stalls is bounded on its own.
    release = wire_server.reply(status, b'{"error": "x"}' + b" " * 2000,
                                content_type=content_type, hold_after=5)
    transport = _transport(wire_server.url, timeout=0.3)
    try:
        with pytest.raises(ProviderTimeoutError):
            async with asyncio.timeout(3):
                async for _ in transport.post_events("/c", {}, framing="sse"):
                    pass
    finally:
        release.set()
        await transport.aclose()


async def test_a_stream_whose_headers_never_come_times_out(wire_server: WireServer) -> None:
    wire_server.reply(body=b"data: 1\n\n", content_type="text/event-stream", delay=2.0)
    transport = _transport(wire_server.url, timeout=0.2)
    try:
        with pytest.raises(ProviderTimeoutError):
            async with asyncio.timeout(1.5):
                async for _ in transport.post_events("/c", {}, framing="sse"):
                    pass
    finally:
        await transport.aclose()
