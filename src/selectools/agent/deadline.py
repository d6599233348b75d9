"""The overall time limit of a run (`AgentConfig.run_timeout`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from .._deadline import RUN_DEADLINE

T = TypeVar("T")


class RunTimeoutError(TimeoutError):
    """The whole run took longer than `AgentConfig.run_timeout`."""


class Deadline:
    """Caps each model call and tool call so that the run as a whole ends in time."""

    __slots__ = ("seconds", "_at")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._at = None if seconds is None else time.monotonic() + seconds

    @property
    def at(self) -> float | None:
        """The deadline on the `time.monotonic()` clock; None without a limit."""
        return self._at

    def cap(self, timeout: float | None) -> float | None:
        """The smaller of `timeout` and the time left; raises once no time is left."""
        if self._at is None:
            return timeout
        left = self._at - time.monotonic()
        if left <= 0:
            self._expired()
        return left if timeout is None else min(left, timeout)

    def check(self) -> None:
        if self._at is not None and time.monotonic() >= self._at:
            self._expired()

    def bound(self, awaitable: Awaitable[T]) -> Awaitable[T]:
        """`awaitable`, cancelled when the run's time is up (itself when there is no limit:
        one coroutine layer fewer on every model call)."""
        if self._at is None:
            return awaitable
        return self._bounded(awaitable, self._at)

    def bound_wait(self, awaitable: Awaitable[T], waiting_for: str) -> Awaitable[T]:
        """`bound`, for a wait on something outside the run (another run's session lock,
        an MCP server still connecting): its RunTimeoutError says what the run waited
        for. `awaitable` itself when there is no limit."""
        if self._at is None:
            return awaitable
        return self._bounded(awaitable, self._at, waiting_for)

    async def _bounded(self, awaitable: Awaitable[T], at: float,
                       waiting_for: str | None = None) -> T:
        import asyncio  # here, not at the top: it is most of `import selectools`'s cost

        timer = asyncio.timeout(at - time.monotonic())
        # Published for the retry loop and FallbackProvider (see selectools._deadline).
        published = RUN_DEADLINE.set(at)
        try:
            async with timer:
                return await awaitable
        except TimeoutError:
            if timer.expired():
                self._expired(waiting_for)
            raise
        finally:
            RUN_DEADLINE.reset(published)

    def bound_stream(self, items: AsyncIterator[T]) -> AsyncIterator[T]:
        """`items`, ending with RunTimeoutError when the run's time is up even if the
        stream keeps trickling (a per-read timeout would never fire then); `items` itself
        when there is no limit: no generator layer that every streamed item passes."""
        if self._at is None:
            return items
        return self._bounded_stream(items)

    async def _bounded_stream(self, items: AsyncIterator[T]) -> AsyncIterator[T]:
        while True:
            try:
                item = await self.bound(anext(items))
            except StopAsyncIteration:
                return
            yield item

    def _expired(self, waiting_for: str | None = None) -> None:
        raise self.error(waiting_for)

    def error(self, waiting_for: str | None = None) -> RunTimeoutError:
        """The RunTimeoutError of this deadline, saying what the run waited for if given."""
        message = f"the run exceeded AgentConfig.run_timeout ({self.seconds} s)"
        return RunTimeoutError(message if waiting_for is None
                               else f"{message} waiting for {waiting_for}")


#: The deadline of every run without a run_timeout: it holds no state (no time to count
#: down), so runs share it instead of making one each.
NO_DEADLINE = Deadline(None)


def run_deadline(seconds: float | None) -> Deadline:
    """A run's deadline, counting from now."""
    return NO_DEADLINE if seconds is None else Deadline(seconds)
