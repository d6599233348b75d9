"""Another process that takes something a test's run must wait for (a lock, a write
transaction) and says so, for the tests of `run_timeout` against waits outside the run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from selectools import RunTimeoutError


@contextmanager
def other_process(script: str, *arguments: str) -> Iterator[subprocess.Popen[str]]:
    """`python -c script *arguments`, once it has printed "held" (it takes what it holds
    first); stopped by its pid at the end."""
    process = subprocess.Popen([sys.executable, "-c", script, *arguments],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


async def queued_behind(waiting: Awaitable[Any], bounded: Callable[[], Awaitable[Any]],
                        pause: float) -> tuple[float, RunTimeoutError | None]:
    """Start `waiting` (a run whose store call waits on the store's thread), and after
    `pause` run `bounded()` (a run with a deadline, queued behind it): how long `bounded`
    took and the RunTimeoutError it ended with (None if none). `waiting` is awaited to
    its end."""
    first = asyncio.ensure_future(waiting)
    await asyncio.sleep(pause)
    started = time.monotonic()
    error: RunTimeoutError | None = None
    try:
        await bounded()
    except RunTimeoutError as exc:
        error = exc
    elapsed = time.monotonic() - started
    await first
    return elapsed, error
