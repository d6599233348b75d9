"""Where the artifacts of the run being executed are collected (`selectools.results` holds
the public side: `Artifact` and `emit_artifact`).

A module of its own so that the engine can open a run's collection without importing the
typed-results module, which a program that never uses them need not load.
"""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Any

#: The list artifacts emitted now go to. Tool tasks and worker threads run in a copy of
#: the run's context, which holds this same list, so what they append reaches the run.
collector: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "selectools_artifacts", default=None)


class collecting_artifacts:  # noqa: N801 - used like a function, in a `with`
    """The engine's side: while it is entered, artifacts emitted in this context (and in
    the tasks and threads it starts, which copy it) go to `into`, one run's list.

    Entered only around awaits that never yield to a caller, so that it stays the run's
    own even when two runs' streams are consumed in turn by one task."""

    __slots__ = ("_into", "_token")

    def __init__(self, into: list[Any]) -> None:
        self._into = into
        self._token: contextvars.Token[list[Any] | None] | None = None

    def __enter__(self) -> list[Any]:
        self._token = collector.set(self._into)
        return self._into

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._token is not None:
            collector.reset(self._token)
            self._token = None
