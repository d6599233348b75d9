"""The thread a file-based store does its blocking work on, off the event loop.

One thread per store, not a thread per call (selectools._threads): a store's calls are
short and its state (an open SQLite connection) belongs to one thread. Measured here, a
new thread and a new connection per call cost more than the rest of a commit.
SQLite serialises writers anyway, so one thread per store loses no concurrency worth
having, and its queue is what lets 200 concurrent runs commit without a "database is
locked" error.

`call_by` is a call for a run with a deadline (`run_timeout`): it is not made if the calls
queued before it keep the thread past the deadline, and the call itself is told the time
left, for the store to wait for another process no longer than that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .._deadline import RUN_DEADLINE, DeadlineReached

T = TypeVar("T")


class StoreThread:
    def __init__(self, name: str) -> None:
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        self._guard = threading.Lock()

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        import asyncio

        executor = self._executor
        if executor is None:
            with self._guard:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(1, thread_name_prefix=self._name)
                executor = self._executor
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    async def call_in_run(self, what: str, function: Callable[..., T], *args: Any) -> T:
        """`call`, by the running run's deadline when it has one (selectools._deadline):
        then `call_by`, `function` told the time left (`left=`)."""
        at = RUN_DEADLINE.get()
        if at is None:
            return await self.call(function, *args)
        return await self.call_by(at, what, function, *args)

    async def call_by(self, at: float, what: str, function: Callable[..., T], *args: Any) -> T:
        """`function(*args, left=<seconds to at>)` on the thread, for a run whose deadline is
        `at` (a `time.monotonic()` value); `what` names what the store waits on, in errors.
        Not made if it has not started by `at` (DeadlineReached). The await is not
        cancelled at `at`: a call that has started ends by itself by then (it waits for
        no one longer than `left`), and its outcome, written or not, is the one reported."""
        import asyncio

        claim = _Claim()
        call: asyncio.Future[T] = asyncio.ensure_future(
            self.call(_started_by, claim, at, what, function, *args))
        try:
            done, _ = await asyncio.wait((call,), timeout=max(0.0, at - time.monotonic()))
        except BaseException:  # cancelled: the call is not made if it has not started
            claim.abandon()
            call.add_done_callback(_retrieved)
            raise
        if not done and claim.abandon():
            call.add_done_callback(_retrieved)
            raise DeadlineReached(f"the store's thread was still busy with earlier calls "
                                  f"on {what}")
        return await call

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """The same, from sync code: on the store's thread, waited for."""
        with self._guard:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix=self._name)
            executor = self._executor
        return executor.submit(function, *args).result()

    def shutdown(self) -> None:
        with self._guard:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


def _started_by(claim: _Claim, at: float, what: str, function: Callable[..., T],
                *args: Any) -> T:
    if not claim.start():
        raise DeadlineReached("abandoned")  # (no one awaits it: see call_by)
    left = at - time.monotonic()
    if left <= 0:
        raise DeadlineReached(f"no time was left to wait for {what}")
    return function(*args, left=left)


class _Claim:
    """Whether a call the event loop waits for with a deadline was started on the store's
    thread or given up by the loop: exactly one of the two happens."""

    __slots__ = ("_guard", "_state")

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._state = "queued"

    def start(self) -> bool:
        """On the thread: False when the loop gave the call up (then it is not made)."""
        with self._guard:
            if self._state == "abandoned":
                return False
            self._state = "started"
            return True

    def abandon(self) -> bool:
        """On the loop: False when the call has started already (then it ends by itself,
        by the deadline)."""
        with self._guard:
            if self._state == "started":
                return False
            self._state = "abandoned"
            return True


def _retrieved(call: Any) -> None:
    """A call no one awaits any more: its outcome is read, so asyncio logs nothing."""
    if not call.cancelled():
        call.exception()
