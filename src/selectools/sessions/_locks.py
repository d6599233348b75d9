"""Locks that queue the runs of one session (`session_conflict="wait"`).

Waiting is polling with a growing pause, so a waiting run stays cancellable and never
blocks the event loop or a thread (`flock_by`, the same wait for a store's own thread,
blocks that thread, no longer than a run's deadline). File locks are flock(2) locks:
they exclude other processes and other open files of this one, and the kernel drops them
when their holder dies (a run killed mid-way leaves no stale lock).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from .._deadline import DeadlineReached
from .errors import SessionLockTimeout, describe

_FIRST_PAUSE, _LONGEST_PAUSE = 0.002, 0.05


async def poll(try_acquire: Callable[[], Awaitable[bool]], timeout: float | None,
               session_id: str, namespace: str | None) -> None:
    """Call `try_acquire` until it succeeds, pausing longer each time; SessionLockTimeout
    after `timeout` seconds."""
    import asyncio

    give_up = time.monotonic() + timeout if timeout is not None else None
    pause = _FIRST_PAUSE
    while not await try_acquire():
        if give_up is not None and time.monotonic() >= give_up:
            raise SessionLockTimeout(
                f"{describe(session_id, namespace)} was still busy with another run after "
                f"{timeout} s (session_wait_timeout)", session_id, namespace)
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)


@asynccontextmanager
async def file_lock(path: str, timeout: float | None, session_id: str,
                    namespace: str | None) -> AsyncIterator[None]:
    """Hold an exclusive flock on `path` (created if missing) for the block."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    async def attempt() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    try:
        await poll(attempt, timeout, session_id, namespace)
        yield
    finally:
        os.close(fd)  # closing the file releases its lock


def flock_by(fd: int, at: float, path: str) -> None:
    """An exclusive flock on `fd` taken by `at` (a `time.monotonic()` value), else
    DeadlineReached: blocking code (a store's thread) that must wait no longer than a
    run's deadline polls, as `poll` does, since flock(2) itself takes no timeout."""
    import fcntl

    pause = _FIRST_PAUSE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = at - time.monotonic()
            if left <= 0:
                raise DeadlineReached(f"another process held {path!r} until the run's "
                                      "deadline") from None
            time.sleep(min(pause, left))
            pause = min(pause * 2, _LONGEST_PAUSE)


class LocalLocks:
    """Locks by key within this process only (for a store no other process can see, such
    as an in-memory SQLite database)."""

    def __init__(self) -> None:
        self._held: set[str] = set()
        self._guard = threading.Lock()

    @asynccontextmanager
    async def hold(self, key: str, timeout: float | None, session_id: str,
                   namespace: str | None) -> AsyncIterator[None]:
        async def attempt() -> bool:
            with self._guard:
                if key in self._held:
                    return False
                self._held.add(key)
                return True

        await poll(attempt, timeout, session_id, namespace)
        try:
            yield
        finally:
            with self._guard:
                self._held.discard(key)
