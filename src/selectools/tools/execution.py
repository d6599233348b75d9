"""Run a tool's function: async ones on the loop, sync ones in a thread pool."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Executor

from .._log import logger
from .errors import ToolTimeoutError

#: How long a timed-out async tool is given, once cancelled, to run its cleanup (close a
#: connection, say) before the run goes on without it. Long enough for ordinary cleanup,
#: short enough that a tool which swallows its cancellation cannot hold the run.
CANCEL_GRACE_SECONDS = 0.2

# Abandoned tool tasks, each until it finishes (so none is garbage-collected mid-flight).
_abandoned: set[asyncio.Task[Any]] = set()


async def call_async(
    function: Callable[..., Any],
    arguments: Mapping[str, Any],
    *,
    tool_name: str,
    timeout: float,
) -> Any:
    """Await `function(**arguments)`; on timeout the task is cancelled, given
    `CANCEL_GRACE_SECONDS` to finish, abandoned if it has not, and we raise.
    (Without a timeout, Tool.execute awaits the function itself.)"""
    import asyncio  # here, not at the top: it is most of `import selectools`'s cost

    # A task of our own (it copies the caller's context) tells our timeout apart from a
    # TimeoutError the tool raises itself.
    task = asyncio.ensure_future(function(**arguments))
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_GRACE_SECONDS)
        if task.done():
            _retrieve(task)
        else:
            _abandon(task, tool_name)
        raise ToolTimeoutError(tool_name, timeout)
    return task.result()


def _abandon(task: asyncio.Task[Any], tool_name: str) -> None:
    """Leave a cancelled tool that will not stop to finish on its own, like a timed-out
    thread. Held until then: the loop keeps only weak references to tasks."""
    logger().warning("tool %r did not stop within %.1f s of being cancelled; the run goes on "
                "without it and it is left to finish on its own",
                tool_name, CANCEL_GRACE_SECONDS)
    _abandoned.add(task)
    task.add_done_callback(_forget)


def _forget(task: asyncio.Task[Any]) -> None:
    _abandoned.discard(task)
    _retrieve(task)


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


async def call_in_thread(
    function: Callable[..., Any],
    arguments: Mapping[str, Any],
    *,
    tool_name: str,
    timeout: float | None,
    executor: Executor | None = None,
) -> Any:
    """Run `function(**arguments)` in `executor` (a thread of its own when None) under a
    copy of the caller's contextvars. A thread cannot be stopped: on timeout it is
    abandoned to finish on its own and we raise at once."""
    import asyncio

    from .._threads import WORKERS  # imported late, like asyncio: concurrent.futures is heavy

    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    future = loop.run_in_executor(
        executor or WORKERS, context.run, functools.partial(function, **arguments)
    )
    if timeout is None:
        return await future
    try:
        done, _ = await asyncio.wait({future}, timeout=timeout)
    except asyncio.CancelledError:
        future.cancel()
        raise
    if not done:
        future.cancel()
        raise ToolTimeoutError(tool_name, timeout)
    return future.result()
