"""Sync entry points run their coroutines on one library-owned event loop.

An aiohttp session belongs to the loop that opened it, so `asyncio.run()` per sync call
would strand a provider's connection pool on a closed loop. Instead every sync call is
submitted, with the caller's contextvars, to one long-lived loop in a daemon thread. This
also makes sync calls work from a thread that already runs a loop (Jupyter, FastAPI).
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio
    import concurrent.futures

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _library_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    if _loop is not None:
        return _loop
    with _lock:
        if _loop is None:
            import asyncio  # here, not at the top: it is most of `import selectools`'s cost

            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="selectools-loop",
                                      daemon=True)
            thread.start()
            _loop, _thread = loop, thread
    return _loop


def _refuse_reentry() -> None:
    if _thread is not None and threading.current_thread() is _thread:
        raise RuntimeError(
            "a sync selectools call (run, complete, stream) was made from inside an async "
            "tool or callback on selectools' own event loop; it would deadlock. "
            "Use the async form (arun, acomplete, astream) there."
        )


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the library loop in the caller's context and wait for its result."""
    try:
        _refuse_reentry()
    except RuntimeError:
        coro.close()
        raise
    import concurrent.futures

    loop = _library_loop()
    context = contextvars.copy_context()
    done: concurrent.futures.Future[T] = concurrent.futures.Future()
    task_box: list[asyncio.Task[T]] = []

    def start() -> None:
        task = loop.create_task(coro, context=context)
        task_box.append(task)
        task.add_done_callback(lambda t: _settle(done, t))

    loop.call_soon_threadsafe(start)
    try:
        return done.result()
    except BaseException:
        # Ctrl-C (or any interruption of the waiting thread) cancels the work too,
        # so nothing keeps running on the library loop behind the caller's back.
        if not done.done():
            loop.call_soon_threadsafe(lambda: task_box and task_box[0].cancel())
        raise


def iterate_sync(stream: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator from sync code; items are pumped by one task on the loop."""
    _refuse_reentry()
    loop = _library_loop()
    context = contextvars.copy_context()
    items: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
    _ITEM, _END, _ERROR = 0, 1, 2

    async def pump() -> None:
        try:
            async for item in stream:
                items.put((_ITEM, item))
        except BaseException as exc:  # delivered to the consumer, re-raised there
            items.put((_ERROR, exc))
            if not isinstance(exc, Exception):  # cancellation and exits go on propagating
                raise
        else:
            items.put((_END, None))
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    task_box: list[asyncio.Task[None]] = []
    loop.call_soon_threadsafe(lambda: task_box.append(loop.create_task(pump(), context=context)))
    finished = False
    try:
        while True:
            kind, value = items.get()
            if kind == _ITEM:
                yield value
            elif kind == _END:
                finished = True
                return
            else:
                finished = True
                raise value
    finally:
        if not finished:  # consumer stopped early or was interrupted: stop the producer
            loop.call_soon_threadsafe(lambda: task_box and task_box[0].cancel())


def _settle(done: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
    import concurrent.futures

    if done.done():
        return
    if task.cancelled():
        done.set_exception(concurrent.futures.CancelledError())
    elif (exc := task.exception()) is not None:
        done.set_exception(exc)
    else:
        done.set_result(task.result())
