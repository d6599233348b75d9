"""The one retry loop: exponential backoff with jitter, on retryable provider errors only.

Whether to retry is the error's decision (`ProviderError.should_retry`: its class default,
overridden by the server's `x-should-retry`); how long to wait is the server's `retry_after`
when it gave one, else our backoff. A stream is retried only while it has yielded nothing,
so a caller never sees the same text twice.

The loop logs each error and hands it to `on_retry` (observers, logs): a caller whose
errors may carry secrets cleans them inside `fn`, before they reach the loop (the HTTP
providers redact keys there).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .._deadline import seconds_left
from .errors import ProviderError

T = TypeVar("T")
log = logging.getLogger("selectools.retry")

OnRetry = Callable[[int, ProviderError, float], Any]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    `on_retry(attempt, error, delay)` is called before each wait (attempt counts from 1);
    it may be a plain function or a coroutine function. A server asking for a wait longer
    than `max_server_delay` is not waited for: the error is raised, so a fallback provider
    can take over instead.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    on_retry: OnRetry | None = None
    max_server_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ValueError("retry delays must be >= 0")

    def delay_before(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait before retry number `attempt` (from 1), or None not to retry.

        Never a wait that ends past the run's deadline (`selectools._deadline`): the error
        is raised instead, while there is still time for a fallback provider to answer.
        """
        if attempt > self.max_retries or not error.should_retry:
            return None
        if error.retry_after is not None:
            delay = float(error.retry_after)
            if delay > self.max_server_delay:
                return None
        else:
            backoff = min(self.max_delay, self.initial_delay * 2.0 ** (attempt - 1))
            # Jitter spreads out clients that failed together, so they do not retry together.
            delay = backoff * (1 - 0.25 * random.random())
        left = seconds_left()
        if left is not None and delay >= left:
            log.info("no retry after %s: the run's deadline is %.2f s away", error, left)
            return None
        return delay


async def call_with_retries(fn: Callable[[], Awaitable[T]], policy: RetryPolicy, *,
                            failed: ProviderError | None = None) -> T:
    """Await `fn()`, calling it again after retryable `ProviderError`s, per `policy`. The
    last error is raised on its own, not chained to the ones before it.

    `failed`: the error of a first attempt the caller made itself (awaiting `fn()` directly
    spares every await of a call that needs no retry, most calls, this loop's coroutine
    layer); the loop goes on from that attempt's retry."""
    attempt = 0
    while True:
        if failed is None:
            try:
                return await fn()
            except ProviderError as error:
                failed = error
        attempt += 1
        delay = policy.delay_before(attempt, failed)
        if delay is None:
            raise failed
        await _wait(policy, attempt, failed, delay)
        failed = None


class Empty:
    """The stream ended before yielding anything."""


EMPTY = Empty()


async def first_item(stream: AsyncIterator[T]) -> T | Empty:
    """The first item of `stream` (`EMPTY` when it ends at once). The stream is closed when
    taking it fails: a retry opens a new one."""
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return EMPTY
    except BaseException:
        await close_stream(stream)
        raise


async def first_item_with_retries(open_stream: Callable[[], AsyncIterator[T]],
                                  policy: RetryPolicy) -> tuple[AsyncIterator[T], T | Empty]:
    """Open a stream and take its first item, reopening it after a retryable error that came
    before that item. Returns the open stream and its first item (`EMPTY` when it ended at
    once); the caller iterates the rest directly, with no retry bookkeeping per item, and
    closes the stream."""

    async def attempt() -> tuple[AsyncIterator[T], T | Empty]:
        stream = open_stream()
        return stream, await first_item(stream)

    return await call_with_retries(attempt, policy)


async def close_stream(stream: AsyncIterator[Any]) -> None:
    """Close an async generator (any iterator with `aclose`); others need nothing."""
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()


async def _wait(policy: RetryPolicy, attempt: int, error: ProviderError, delay: float) -> None:
    log.info("retry %d/%d in %.2f s after %s", attempt, policy.max_retries, delay, error)
    if policy.on_retry is not None:
        outcome = policy.on_retry(attempt, error, delay)
        if inspect.isawaitable(outcome):
            await outcome
    await asyncio.sleep(delay)
