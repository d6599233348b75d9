"""Observers: callbacks for every step of a run.

Subclass `AgentObserver` (sync) or `AsyncAgentObserver` (async) and override the events you
need; pass instances in `AgentConfig(observers=[...])`. Every event carries the `run_id`;
tool events carry a `call_id` unique within the run. An observer that raises is logged once
per observer and event, and the run goes on.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

from .types import AgentResult, Message

logger = logging.getLogger("selectools")

#: Every observer event, with the names of the arguments it is called with after `run_id`:
#: declared once, here. The hub dispatches by it, LoggingObserver logs by it, and the two
#: observer bases below are held to it (tests/test_engine_observers.py).
EVENT_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "on_run_start": ("messages", "system_prompt"),
    "on_run_end": ("result",),
    "on_iteration_start": ("iteration", "messages"),
    "on_iteration_end": ("iteration", "response"),
    "on_llm_start": ("messages", "model", "system_prompt"),
    "on_llm_end": ("response", "usage"),
    "on_llm_retry": ("attempt", "error", "delay"),
    "on_usage": ("usage",),
    "on_tool_start": ("call_id", "tool_name", "tool_args"),
    "on_tool_end": ("call_id", "tool_name", "result", "duration_ms"),
    "on_tool_error": ("call_id", "tool_name", "error", "tool_args", "duration_ms"),
    "on_provider_fallback": ("failed_provider", "next_provider", "error"),
    "on_error": ("error", "context"),
    "on_memory_trim": ("messages_removed", "reason"),
}
EVENTS = tuple(EVENT_ARGUMENTS)


class AgentObserver:
    """Sync observer; every method is a no-op until overridden."""

    def on_run_start(self, run_id: str, messages: list[Any], system_prompt: str) -> None: ...
    def on_run_end(self, run_id: str, result: Any) -> None: ...
    def on_iteration_start(self, run_id: str, iteration: int, messages: list[Any]) -> None: ...
    def on_iteration_end(self, run_id: str, iteration: int, response: Any) -> None: ...
    def on_llm_start(self, run_id: str, messages: list[Any], model: str,
                     system_prompt: str) -> None: ...
    def on_llm_end(self, run_id: str, response: Any, usage: Any) -> None: ...
    def on_llm_retry(self, run_id: str, attempt: int, error: BaseException,
                     delay: float) -> None: ...
    def on_usage(self, run_id: str, usage: Any) -> None: ...
    def on_tool_start(self, run_id: str, call_id: str, tool_name: str,
                      tool_args: dict[str, Any]) -> None: ...
    def on_tool_end(self, run_id: str, call_id: str, tool_name: str, result: str,
                    duration_ms: float) -> None: ...
    def on_tool_error(self, run_id: str, call_id: str, tool_name: str, error: BaseException,
                      tool_args: dict[str, Any], duration_ms: float) -> None: ...
    def on_provider_fallback(self, run_id: str, failed_provider: str, next_provider: str,
                             error: BaseException) -> None: ...
    def on_error(self, run_id: str, error: BaseException, context: dict[str, Any]) -> None: ...
    def on_memory_trim(self, run_id: str, messages_removed: int, reason: str) -> None: ...


class AsyncAgentObserver:
    """Async observer: the same events as coroutines, awaited by the run."""

    async def on_run_start(self, run_id: str, messages: list[Any], system_prompt: str) -> None:
        ...
    async def on_run_end(self, run_id: str, result: Any) -> None: ...
    async def on_iteration_start(self, run_id: str, iteration: int,
                                 messages: list[Any]) -> None: ...
    async def on_iteration_end(self, run_id: str, iteration: int, response: Any) -> None: ...
    async def on_llm_start(self, run_id: str, messages: list[Any], model: str,
                           system_prompt: str) -> None: ...
    async def on_llm_end(self, run_id: str, response: Any, usage: Any) -> None: ...
    async def on_llm_retry(self, run_id: str, attempt: int, error: BaseException,
                           delay: float) -> None: ...
    async def on_usage(self, run_id: str, usage: Any) -> None: ...
    async def on_tool_start(self, run_id: str, call_id: str, tool_name: str,
                            tool_args: dict[str, Any]) -> None: ...
    async def on_tool_end(self, run_id: str, call_id: str, tool_name: str, result: str,
                          duration_ms: float) -> None: ...
    async def on_tool_error(self, run_id: str, call_id: str, tool_name: str,
                            error: BaseException, tool_args: dict[str, Any],
                            duration_ms: float) -> None: ...
    async def on_provider_fallback(self, run_id: str, failed_provider: str,
                                   next_provider: str, error: BaseException) -> None: ...
    async def on_error(self, run_id: str, error: BaseException,
                       context: dict[str, Any]) -> None: ...
    async def on_memory_trim(self, run_id: str, messages_removed: int, reason: str) -> None:
        ...


class LoggingObserver(AgentObserver):
    """Logs every event as one line on the `selectools` logger:
    `tool_start run=<id> call_id='c1' tool_name='search' tool_args={...}`."""

    def __init__(self, level: int = logging.INFO, log: logging.Logger | None = None) -> None:
        self.level = level
        self.log = log or logger

    def _write(self, event: str, run_id: str, args: tuple[Any, ...]) -> None:
        if self.log.isEnabledFor(self.level):
            details = " ".join(f"{name}={_brief(value)}"
                               for name, value in zip(EVENT_ARGUMENTS[event], args, strict=False))
            self.log.log(self.level, "%s run=%s %s", event[3:], run_id, details)


def _brief(value: Any) -> str:
    """One short token per argument: a log line, not a dump of the conversation."""
    if isinstance(value, list):
        return f"<{len(value)} messages>"
    if isinstance(value, Message):
        calls = f" +{len(value.tool_calls)} tool calls" if value.tool_calls else ""
        return f"{value.role.value}:{value.content[:80]!r}{calls}"
    if isinstance(value, AgentResult):
        return f"result:{value.content[:80]!r} iterations={value.iterations}"
    try:
        return repr(value)[:200]
    except Exception:  # a broken __repr__ must not cost the log line
        return f"<{type(value).__name__}>"


def _logging_method(event: str) -> Any:
    def log_event(self: LoggingObserver, run_id: str, *args: Any) -> None:
        self._write(event, run_id, args)

    log_event.__name__ = event
    return log_event


for _event in EVENTS:  # one logging method per event, each the same one line
    setattr(LoggingObserver, _event, _logging_method(_event))


# The no-op methods of the bases: an observer's event that is one of them is not called.
_NO_OPS = frozenset(getattr(base, event) for base in (AgentObserver, AsyncAgentObserver)
                    for event in EVENTS)


class ObserverHub:
    """Calls every observer for an event; sync ones directly, async ones awaited.

    Each observer's handlers are found once, by `EVENT_ARGUMENTS`, when the hub is made;
    events an observer leaves as the base's no-op are not dispatched to it at all.
    """

    def __init__(self, observers: list[Any]) -> None:
        self.observers = list(observers)
        self._reported: set[tuple[int, str]] = set()
        self._handlers: dict[str, tuple[tuple[Any, Callable[..., Any]], ...]] = {
            event: tuple((observer, handler) for observer in self.observers
                         if (handler := _handler(observer, event)) is not None)
            for event in EVENTS}
        # Read before every event: a plain attribute is cheaper than __bool__ on the hot path.
        self.active = bool(self.observers)

    async def emit(self, event: str, *args: Any) -> None:
        for observer, outcome in self._call_each(event, args):
            try:
                await outcome
            except Exception:
                self._report(observer, event)

    def emit_sync(self, event: str, *args: Any) -> None:
        """For callbacks from sync code (retry hooks); async observers are scheduled."""
        import asyncio  # here, not at the top: it is most of `import selectools`'s cost

        for observer, outcome in self._call_each(event, args):
            task = asyncio.ensure_future(outcome)
            task.add_done_callback(functools.partial(self._check, observer=observer,
                                                     event=event))

    def _call_each(self, event: str, args: tuple[Any, ...]) -> Iterator[tuple[Any, Any]]:
        """Call `event` on every observer; yields (observer, awaitable) for async ones."""
        for observer, handler in self._handlers[event]:
            try:
                outcome = handler(*args)
            except Exception:
                self._report(observer, event)
                continue
            if inspect.isawaitable(outcome):
                yield observer, outcome

    def _check(self, task: Any, *, observer: Any, event: str) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._report(observer, event, task.exception())

    def _report(self, observer: Any, event: str, exc: BaseException | None = None) -> None:
        key = (id(observer), event)
        if key in self._reported:
            return
        self._reported.add(key)
        logger.error("observer %s raised in %s; further errors of it there are not logged",
                     type(observer).__name__, event, exc_info=exc or True)


def _handler(observer: Any, event: str) -> Callable[..., Any] | None:
    handler: Callable[..., Any] | None = getattr(observer, event, None)
    if not callable(handler) or getattr(handler, "__func__", None) in _NO_OPS:
        return None
    return handler
