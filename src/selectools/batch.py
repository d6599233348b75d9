"""One agent over many inputs: `abatch` / `batch`, results in input order.

Each input is one independent run of the same Agent (an Agent serves concurrent runs: a
run's state lives in the run). A run that raises becomes a failed `BatchResult` holding
its input and its error; it never ends the batch. A rate limit (429, `RateLimitError`,
after the provider's own retries) fails no item: the batch halves its concurrency, waits
what the server asked (`retry_after`, else a growing backoff), runs the item again, and
climbs back one slot at a time as runs succeed (additive increase, multiplicative
decrease, as TCP does). An input refused `MAX_RATE_LIMITS` times over (a spent quota),
or by a server that says not to retry, fails with its last rate limit.

Work is done by at most `max_concurrency` worker tasks pulling indexes from one queue, so
a batch of 100,000 inputs holds 100,000 results, never 100,000 waiting coroutines.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import is_
from typing import TYPE_CHECKING, Any, cast

from ._sync import run_sync
from .providers.errors import RateLimitError

if TYPE_CHECKING:
    from .agent.core import Agent, Messages
    from .output import ResponseFormat
    from .types import AgentResult

log = logging.getLogger("selectools.batch")

#: selectools 1.3.0's default for `abatch` (its `batch` used 5 threads; ours shares the loop).
DEFAULT_CONCURRENCY = 10
#: The longest wait after a rate limit that came without `retry_after` (seconds).
MAX_BACKOFF = 30.0
#: How many times one input is held back for a rate limit and run again before it fails
#: with the last one: a key whose quota is spent is refused with a 429 for good
#: (OpenAI's insufficient_quota), and the batch must end (about two minutes of backoff).
MAX_RATE_LIMITS = 8

OnProgress = Callable[[int, int], Any]
OnResult = Callable[["BatchResult"], Any]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One input's outcome: `result` when its run finished, else `error`, never both.

    `index` is the input's position, `input` the input itself, so a failure can be retried
    or reported without looking anything up. `rate_limited` counts the times this input
    was held back by a rate limit and run again.
    """

    index: int
    input: Messages
    result: AgentResult | None = None
    error: BaseException | None = None
    rate_limited: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def content(self) -> str:
        """The final answer's text ("" for a failure)."""
        return self.result.content if self.result is not None else ""


class AdaptiveLimit:
    """How many runs may be in flight now: `ceiling` until a rate limit, then halved (at
    most once per burst: the calls already in flight when the first 429 came are refused
    for the same reason), and grown by one after as many successes as the current limit.
    After a rate limit no run starts before the server's `retry_after` has passed."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.limit = ceiling
        self.active = 0
        self.rate_limits = 0
        self._resume_at = 0.0
        self._generation = 0  # bumped by each decrease; a 429 from before it is no news
        self._successes = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> int:
        """Wait for a slot; returns the generation to hand back to `rate_limited`."""
        if self.active < self.limit and not self._resume_at:  # the common case: no waiting
            self.active += 1
            return self._generation
        loop = asyncio.get_running_loop()
        while True:
            pause = self._resume_at - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            self._resume_at = 0.0
            if self.active < self.limit:
                self.active += 1
                return self._generation
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if not waiter.cancelled() and waiter.done():
                    self._wake()  # pass on the wake-up this cancelled waiter received
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def release(self) -> None:
        self.active -= 1
        if self._waiters:
            self._wake()

    def succeeded(self) -> None:
        if self.limit < self.ceiling:
            self._successes += 1
            if self._successes >= self.limit:
                self.limit += 1
                self._successes = 0
                self._wake()

    def rate_limited(self, delay: float, generation: int) -> None:
        """A run that started in `generation` was refused for a rate limit: slow down and
        start nothing for `delay` seconds."""
        self.rate_limits += 1
        if generation == self._generation:
            self.limit = max(1, self.limit // 2)
            self._generation += 1
            self._successes = 0
        resume_at = asyncio.get_running_loop().time() + delay
        self._resume_at = max(self._resume_at, resume_at)

    def _wake(self) -> None:
        while self._waiters and self.active < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def rate_limit_delay(error: BaseException, attempt: int) -> float | None:
    """How long to hold back after `error` when it is a rate limit (also every provider of
    a FallbackProvider refusing for one); None for any other error. `attempt` counts this
    input's rate limits from 1, for the backoff when the server gave no delay."""
    limits: list[RateLimitError] = []
    if isinstance(error, RateLimitError):
        limits.append(error)
    else:
        from .providers.errors import ProviderError

        failures = getattr(error, "failures", None)
        if not isinstance(error, ProviderError) or not isinstance(failures, list):
            return None
        from .providers.fallback import ProviderSkippedError

        for _, failure in failures:
            if isinstance(failure, RateLimitError):
                limits.append(failure)
            elif not isinstance(failure, ProviderSkippedError):
                return None  # something else failed too: not only a rate limit
    if not limits or any(not limit.should_retry for limit in limits):
        return None  # (the server's `x-should-retry: false`: it will refuse again)
    asked = [limit.retry_after for limit in limits if limit.retry_after is not None]
    if asked:
        return max(0.0, min(asked))  # the first provider free again may take the run
    backoff = min(MAX_BACKOFF, 0.5 * 2.0 ** (attempt - 1))
    return backoff * (1 - 0.25 * random.random())  # jitter: batches slowed together part


