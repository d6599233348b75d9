"""Run a tool's function: async ones on the loop, sync ones in a thread pool."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Executor

from .errors import ToolTimeoutError


async def call_async(
    function: Callable[..., Any],
    arguments: Mapping[str, Any],
    *,
    tool_name: str,
    timeout: float,
) -> Any:
    """Await `function(**arguments)`; on timeout the task is cancelled, then we raise.
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
        await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved
        raise ToolTimeoutError(tool_name, timeout)
    return task.result()


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
