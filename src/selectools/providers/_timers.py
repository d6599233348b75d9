"""The per-loop timers that bound a transport's waits: one timer per event loop, not one per wait.

`_CallWatch` bounds every whole call in flight on a loop (and a stream's wait for its
headers), `_ReadWatch` every stream's wait for its next bytes, each stream noting its waits
on a `_ReadWatchdog`; both are `_LoopTimer`s. `HttpTransport` (`_http.py`) keeps one of each
per loop and reports what they fail as ProviderTimeoutError.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp


class _ReadWatchdog:
    """Bounds each wait for the next bytes of one streamed body (see `_ReadWatch`).

    aiohttp's `sock_read` re-arms a timer (a cancel and a new TimerHandle) on every read,
    which on a token stream is one per event, so stream requests set none. Instead the
    stream notes when it started waiting (`waiting_since`, None while the consumer holds
    the events), and its loop's `_ReadWatch` fails the read with a TimeoutError once a wait
    has lasted `limit` (the transport reports it as ProviderTimeoutError). Time the
    consumer spends between reads is never counted against the server.
    """

    __slots__ = ("waiting_since", "clock", "content", "limit", "_watch")

    def __init__(self, response: aiohttp.ClientResponse, limit: float,
                 watch: _ReadWatch) -> None:
        self.clock = watch.clock
        self.waiting_since: float | None = None
        self.content = response.content
        self.limit = limit
        self._watch = watch
        watch.add(self)

    def disarm(self) -> None:
        self._watch.streams.discard(self)


class _LoopTimer:
    """One timer per event loop, for all the waits of one kind on it (`_ReadWatch`,
    `_CallWatch`): set for the first of them that could pass its limit, checked then, set
    again for the next. A timer per wait was one more entry per wait in flight in the
    loop's timer heap, whose every push and pop compares log n entries in Python; this one
    is set about once per limit (60 s by default), not per wait."""

    __slots__ = ("clock", "_loop", "_handle", "_due")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # The loop's clock, read at every read of every stream: the time() of asyncio's own
        # loops is time.monotonic() called in a Python frame, so that function is called
        # itself; a loop with a clock of its own (uvloop's, a subclass's, or a `time` set
        # on the instance) keeps it: the timer (call_at) runs on loop.time().
        self.clock = time.monotonic \
            if getattr(loop.time, "__func__", None) is asyncio.BaseEventLoop.time \
            else loop.time
        self._handle: asyncio.TimerHandle | None = None
        self._due = float("inf")  # when the timer wakes (inf: it is not set)

    def _set(self, due: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._due = due
        self._handle = self._loop.call_at(due, self._check)

    def _check(self) -> None:
        raise NotImplementedError


class _ReadWatch(_LoopTimer):
    """The one timer that bounds the waits of every stream in flight on a loop for its
    next bytes: it fails those that waited their limit."""

    __slots__ = ("streams",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.streams: set[_ReadWatchdog] = set()

    def add(self, stream: _ReadWatchdog) -> None:
        self.streams.add(stream)
        due = self.clock() + stream.limit
        if due < self._due:  # (most often it is set to wake sooner: nothing to do)
            self._set(due)

    def _check(self) -> None:
        self._handle, self._due = None, float("inf")
        now, due = self.clock(), float("inf")
        for stream in list(self.streams):  # (a copy: a stream failed is taken out)
            since = stream.waiting_since
            if since is not None and now - since >= stream.limit:
                self.streams.discard(stream)
                stream.content.set_exception(TimeoutError(f"no data within {stream.limit} s"))
            else:
                due = min(due, (now if since is None else since) + stream.limit)
        if self.streams:
            self._set(due)


class _CallWatch(_LoopTimer):
    """The one timer that bounds every whole call in flight on a loop, as `_ReadWatch`
    bounds its streams' reads.

    aiohttp's own limit (`ClientTimeout(total=...)`) costs a timer per request (a push
    onto the loop's timer heap, which compares entries in Python, and its cancel) and a
    timer context entered per request and per read of its body: about 500 opcodes a call,
    the biggest part of what aiohttp runs for a short answer. Here each call notes its
    task and when its limit passes; the one timer wakes when the first could have passed
    it (set about once per limit, 60 s by default, not per call), and cancels the tasks of
    those that did, as asyncio.timeout does: the call then fails as a timeout, a cancel
    from outside still as a cancel."""

    __slots__ = ("calls", "no_timeout", "_expired")

    def __init__(self, loop: asyncio.AbstractEventLoop, no_timeout: aiohttp.ClientTimeout
                 ) -> None:
        super().__init__(loop)
        #: What aiohttp is told instead of the limit: no timeout of its own.
        self.no_timeout = no_timeout
        #: The tasks of the calls in flight, each with when its limit passes (a task makes
        #: one whole call at a time: each of its awaits waits for the one before).
        self.calls: dict[asyncio.Task[Any], float] = {}
        #: Those cancelled by the timer, until their call has seen it.
        self._expired: set[asyncio.Task[Any]] = set()

    def start(self, task: asyncio.Task[Any], limit: float) -> int:
        """Bound `task`'s call to `limit` seconds (until its caller takes it out of
        `calls`); returns how many cancels it had pending then (to tell the timer's cancel
        from one from outside)."""
        due = self.calls[task] = self.clock() + limit
        if due < self._due:  # (most often it is set to wake sooner: nothing to do)
            self._set(due)
        return task.cancelling()

    def expired(self, task: asyncio.Task[Any], cancelling: int) -> bool:
        """Whether a CancelledError in `task`'s call is the timer's own cancel alone (it
        is then taken back), as asyncio.timeout decides it."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        return task.uncancel() <= cancelling

    def _check(self) -> None:
        self._handle, self._due = None, float("inf")
        now, due = self.clock(), float("inf")
        for task, call_due in list(self.calls.items()):  # (a copy: a call failed is taken out)
            if now >= call_due:
                del self.calls[task]
                self._expired.add(task)
                task.cancel()
            else:
                due = min(due, call_due)
        if self.calls:
            self._set(due)

