"""Observers: callbacks for every step of a run.

Subclass `AgentObserver` and override the `on_*` events you need, subclass
`AsyncAgentObserver` and override its `a_on_*` coroutines, or hand one function to
`SimpleStepObserver`; pass them in `AgentConfig(observers=[...])`. The names and arguments are
selectools 1.x's. Every event carries the `run_id`; tool events carry a `call_id` unique within
the run. An observer that raises is logged once per observer and event, and the run goes on.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ._log import logger
from .types import AgentResult, Message

if TYPE_CHECKING:
    import logging

_INFO = 20  # logging.INFO

#: Every event the engine emits, with the names of the arguments it is called with after
#: `run_id`: declared once, here. The hub dispatches by it, LoggingObserver logs by it,
#: SimpleStepObserver forwards by it, and the two observer bases below are held to it
#: (tests/test_engine_observers.py).
#:
#: The last three are for the engine to emit (selectools.otel reads them): a run's
#: session when it is loaded (1.x's name), a run that ended by cancellation (1.x's name:
#: its `reason` says how), and the first item of a streamed answer, `latency_ms` after
#: the request went out (time to first chunk).
EVENT_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "on_run_start": ("messages", "system_prompt"),
    "on_run_end": ("result",),
    "on_iteration_start": ("iteration", "messages"),
    "on_iteration_end": ("iteration", "response"),
    "on_llm_start": ("messages", "model", "system_prompt"),
    "on_llm_end": ("response", "usage"),
    "on_llm_retry": ("attempt", "max_retries", "error", "backoff_seconds"),
    "on_usage": ("usage",),
    "on_tool_start": ("call_id", "tool_name", "tool_args"),
    "on_tool_end": ("call_id", "tool_name", "result", "duration_ms"),
    "on_tool_error": ("call_id", "tool_name", "error", "tool_args", "duration_ms"),
    "on_provider_fallback": ("failed_provider", "next_provider", "error"),
    "on_error": ("error", "context"),
    "on_memory_trim": ("messages_removed", "messages_remaining", "reason"),
    "on_structured_validate": ("success", "attempt", "error"),
    "on_session_load": ("session_id", "message_count"),
    "on_cancelled": ("iteration", "reason"),
    "on_llm_first_chunk": ("latency_ms",),
}
EVENTS = tuple(EVENT_ARGUMENTS)

#: Events of selectools 1.x that this engine does not emit (yet), with ALL their parameters
#: (batch and eval events have no run id). Declared so that observers written for them keep
#: working: the bases have them as no-ops, and SimpleStepObserver forwards them when called.
OTHER_EVENT_PARAMETERS: dict[str, tuple[str, ...]] = {
    "on_cache_hit": ("run_id", "model", "response"),
    "on_tool_chunk": ("run_id", "call_id", "tool_name", "chunk"),
    "on_policy_decision": ("run_id", "tool_name", "decision", "reason", "tool_args"),
    "on_session_save": ("run_id", "session_id", "message_count"),
    "on_memory_summarize": ("run_id", "summary"),
    "on_entity_extraction": ("run_id", "entities_extracted"),
    "on_kg_extraction": ("run_id", "triples_extracted"),
    "on_batch_start": ("batch_id", "prompts_count"),
    "on_batch_end": ("batch_id", "results_count", "errors_count", "total_duration_ms"),
    "on_eval_start": ("suite_name", "total_cases", "model"),
    "on_eval_case_end": ("suite_name", "case_name", "verdict", "latency_ms", "failures"),
    "on_eval_end": ("suite_name", "accuracy", "total_cases", "pass_count", "fail_count",
                    "total_cost", "duration_ms"),
}

#: Every event's full parameter list, emitted or not.
EVENT_PARAMETERS: dict[str, tuple[str, ...]] = {
    **{event: ("run_id", *arguments) for event, arguments in EVENT_ARGUMENTS.items()},
    **OTHER_EVENT_PARAMETERS}


class AgentObserver:
    """Sync observer; every method is a no-op until overridden."""

    def on_run_start(self, run_id: str, messages: list[Any], system_prompt: str) -> None: ...
    def on_run_end(self, run_id: str, result: Any) -> None: ...
    def on_iteration_start(self, run_id: str, iteration: int, messages: list[Any]) -> None: ...
    def on_iteration_end(self, run_id: str, iteration: int, response: Any) -> None: ...
    def on_llm_start(self, run_id: str, messages: list[Any], model: str,
                     system_prompt: str) -> None: ...
    def on_llm_end(self, run_id: str, response: Any, usage: Any) -> None: ...
    def on_llm_retry(self, run_id: str, attempt: int, max_retries: int | None,
                     error: BaseException, backoff_seconds: float) -> None: ...
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
    def on_memory_trim(self, run_id: str, messages_removed: int, messages_remaining: int,
                       reason: str) -> None: ...
    def on_structured_validate(self, run_id: str, success: bool, attempt: int,
                               error: str | None = None) -> None: ...
    def on_session_load(self, run_id: str, session_id: str, message_count: int) -> None: ...
    def on_cancelled(self, run_id: str, iteration: int, reason: str) -> None: ...
    def on_llm_first_chunk(self, run_id: str, latency_ms: float) -> None: ...


class AsyncAgentObserver(AgentObserver):
    """Async observer: each event as an `a_on_*` coroutine (`a_on_tool_end`, ...), with the
    arguments of its `on_*` counterpart.

    `blocking` (read when the agent is made) says how the run calls them: False (the
    default), scheduled as tasks that run alongside it, never slowing it; True, awaited
    before the run goes on. Its `on_*` methods may be coroutines too: they are awaited.

    Non-blocking tasks run on the caller's event loop, so they live as long as it does:
    `asyncio.run(agent.arun(...))` cancels those still running when it returns (the last
    `a_on_run_end` among them). Work that must finish belongs in a blocking observer. (The
    sync `agent.run` uses the library's own loop, which outlives the call.)
    """

    blocking: bool = False

    async def a_on_run_start(self, run_id: str, messages: list[Any],
                             system_prompt: str) -> None: ...
    async def a_on_run_end(self, run_id: str, result: Any) -> None: ...
    async def a_on_iteration_start(self, run_id: str, iteration: int,
                                   messages: list[Any]) -> None: ...
    async def a_on_iteration_end(self, run_id: str, iteration: int, response: Any) -> None: ...
    async def a_on_llm_start(self, run_id: str, messages: list[Any], model: str,
                             system_prompt: str) -> None: ...
    async def a_on_llm_end(self, run_id: str, response: Any, usage: Any) -> None: ...
    async def a_on_llm_retry(self, run_id: str, attempt: int, max_retries: int | None,
                             error: BaseException, backoff_seconds: float) -> None: ...
    async def a_on_usage(self, run_id: str, usage: Any) -> None: ...
    async def a_on_tool_start(self, run_id: str, call_id: str, tool_name: str,
                              tool_args: dict[str, Any]) -> None: ...
    async def a_on_tool_end(self, run_id: str, call_id: str, tool_name: str, result: str,
                            duration_ms: float) -> None: ...
    async def a_on_tool_error(self, run_id: str, call_id: str, tool_name: str,
                              error: BaseException, tool_args: dict[str, Any],
                              duration_ms: float) -> None: ...
    async def a_on_provider_fallback(self, run_id: str, failed_provider: str,
                                     next_provider: str, error: BaseException) -> None: ...
    async def a_on_error(self, run_id: str, error: BaseException,
                       context: dict[str, Any]) -> None: ...
    async def a_on_memory_trim(self, run_id: str, messages_removed: int,
                               messages_remaining: int, reason: str) -> None: ...
    async def a_on_structured_validate(self, run_id: str, success: bool, attempt: int,
                                       error: str | None = None) -> None: ...
    async def a_on_session_load(self, run_id: str, session_id: str,
                                message_count: int) -> None: ...
    async def a_on_cancelled(self, run_id: str, iteration: int, reason: str) -> None: ...
    async def a_on_llm_first_chunk(self, run_id: str, latency_ms: float) -> None: ...


def _no_op(event: str, *, asynchronous: bool) -> Any:
    if asynchronous:
        async def a_no_op(self: Any, *args: Any, **kwargs: Any) -> None: ...
        a_no_op.__name__ = f"a_{event}"
        return a_no_op

    def no_op(self: Any, *args: Any, **kwargs: Any) -> None: ...
    no_op.__name__ = event
    return no_op


for _event in OTHER_EVENT_PARAMETERS:  # events not emitted: no-ops, not written out
    setattr(AgentObserver, _event, _no_op(_event, asynchronous=False))
    setattr(AsyncAgentObserver, f"a_{_event}", _no_op(_event, asynchronous=True))


class SimpleStepObserver(AgentObserver):
    """Hands every event to one function: `callback(event, run_id, **arguments)`.

    `event` is the method's name without `on_` (`"tool_end"`); the arguments come by name,
    except a list of messages, given as its length, `message_count` (a callback logs, it
    does not keep the conversation). Batch events give their `batch_id` as `run_id`, eval
    events an empty one.

        def on_event(event: str, run_id: str, **data: Any) -> None:
            print(event, run_id, data)

        AgentConfig(observers=[SimpleStepObserver(on_event)])
    """

    def __init__(self, callback: Callable[..., Any]) -> None:
        if not callable(callback):
            raise TypeError(f"SimpleStepObserver needs a callable, not {callback!r}")
        self.callback = callback


def _forwarding_method(event: str, parameters: tuple[str, ...]) -> Any:
    has_id = parameters[0] in ("run_id", "batch_id")
    names = parameters[1:] if has_id else parameters

    def forward(self: SimpleStepObserver, *args: Any, **kwargs: Any) -> Any:
        if len(args) > len(parameters) or set(kwargs) - set(parameters):
            raise TypeError(f"{event}() takes {', '.join(parameters)}")
        values = dict(zip(parameters, args, strict=False))
        values.update(kwargs)
        identity = values.pop(parameters[0], None) if has_id else ""
        data: dict[str, Any] = {}
        for name in names:  # an argument not given is None (the optional ones)
            value = values.get(name)
            if name == "messages":
                data["message_count"] = len(value) if value is not None else 0
            else:
                data[name] = value
        # Returned: an async callback's coroutine is awaited by the hub like any handler's.
        return self.callback(event[3:], identity, **data)

    forward.__name__ = event
    return forward


for _event, _parameters in EVENT_PARAMETERS.items():
    setattr(SimpleStepObserver, _event, _forwarding_method(_event, _parameters))


class LoggingObserver(AgentObserver):
    """Logs every event as one line on the `selectools` logger:
    `tool_start run=<id> call_id='c1' tool_name='search' tool_args={...}`."""

    def __init__(self, level: int = _INFO, log: logging.Logger | None = None) -> None:
        self.level = level
        self.log = log or logger()

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
_NO_OPS = frozenset(
    [getattr(AgentObserver, event) for event in EVENTS]
    + [getattr(AsyncAgentObserver, f"a_{event}") for event in EVENTS])

#: One handler of an event: (observer, the bound method, whether to run it as a task
#: alongside the run instead of awaiting it: a non-blocking `a_on_*`).
_Handler = tuple[Any, Callable[..., Any], bool]


class ObserverHub:
    """Calls every observer for an event: sync ones directly, async ones awaited, or, for
    the `a_on_*` events of a non-blocking AsyncAgentObserver, scheduled as tasks.

    Each observer's handlers are found once, by `EVENT_ARGUMENTS`, when the hub is made;
    events an observer leaves as the base's no-op are not dispatched to it at all.
    """

    def __init__(self, observers: list[Any]) -> None:
        self.observers = list(observers)
        self._reported: set[tuple[int, str]] = set()
        self._handlers: dict[str, tuple[_Handler, ...]] = {
            event: tuple(handler for observer in self.observers
                         for handler in _handlers_of(observer, event))
            for event in EVENTS}
        # Tasks still running: the event loop holds only weak references to them.
        self._tasks: set[Any] = set()
        # Read before every event: a plain attribute is cheaper than __bool__ on the hot path.
        self.active = bool(self.observers)

    def wants(self, event: str) -> bool:
        """Whether any observer handles `event`: for the engine to skip the work of an
        event nobody reads (timing the first chunk of a stream, say)."""
        return bool(self._handlers[event])

    async def emit(self, event: str, *args: Any) -> None:
        for observer, outcome, spawn in self._call_each(event, args):
            if spawn:
                self._spawn(outcome, observer, event)
                continue
            try:
                await outcome
            except Exception:
                self._report(observer, event)

    def emit_sync(self, event: str, *args: Any) -> None:
        """For callbacks from sync code on the run's loop (retry hooks): async observers
        are scheduled."""
        for observer, outcome, _ in self._call_each(event, args):
            self._spawn(outcome, observer, event)

    def _call_each(self, event: str,
                   args: tuple[Any, ...]) -> Iterator[tuple[Any, Any, bool]]:
        """Call `event` on every observer; yields (observer, awaitable, spawn) for async
        ones."""
        for observer, handler, spawn in self._handlers[event]:
            try:
                outcome = handler(*args)
            except Exception:
                self._report(observer, event)
                continue
            if inspect.isawaitable(outcome):
                yield observer, outcome, spawn

    def _spawn(self, outcome: Any, observer: Any, event: str) -> None:
        import asyncio  # here, not at the top: it is most of `import selectools`'s cost

        task = asyncio.ensure_future(outcome)
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._finished, observer=observer,
                                                 event=event))

    def _finished(self, task: Any, *, observer: Any, event: str) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._report(observer, event, task.exception())

    def _report(self, observer: Any, event: str, exc: BaseException | None = None) -> None:
        key = (id(observer), event)
        if key in self._reported:
            return
        self._reported.add(key)
        logger().error(
            "observer %s raised in %s; further errors of it there are not logged",
            type(observer).__name__, event, exc_info=exc or True)


def _handlers_of(observer: Any, event: str) -> Iterator[_Handler]:
    """The observer's own methods for `event`: `on_<event>`, then `a_on_<event>`."""
    for name, spawn in ((event, False),
                        (f"a_{event}", not getattr(observer, "blocking", False))):
        handler = getattr(observer, name, None)
        if callable(handler) and getattr(handler, "__func__", None) not in _NO_OPS:
            yield observer, handler, spawn
