"""A loop's connection slots (`Slots`): a call waits for one before its time limit starts.

`HttpTransport` (`_http.py`) keeps one `Slots` per session, as many as the session's pool
has connections, so that time queued behind other calls never counts as the server's.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib


class Slots:
    """A loop's connection slots: `size` calls at once, the others waiting their turn.

    asyncio.Semaphore's work, for one use: a call that finds a slot free takes it in one
    test (the Semaphore's acquire and release run seven Python calls, a generator
    expression among them, on every call). A slot given back goes straight to the call
    that has waited longest, so a waiting call is never overtaken; while any call waits,
    none is free.
    """

    __slots__ = ("free", "waiting")

    def __init__(self, size: int) -> None:
        self.free = size
        #: The calls waiting for a slot, longest first (a whole call tests `free` and
        #: this itself, see post_json: the two are all of take's and give's first steps).
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    async def take(self) -> None:
        """Wait for a slot and take it (give it back with `give`, whatever happens)."""
        if self.free and not self.waiting:
            self.free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        try:
            await waiter
        except BaseException:  # cancelled (or thrown into) while waiting
            if waiter.done() and not waiter.cancelled():
                self.give()  # it was handed a slot before it could resume: passed on
            else:  # it holds none; a waiter left in the queue would keep every slot waiting
                waiter.cancel()
                with contextlib.suppress(ValueError):  # (give() may have passed it over)
                    self.waiting.remove(waiter)
            raise

    def give(self) -> None:
        """Give a slot back: to the longest-waiting call, else to the free ones."""
        waiting = self.waiting
        while waiting:
            waiter = waiting.popleft()
            if not waiter.done():  # (one cancelled meanwhile is passed over)
                waiter.set_result(None)
                return
        self.free += 1

