"""A loop's connection slots (`Slots`): a call waits for one before its time limit starts.

`HttpTransport` (`_http.py`) keeps one `Slots` per session, as many as the session's pool
has connections, so that time queued behind other calls never counts as the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time

from .._seniority import RUN_STARTED

#: Ties between waiters of one seniority (a run's parallel calls), first come first served.
_ARRIVAL = itertools.count()


class Slots:
    """A loop's connection slots: `size` calls at once, the others waiting their turn.

    asyncio.Semaphore's work, for one use: a call that finds a slot free takes it in one
    test (the Semaphore's acquire and release run seven Python calls, a generator
    expression among them, on every call). A slot given back goes straight to the
    waiting call whose run began first (see selectools._seniority; a call outside any
    run counts from when it began to wait), so that runs under way finish before newer
    ones advance; while any call waits, none is free.
    """

    __slots__ = ("free", "waiting")

    def __init__(self, size: int) -> None:
        self.free = size
        #: The calls waiting for a slot, a heap of (seniority, arrival, waiter), the most
        #: senior first (a whole call tests `free` and this itself, see post_json: the
        #: two are all of take's and give's first steps).
        self.waiting: list[tuple[float, int, asyncio.Future[None]]] = []

    async def take(self) -> None:
        """Wait for a slot and take it (give it back with `give`, whatever happens)."""
        if self.free and not self.waiting:
            self.free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        started = RUN_STARTED.get()
        entry = (time.monotonic() if started is None else started, next(_ARRIVAL), waiter)
        heapq.heappush(self.waiting, entry)
        try:
            await waiter
        except BaseException:  # cancelled (or thrown into) while waiting
            if waiter.done() and not waiter.cancelled():
                self.give()  # it was handed a slot before it could resume: passed on
            else:  # it holds none: out of the heap (give() would pass over it, later)
                waiter.cancel()
                with contextlib.suppress(ValueError):  # (give() may have passed it over)
                    self.waiting.remove(entry)
                    heapq.heapify(self.waiting)
            raise

    def give(self) -> None:
        """Give a slot back: to the most senior waiting call, else to the free ones."""
        waiting = self.waiting
        while waiting:
            waiter = heapq.heappop(waiting)[2]
            if not waiter.done():  # (one cancelled meanwhile is passed over)
                waiter.set_result(None)
                return
        self.free += 1
