"""The retry loop: which errors are retried, how long it waits, and streams."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from selectools._deadline import RUN_DEADLINE
from selectools.providers._retry import (
    EMPTY,
    RetryPolicy,
    call_with_retries,
    close_stream,
    first_item_with_retries,
)
from selectools.providers.errors import (
    AuthenticationError,
    InvalidRequestError,
    ProviderConnectionError,
    ProviderError,
    RateLimitError,
    ServerError,
)

FAST = RetryPolicy(max_retries=3, initial_delay=0.0, max_delay=0.0)


class Flaky:
    """Fails with the given errors, in order, then answers "ok"."""

    def __init__(self, *errors: ProviderError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_retryable_errors_are_retried_until_success() -> None:
    flaky = Flaky(RateLimitError("slow down"), ServerError("oops"),
                  ProviderConnectionError("reset"))
    assert await call_with_retries(flaky, FAST) == "ok"
    assert flaky.calls == 4


@pytest.mark.parametrize("error", [InvalidRequestError("bad"), AuthenticationError("key")])
async def test_non_retryable_errors_are_raised_at_once(error: ProviderError) -> None:
    flaky = Flaky(error)
    with pytest.raises(type(error)):
        await call_with_retries(flaky, FAST)
    assert flaky.calls == 1


async def test_gives_up_after_max_retries() -> None:
    flaky = Flaky(*[ServerError("down")] * 5)
    with pytest.raises(ServerError):
        await call_with_retries(flaky, RetryPolicy(max_retries=2, initial_delay=0.0))
    assert flaky.calls == 3


async def test_server_verdict_overrides_the_class_default() -> None:
    refused = Flaky(RateLimitError("no", should_retry=False))
    with pytest.raises(RateLimitError):
        await call_with_retries(refused, FAST)
    assert refused.calls == 1
    invited = Flaky(InvalidRequestError("try again", should_retry=True))
    assert await call_with_retries(invited, FAST) == "ok"


async def test_on_retry_sees_attempt_error_and_server_delay() -> None:
    seen: list[tuple[int, str, float]] = []

    async def on_retry(attempt: int, error: ProviderError, delay: float) -> None:
        seen.append((attempt, error.message, delay))

    flaky = Flaky(RateLimitError("a", retry_after=0.0), RateLimitError("b", retry_after=0.0))
    policy = RetryPolicy(max_retries=2, on_retry=on_retry)
    assert await call_with_retries(flaky, policy) == "ok"
    assert seen == [(1, "a", 0.0), (2, "b", 0.0)]


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=1.0, max_delay=5.0)
    error = ServerError("x")
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delay = policy.delay_before(attempt, error)
        assert delay is not None and 0.75 * full <= delay <= full
    assert policy.delay_before(11, error) is None


def test_a_server_delay_longer_than_we_wait_is_not_waited_for() -> None:
    policy = RetryPolicy(max_server_delay=60.0)
    assert policy.delay_before(1, RateLimitError("x", retry_after=30.0)) == 30.0
    assert policy.delay_before(1, RateLimitError("x", retry_after=3600.0)) is None


def test_negative_retries_are_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


async def test_stream_is_retried_only_before_its_first_item() -> None:
    opened: list[int] = []

    def open_stream() -> AsyncIterator[str]:
        attempt = len(opened)
        opened.append(attempt)

        async def gen() -> AsyncIterator[str]:
            if attempt == 0:
                raise ServerError("before anything")
            yield f"a{attempt}"
            if attempt == 1:
                raise ServerError("after the first item")

        return gen()

    stream, first = await first_item_with_retries(open_stream, FAST)
    assert first == "a1" and opened == [0, 1]
    try:  # the rest is the caller's to read: an error there is not retried
        with pytest.raises(ServerError, match="after the first item"):
            await anext(stream)
    finally:
        await close_stream(stream)
    assert opened == [0, 1]


async def test_stream_success_after_retry_yields_everything_once() -> None:
    attempts = 0

    def open_stream() -> AsyncIterator[int]:
        nonlocal attempts
        attempts += 1
        first = attempts == 1

        async def gen() -> AsyncIterator[int]:
            if first:
                raise RateLimitError("busy", retry_after=0.0)
            for n in range(3):
                yield n

        return gen()

    stream, first = await first_item_with_retries(open_stream, FAST)
    rest = [n async for n in stream]
    assert [first, *rest] == [0, 1, 2]
    assert attempts == 2


async def test_a_stream_that_ends_at_once_gives_empty() -> None:
    async def nothing() -> AsyncIterator[int]:
        return
        yield

    stream, first = await first_item_with_retries(nothing, FAST)
    assert first is EMPTY
    await close_stream(stream)


async def test_no_wait_ends_past_the_runs_deadline() -> None:
    patient = RetryPolicy(max_retries=3, initial_delay=10.0, max_delay=10.0)
    flaky = Flaky(ServerError("oops"))
    published = RUN_DEADLINE.set(time.monotonic() + 1.0)
    try:
        started = time.monotonic()
        with pytest.raises(ServerError, match="oops"):
            await call_with_retries(flaky, patient)
    finally:
        RUN_DEADLINE.reset(published)
    assert flaky.calls == 1 and time.monotonic() - started < 0.5
    # Without a deadline, or with time enough, the same wait is taken.
    assert patient.delay_before(1, ServerError("oops")) is not None
    published = RUN_DEADLINE.set(time.monotonic() + 60)
    try:
        assert FAST.delay_before(1, ServerError("oops")) == 0.0
    finally:
        RUN_DEADLINE.reset(published)