RunInput = Callable[["Messages"], Awaitable["AgentResult"]]


def input_runner(agent: Agent, response_format: ResponseFormat | None) -> RunInput:
    """How a batch runs one input: as `agent.arun(item, response_format=...)` would, less
    what the batch does once for every input. The inputs were checked (checked_inputs),
    `response_format` is made an OutputSchema here (a TypeError now, before anything
    runs), and check_agent refused an agent whose runs have a session: `arun`'s own layer
    is left out (a coroutine layer fewer on every await of a run). An Agent subclass with
    an `arun` of its own gets its `arun` called."""
    from .agent.core import Agent, _output, _prepare

    # (The bound method's function: a subclass's arun, or one set on the instance (a
    # wrapper, a test's mock), is not Agent.arun, and is called as at 99ed814.)
    if getattr(agent.arun, "__func__", None) is not Agent.arun:
        return lambda item: agent.arun(item, response_format=response_format)
    from .types import Role, made_message

    output, drain, user = _output(response_format), agent._drain, Role.USER
    # A str input was checked (not blank) by checked_inputs, and a str cannot have changed
    # since: its message is made as _prepare makes it, without the check again.
    return lambda item: drain([made_message(user, item)] if type(item) is str
                              else _prepare(item), None, output)


async def run_item(run: RunInput, index: int, item: Messages, gate: AdaptiveLimit
                   ) -> BatchResult:
    """Run one input (with `run`, from input_runner) to its `BatchResult` under `gate`,
    again after each rate limit."""
    rate_limited = 0
    while True:
        generation = await gate.acquire()
        try:
            result = await run(item)
        except Exception as error:
            delay = rate_limit_delay(error, rate_limited + 1)
            if delay is None or rate_limited == MAX_RATE_LIMITS:
                return BatchResult(index, item, None, error, rate_limited)
            rate_limited += 1
            log.info("input %d was rate limited (%s); again in %.2f s", index, error, delay)
            gate.rate_limited(delay, generation)
            continue
        finally:
            gate.release()
        gate.succeeded()
        if result.trace is not None:  # held until the batch ends: no spare room in it
            result.trace.trim()
        # (Positional: a class called with keywords gets them as a dict, once per input.)
        return BatchResult(index, item, result, None, rate_limited)


