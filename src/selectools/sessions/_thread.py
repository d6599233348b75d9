"""The thread a file-based store does its blocking work on, off the event loop.

One thread per store, not a thread per call (selectools._threads): a store's calls are
short and its state (an open SQLite connection) belongs to one thread. Measured here, a
new thread and a new connection per call cost more than the rest of a commit.
SQLite serialises writers anyway, so one thread per store loses no concurrency worth
having, and its queue is what lets 200 concurrent runs commit without a "database is
locked" error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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
