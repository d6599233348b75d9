"""One timer (`_CallWatch`) bounds every whole call in flight on a loop, instead of aiohttp's
timer per request: each call still fails at its own limit as a ProviderTimeoutError (headers
late, or the body stalled), whatever the others' limits; a cancel from outside stays a
cancel, the task's cancel count as it was; a call ended leaves nothing in the watch and no
cancel pending; many calls set the timer once. On a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import pytest
from wire_server import WireServer

from selectools.providers._http import HttpTransport
from selectools.providers.errors import ProviderError, ProviderTimeoutError

BODY = b'{"ok": true, "pad": "' + b"x" * 4000 + b'"}'


def _error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    return ProviderError(f"HTTP {status}", status=status)


def _transport(url: str) -> HttpTransport:
    return HttpTransport(provider="test", base_url=url, error_from_response=_error)


def _watch(transport: HttpTransport) -> object:
    (watch,) = transport._calls.values()
    return watch


async def test_a_late_answer_fails_at_its_limit_beside_a_patient_call(
        wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    try:
        patient_release = wire_server.reply(body=BODY, hold_after=10)
        patient = asyncio.ensure_future(transport.post_json("/c", {}, timeout=5.0))
        await asyncio.sleep(0.1)
        wire_server.reply(body=BODY, delay=1.5)  # headers later than the limit
        started = time.monotonic()
        with pytest.raises(ProviderTimeoutError, match=r"no answer within 0.2 s"):
            await transport.post_json("/c", {}, timeout=0.2)
        assert time.monotonic() - started < 1.0
        assert not patient.done()
        patient_release.set()
        assert (await patient)["ok"] is True
        assert _watch(transport).calls == {}  # type: ignore[attr-defined]
    finally:
        await transport.aclose()


async def test_a_stalled_body_fails_at_its_limit(wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    release = wire_server.reply(body=BODY, hold_after=100)
    try:
        with pytest.raises(ProviderTimeoutError):
            await transport.post_json("/c", {}, timeout=0.3)
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0  # the timer's cancel taken back
        await asyncio.sleep(0)  # and none pending: this await is not cancelled
    finally:
        release.set()
        await transport.aclose()


async def test_a_cancel_from_outside_stays_a_cancel(wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    release = wire_server.reply(body=BODY, delay=2.0)
    try:
        call = asyncio.ensure_future(transport.post_json("/c", {}, timeout=0.2))
        await asyncio.sleep(0.05)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert _watch(transport).calls == {}  # type: ignore[attr-defined]
    finally:
        release.set()
        await transport.aclose()


async def test_an_outer_timeout_meeting_the_limit_is_the_outer_one(
        wire_server: WireServer) -> None:
    # Both expire at once: asyncio.timeout's own cancel must reach it (as a TimeoutError
    # from the outer block), whichever timer ran first.
    transport = _transport(wire_server.url)
    wire_server.reply(body=BODY, delay=1.0)
    try:
        with pytest.raises((TimeoutError, ProviderTimeoutError)):
            async with asyncio.timeout(0.2):
                await transport.post_json("/c", {}, timeout=0.2)
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
    finally:
        await transport.aclose()


async def test_calls_that_end_in_time_set_the_timer_once_and_leave_nothing(
        wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    try:
        for _ in range(20):
            wire_server.reply(body=BODY)
        await transport.post_json("/c", {}, timeout=30.0)
        watch = _watch(transport)
        handle = watch._handle  # type: ignore[attr-defined]
        results = await asyncio.gather(*(transport.post_json("/c", {}, timeout=30.0)
                                         for _ in range(19)))
        assert all(result["ok"] for result in results)
        assert watch._handle is handle  # type: ignore[attr-defined]  # (set once)
        assert watch.calls == {} and watch._expired == set()  # type: ignore[attr-defined]
    finally:
        await transport.aclose()


# -- a whole answer's JSON, read by post_json's short path, is json_or_none's ---------------

_BODIES = [b'{"a": 1}', b'[1, 2]', b'"text"', b"3", b"null", b'  {"a": 1}', b'{"a": 1}  ',
           b'{"a": 1} x', b"", b"<html>no</html>", '{"é": "ü"}'.encode(),
           '{"a": 1}'.encode("utf-16"), b'\xef\xbb\xbf{"a": 1}', b'{"a": "\xff"}',
           b"[" * 100_000 + b"]" * 100_000]


@pytest.mark.parametrize("body", _BODIES, ids=range(len(_BODIES)))
async def test_a_whole_answer_is_read_as_json_or_none_reads_it(
        wire_server: WireServer, body: bytes) -> None:
    from selectools.providers._status import json_or_none
    from selectools.providers.errors import MalformedResponseError

    transport = _transport(wire_server.url)
    wire_server.reply(body=body)
    try:
        expected = json_or_none(body)
        if expected is None:
            with pytest.raises(MalformedResponseError, match="expected a JSON answer"):
                await transport.post_json("/c", {})
        else:
            assert await transport.post_json("/c", {}) == expected
    finally:
        await transport.aclose()


@pytest.mark.parametrize("limit", [0, -1.0])
async def test_a_limit_not_above_zero_is_no_limit(wire_server: WireServer,
                                                  limit: float) -> None:
    # (as aiohttp reads ClientTimeout(total=...): no timer at all)
    transport = _transport(wire_server.url)
    wire_server.reply(body=BODY, delay=0.3)
    try:
        assert (await transport.post_json("/c", {}, timeout=limit))["ok"] is True
        assert _watch(transport).calls == {}  # type: ignore[attr-defined]
    finally:
        await transport.aclose()


# -- a stream's wait for its headers, bounded by the same timer -----------------------------

SSE = b'data: {"a": 1}\n\ndata: [DONE]\n\n'


async def _events(transport: HttpTransport, limit: float | None) -> list[object]:
    return [event async for event in transport.post_events("/c", {}, framing="sse",
                                                           timeout=limit)]


async def test_a_stream_whose_headers_come_late_fails_at_its_limit(
        wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    try:
        wire_server.reply(body=SSE, content_type="text/event-stream", delay=1.5)
        started = time.monotonic()
        with pytest.raises(ProviderTimeoutError, match=r"no answer within 0.2 s"):
            await _events(transport, 0.2)
        assert time.monotonic() - started < 1.0
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
        await asyncio.sleep(0)  # (no cancel left pending)
        wire_server.reply(body=SSE, content_type="text/event-stream", delay=0.3)
        assert len(await _events(transport, 5.0)) == 2  # in time: read whole
        assert _watch(transport).calls == {}  # type: ignore[attr-defined]
    finally:
        await transport.aclose()


async def test_a_stream_cancelled_from_outside_while_waiting_stays_cancelled(
        wire_server: WireServer) -> None:
    transport = _transport(wire_server.url)
    release = wire_server.reply(body=SSE, content_type="text/event-stream", delay=2.0)
    try:
        reading = asyncio.ensure_future(_events(transport, 0.3))
        await asyncio.sleep(0.05)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert _watch(transport).calls == {}  # type: ignore[attr-defined]
    finally:
        release.set()
        await transport.aclose()


async def test_a_stream_limit_below_zero_fails_at_once_as_before(
        wire_server: WireServer) -> None:
    # (asyncio.timeout(-1) expired at once: the one timer reads it alike)
    transport = _transport(wire_server.url)
    wire_server.reply(body=SSE, content_type="text/event-stream", delay=0.5)
    try:
        with pytest.raises(ProviderTimeoutError):
            await _events(transport, -1.0)
    finally:
        await transport.aclose()