async def abatch(agent: Agent, inputs: Iterable[Messages], *,
                 max_concurrency: int = DEFAULT_CONCURRENCY,
                 response_format: ResponseFormat | None = None,
                 on_progress: OnProgress | None = None,
                 on_result: OnResult | None = None,
                 keep_results: bool = True) -> list[BatchResult]:
    """Run `agent` on every input, at most `max_concurrency` at once; a `BatchResult` per
    input, in input order.

    An input is what `agent.arun` takes: a str, a Message or a list of Messages; every
    input is checked before anything runs. `on_progress(completed, total)` is called after
    each input finishes (as selectools 1.3.0 calls it); an exception it raises is logged
    once and the batch goes on. `on_result(batch_result)` is called as each input
    finishes, in the order they finish: store results there to keep them whatever happens
    to the batch; an exception it raises ends the batch (the runs in flight are
    cancelled), since a result it failed to keep would be lost. Cancelling `abatch`
    cancels the runs in flight.

    `keep_results=False` holds no result once `on_result` has had it, and returns an
    empty list: for batches too big to hold (an AgentResult with its trace is several KB).
    """
    items = checked_inputs(inputs)
    check_agent(agent)
    check_concurrency("max_concurrency", max_concurrency)
    if not keep_results and on_result is None:
        raise ValueError("keep_results=False needs on_result: the results would go nowhere")
    run = input_runner(agent, response_format)
    total = len(items)
    results: list[BatchResult | None] = [None] * (total if keep_results else 0)
    if not total:
        return []
    gate = AdaptiveLimit(max_concurrency)
    queue = deque(range(total))
    progress = Progress(on_progress, total)

    async def worker() -> None:
        while queue:
            index = queue.popleft()
            outcome = await run_item(run, index, items[index], gate)
            if keep_results:
                results[index] = outcome
            if on_result is not None:
                on_result(outcome)
            progress.step()

    workers = [asyncio.ensure_future(worker()) for _ in range(min(max_concurrency, total))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return results_in_order(results)


def batch(agent: Agent, inputs: Iterable[Messages], *,
          max_concurrency: int = DEFAULT_CONCURRENCY,
          response_format: ResponseFormat | None = None,
          on_progress: OnProgress | None = None,
          on_result: OnResult | None = None,
          keep_results: bool = True) -> list[BatchResult]:
    """`abatch` from sync code, on the library's event loop (where the agent's connection
    pool lives). The callbacks run on that loop's thread. Ctrl-C cancels the runs in
    flight; the results handed to `on_result` until then are the ones finished."""
    return run_sync(abatch(agent, inputs, max_concurrency=max_concurrency,
                           response_format=response_format, on_progress=on_progress,
                           on_result=on_result, keep_results=keep_results))


def checked_inputs(inputs: Iterable[Messages]) -> list[Messages]:
    """`inputs` as a list, each one checked as `agent.run` would check it, so a bad input
    is refused (naming its index) before any input runs."""
    from .agent.core import _prepare

    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
        raise TypeError(f"inputs must be a list of inputs (each a str, a Message or a list "
                        f"of Messages), got {type(inputs).__name__}")
    items = list(inputs)
    # The usual batch, only text, each not blank: _prepare's check of a str, made in C for
    # the whole list (each input's message is made when it runs).
    if {str}.issuperset(map(type, items)) and all(map(str.strip, cast("list[str]", items))):
        return items
    for index, item in enumerate(items):
        if type(item) is str and item.strip():
            continue  # (as above)
        try:
            _prepare(item)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"inputs[{index}]: {exc}") from None
    return items


def check_agent(agent: Agent) -> None:
    """Refuse an agent whose runs would share a conversation: each input is a run of its
    own, and with memory (or one session for all) every input would see the others'."""
    from .agent.core import Agent

    if not isinstance(agent, Agent):
        raise TypeError(f"agent must be an Agent, got {type(agent).__name__}")
    if agent.memory is not None:
        raise ValueError("a batch needs an Agent without memory: each input is a run of its "
                         "own, and with memory every input would see the others' messages")
    if agent.config.session_id is not None:
        raise ValueError(f"a batch needs an Agent without AgentConfig.session_id "
                         f"({agent.config.session_id!r}): every input would run in that one "
                         "session, one at a time at best")


def check_concurrency(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


class Progress:
    """Counts finished inputs for `on_progress`; its first exception is logged, the rest
    are not (a broken callback must not flood the log once per input)."""

    def __init__(self, callback: OnProgress | None, total: int) -> None:
        self._callback = callback
        self.total = total
        self.completed = 0
        self._complained = False

    def step(self) -> None:
        self.completed += 1
        if self._callback is None:
            return
        try:
            self._callback(self.completed, self.total)
        except Exception:
            if not self._complained:
                self._complained = True
                log.exception("on_progress raised (logged once; the batch goes on)")


def results_in_order(results: Sequence[BatchResult | None]) -> list[BatchResult]:
    """Every result, in input order; an index without one is a bug worth naming."""
    # (Each result tested in C by identity: `None in results` would call BatchResult's
    # __eq__ on each.)
    if any(map(is_, results, repeat(None))):
        missing = [index for index, result in enumerate(results) if result is None]
        raise RuntimeError(f"no result for inputs {missing[:10]}")
    return list(cast("Sequence[BatchResult]", results))
