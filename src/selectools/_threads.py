"""Worker threads for blocking calls: sync tools and providers that only have `complete`.

Each call gets a thread of its own, as the seed promises ("one worker per tool"). A shared
pool would be capped (the loop's default has CPU+4 workers for the whole process), so
parallel tools would queue, a tool that runs another agent would wait for a worker its own
caller holds (a deadlock), and tools abandoned at their timeout would starve the rest. The
threads are daemons: one abandoned at a timeout never keeps the process from exiting.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ThreadPerCall(concurrent.futures.Executor):
    """An executor that runs every submitted call on a new daemon thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=work, name="selectools-worker", daemon=True).start()
        return future


#: The one executor for blocking calls; it holds no state, so sharing it is safe.
WORKERS = ThreadPerCall()
