"""Tools that can only finish together: proof that calls run concurrently, for the tests of
parallel tool calls (run one after the other, the first would wait for the rest forever)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


def meeting(callers: int, timeout: float = 5) -> Callable[[int], Awaitable[str]]:
    """An async tool function that returns `met {n}` once `callers` calls of it are in
    progress at once, and raises TimeoutError after `timeout` seconds if they never are."""
    arrived = 0
    all_here = asyncio.Event()

    async def meet(n: int) -> str:
        nonlocal arrived
        arrived += 1
        if arrived == callers:
            all_here.set()
        await asyncio.wait_for(all_here.wait(), timeout=timeout)
        return f"met {n}"

    return meet
