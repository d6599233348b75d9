"""The deadline of the run in progress, published for the code far below the run.

While a run awaits its model, the run puts its absolute deadline (a `time.monotonic()`
value) in `RUN_DEADLINE`. The one retry loop does not wait past it and FallbackProvider
starts no further provider after it. The run also cancels the model call at its deadline,
but that alone is not enough: when a provider's own timeout fires at the same moment (the
run caps it at the time left), the HTTP client may turn the run's cancellation into its
own timeout error, and without this check that error would be retried, then failed over.

The run publishes it too while it opens and commits its session: a store that waits for
someone else (SQLiteSessionStore, behind another process's write transaction) waits no
longer than the deadline and then raises `DeadlineReached`, having changed nothing, and
the run turns that into its RunTimeoutError.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

#: The running run's deadline on the `time.monotonic()` clock, or None (no limit, no run).
RUN_DEADLINE: ContextVar[float | None] = ContextVar("selectools_run_deadline", default=None)


class DeadlineReached(TimeoutError):
    """A wait below the run (a session store's, for a lock another process holds) gave up
    at the run's deadline, having changed nothing."""


def current_deadline() -> float | None:
    """The absolute `time.monotonic()` deadline of the run in progress, if it has one."""
    return RUN_DEADLINE.get()


def seconds_left() -> float | None:
    """Seconds until the run's deadline (0 or less once it has passed); None without one."""
    at = RUN_DEADLINE.get()
    return None if at is None else at - time.monotonic()
