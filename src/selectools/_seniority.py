"""The start of the run whose model call is being made, published for the connection slots.

A provider's connections are few (its `max_connections`, 100 by default) and, when more
calls want one than there are, the calls wait (`providers._slots.Slots`). They wait in the
order their runs began, not the order they asked: a run's second call goes before the first
call of a run that began after it. Runs under way then finish first instead of advancing in
lockstep with every newer run, each holding its conversation the whole time: with 500
streamed runs in flight on 100 connections (benchmarks B3), what the process's peak memory
grew by during the runs fell from about 14 MB to 9 MB (the hand-written aiohttp loop's:
aiohttp gives an idle connection to whichever call finds it, a run's next call first). The
newest runs' first token comes later for it (B9). No call waits forever: it is overtaken
only by calls of runs that began before it, of which there are finitely many, each with
finitely many calls.

A run sets `RUN_STARTED` just before each of its model calls (`Run.started`, on the
`time.monotonic()` clock) and does not reset it: the slot is taken within that call's
first await, and a reset would need the same context at the end of a run that a caller
may close from another (a stream's consumer). A later call in the same context outside
any run, or a provider called from one of the run's tools, is ordered as that run's. A
call in a context no run has set waits from the moment it asks.
"""

from __future__ import annotations

from contextvars import ContextVar

#: The start (`time.monotonic()`) of the run making the current model call, or None.
RUN_STARTED: ContextVar[float | None] = ContextVar("selectools_run_started", default=None)
