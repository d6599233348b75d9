"""Running the tool calls of one model turn: each call, then all of them in order or at once.

A tool's images reach the model as images: a result that is a `str` carrying
`content_parts` (an `MCPToolOutput`, from an MCP server's tool or returned by a plain tool)
gives its tool message those image parts, which each protocol sends where its API takes
images from a tool (see the providers' module docs). The text stays the message's content.
An image over `MAX_IMAGE_BYTES` is left out, and the text says so.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextvars import copy_context
from functools import partial
from inspect import CO_COROUTINE
from operator import attrgetter
from time import perf_counter
from types import FunctionType
from typing import TYPE_CHECKING, Any, NamedTuple

from .._dataclass import new_tuple
from ..tools import Tool, UnknownToolError, format_tool_error
from ..tools.results import result_to_text
from ..trace import AgentTrace, TraceStep
from ..types import MAX_IMAGE_BYTES, ContentPart, Message, Role, ToolCall, made_message
from .deadline import NO_DEADLINE, Deadline
from .setup import RunSetup

if TYPE_CHECKING:
    import asyncio


class ToolOutcome(NamedTuple):
    call: ToolCall
    message: Message
    error: BaseException | None
    duration_ms: float


_TOOL = Role.TOOL
_TOOL_NAME = attrgetter("tool_name")
_FUNCTION_CODE = attrgetter("function.__code__")


class ToolRunner:
    """Runs one turn's tool calls for a run, firing the tool observer events."""

    __slots__ = ("setup", "run_id", "trace", "deadline")

    def __init__(self, setup: RunSetup, run_id: str, trace: AgentTrace,
                 deadline: Deadline) -> None:
        self.setup = setup
        self.run_id = run_id
        self.trace = trace
        self.deadline = deadline

    async def run_all(self, calls: list[ToolCall], iteration: int) -> list[ToolOutcome]:
        """Run the calls, in parallel unless there is one or parallel execution is off
        (calls that cannot wait at once, see `_at_once`); outcomes in request order."""
        if len(calls) < 2 or not self.setup.config.parallel_tool_execution:  # (_parallel)
            # A loop, not an async list comprehension: that is a coroutine more per turn.
            in_order: list[ToolOutcome] = []
            for call in calls:
                in_order.append(await self.run_one(call, iteration))
            return in_order
        now = self._at_once(calls)
        if now is not None:
            return self._all_now(calls, now, iteration)
        import asyncio  # here, not at the top: it is most of `import selectools`'s cost

        # Parallel calls run as tasks, awaited in turn rather than through gather, whose
        # callbacks cost two more turns of the event loop (each a poll of the sockets).
        # Only the run's deadline raises out of run_one, and it does so as a task starts,
        # so no error waits behind a slower tool.
        tasks = self._start(calls, iteration)
        run = asyncio.current_task()
        cancels = run.cancelling() if run is not None else 0
        try:
            outcomes = []
            for task in tasks:
                outcomes.append(await task)
                # Cancelling the run cancels the task it awaits: a tool that swallows that
                # must not let the run go on. (The run's task does nothing else meanwhile,
                # so only a cancellation of the run moves this count.)
                if run is not None and run.cancelling() > cancels:
                    raise asyncio.CancelledError
            return outcomes  # (every task awaited: none left running or unread)
        except BaseException:  # one raised (the run's deadline): the others must not run on
            _stop(tasks)
            raise

    async def as_finished(self, calls: list[ToolCall], iteration: int
                          ) -> AsyncGenerator[ToolOutcome, None]:
        """Like run_all, but yield each outcome as soon as it is ready (for event streams).
        Cancelling the consumer cancels the tools still running."""
        if not self._parallel(calls):
            for call in calls:
                yield await self.run_one(call, iteration)
            return
        now = self._at_once(calls)
        if now is not None:
            # Every call first, as their tasks would all have ended before the first
            # outcome is read (a consumer that stops early stops none of them).
            for outcome in self._all_now(calls, now, iteration):
                yield outcome
            return
        import asyncio

        tasks = self._start(calls, iteration)
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:
            _stop(tasks)

    def _parallel(self, calls: list[ToolCall]) -> bool:
        return len(calls) > 1 and self.setup.config.parallel_tool_execution

    def _at_once(self, calls: list[ToolCall]) -> list[Tool | None] | None:
        """Each call's tool (None for an unknown one) when each of these calls runs to its
        end in one step, never waiting on the event loop (see `never_suspends`); else None.
        Tasks would then run them one after the other all the same, each to its end in its
        first step, in request order: `_now` does
        that without a task each and the event loop's turns that run them (a B2 run's
        asyncio opcodes 3,416 -> 2,659). The outcomes, trace and order are the same
        (tests/test_engine_tools_at_once.py and test_engine_at_once_limits.py hold the two
        paths to each other)."""
        setup = self.setup
        # Observers' events are awaited in run_one: they may wait. (A time limit does not
        # keep a turn off this path: see `_now`.)
        if not setup.immediate or setup.hub.active:
            return None
        immediate = setup.immediate
        names = list(map(_TOOL_NAME, calls))
        found = list(map(setup.tools.get, names))
        # (The code, not the function: a function's __code__ may be swapped. Compared in
        # C, one list with the other: code objects equal in value are the same code.)
        try:
            if None not in found:  # the usual turn: every call's tool is known
                return found if list(map(_FUNCTION_CODE, found)) == list(
                    map(immediate.get, names)) else None
            # (An unknown tool's call awaits nothing either: its result is the error.)
            for name, tool in zip(names, found):  # noqa: B905 - (of one length)
                if tool is not None and immediate.get(name) != _FUNCTION_CODE(tool):
                    return None
        except AttributeError:  # a function without code (a callable object): it may wait
            return None
        return found

    def _all_now(self, calls: list[ToolCall], tools: list[Tool | None], iteration: int
                 ) -> list[ToolOutcome]:
        """Every call `_now`, in request order (by a map, in C: no loop's opcodes per call,
        nor a list comprehension's frame). The turn's tool_execution steps are one record
        (see _executions), written when the last call ended or one raised (the run's
        deadline): the calls that ran are traced, in the order they ran, as each call's
        own record would have them."""
        executed: list[Any] = []
        # (Only a run with a time limit has a deadline to check before each call.)
        deadline = self.deadline if self.deadline is not NO_DEADLINE else None
        try:
            return list(map(partial(self._now, executed, deadline), calls, tools))
        finally:
            if executed:
                self.trace.record((_executions, iteration, *executed))

    def _now(self, executed: list[Any], deadline: Deadline | None, call: ToolCall,
             tool: Tool | None) -> ToolOutcome:
        """Run a call that `_at_once` found never waits (`tool`: its tool, None for an
        unknown one), to its end, now: `run_one` without its awaits. The tool runs in a
        copy of the run's context, as in a task (a contextvar it sets stays its own); one
        difference from a task: `asyncio.current_task()` in the tool is the run's.

        `Tool.aexecute` without a timeout (never_suspends found the tool's aexecute is
        Tool's own) is done here without its coroutine, a frame fewer per call: the
        arguments validated, the function's coroutine made and run to its end, and a
        result that is not a str made text, each in that one copy of the context, as the
        coroutine would have done them.

        No time limit is passed to the tool: with one, `Tool.aexecute` runs the function in
        a task of its own and waits for that (tools.execution.call_async), but a function
        that never suspends runs to its end in the task's first step, before the wait
        could time out (asyncio's timeouts act only at an await, and it has none), so its
        outcome is the one it has here. Nothing could interrupt it either way. The run's
        deadline is still checked before the call starts, as `cap` does in run_one
        (RunTimeoutError), and cancelling the run reaches it at its next await."""
        name = call.tool_name
        started = perf_counter()
        error: BaseException | None = None
        if tool is None:
            error = UnknownToolError(name, self.setup.tools)
            text = format_tool_error(name, error)
        else:
            if deadline is not None:
                deadline.check()
            context = copy_context()
            step = None
            try:
                step = context.run(tool.function, **context.run(tool.validate, call.parameters))
                context.run(step.send, None)
            except StopIteration as finished:
                if step is None:  # raised by validate: in a coroutine, a RuntimeError
                    error = RuntimeError("coroutine raised StopIteration")
                    error.__cause__ = finished
                    text = format_tool_error(name, error)
                else:
                    text = finished.value
            except Exception as exc:  # as in run_one: the model sees it, the run goes on
                error = exc
                text = format_tool_error(name, exc)
                _let_go_of_frames(exc)  # (no observer on this path reads them)
            else:  # pragma: no cover - _at_once's conditions rule it out
                step.close()
                raise RuntimeError(f"the call to {name!r} waited on the event loop, though "
                                   "its tool was found to await nothing (a selectools bug)")
            if type(text) is not str:  # (an error's text is a str: only a tool's value)
                # aexecute's last step, then the images of a str that carries them read in
                # _outcome (only a plain str's outcome is made here)
                try:
                    text = context.run(result_to_text, text)
                except Exception as exc:
                    error = exc
                    text = format_tool_error(name, exc)
                    _let_go_of_frames(exc)
                duration_ms = (perf_counter() - started) * 1000
                executed += (call, text[:500], error is not None, duration_ms)
                return self._outcome(call, text, error, duration_ms)
        duration_ms = (perf_counter() - started) * 1000
        executed += (call, text[:500], error is not None, duration_ms)  # its step's values
        # A plain str: _outcome's steps without its frame (the test of the at-once path
        # holds the two to the same outcome, analytics included).
        record_tool = self.setup.record_tool
        if record_tool is not None:
            record_tool(name, error is None, duration_ms)
        return new_tuple(ToolOutcome, (call, made_message(
            _TOOL, text, name, text, None, call.id), error, duration_ms))

    def _start(self, calls: list[ToolCall], iteration: int) -> list[asyncio.Task[ToolOutcome]]:
        import asyncio  # here, not at the top: it is most of `import selectools`'s cost

        start = asyncio.get_running_loop().create_task
        limit = self.setup.config.max_parallel_tools
        if not limit:
            return [start(self.run_one(call, iteration)) for call in calls]
        gate = asyncio.Semaphore(limit)

        async def gated(call: ToolCall) -> ToolOutcome:
            async with gate:
                return await self.run_one(call, iteration)

        return [start(gated(call)) for call in calls]

    async def run_one(self, call: ToolCall, iteration: int) -> ToolOutcome:
        """Run one call; every failure becomes an `Error: ...` result for the model."""
        setup, name, arguments = self.setup, call.tool_name, call.parameters
        hub, call_id = setup.hub, call.id or ""
        if hub.active:
            await hub.emit("on_tool_start", self.run_id, call_id, name, arguments)
        started = perf_counter()
        error: BaseException | None = None
        tool = setup.tools.get(name)
        if tool is None:
            error = UnknownToolError(name, setup.tools)
            text = format_tool_error(name, error)
        else:
            # Raises RunTimeoutError when this run's time is up. One raised inside the tool
            # (an agent used as a tool, out of its own time) is that tool's failure.
            timeout = self.deadline.cap(setup.config.tool_timeout_seconds)
            try:
                text = await tool.aexecute(arguments, timeout=timeout)
            except Exception as exc:  # the model sees it and the run goes on; cancellation,
                # Ctrl-C and exit are BaseExceptions and pass through
                error = exc
                text = format_tool_error(name, exc)
                if not hub.active:  # (observers are given it whole, traceback and all)
                    _let_go_of_frames(exc)
        duration_ms = (perf_counter() - started) * 1000
        if hub.active:
            if error is None:
                await hub.emit("on_tool_end", self.run_id, call_id, name, text, duration_ms)
            else:
                await hub.emit("on_tool_error", self.run_id, call_id, name, error, arguments,
                               duration_ms)
        # Made when read, from the call itself (nothing changes its name, id or arguments
        # after the turn was recorded: see Run.finish_turn).
        self.trace.record(("tool_execution", iteration, duration_ms, _call_executed, call,
                           text[:500], error is not None))
        return self._outcome(call, text, error, duration_ms)

    def _outcome(self, call: ToolCall, text: str, error: BaseException | None,
                 duration_ms: float) -> ToolOutcome:
        """A finished call's outcome (analytics told): its tool message. (Its trace step
        is its runner's to record: run_one's own, or _all_now's one for the turn.)"""
        name = call.tool_name
        record_tool = self.setup.record_tool
        if record_tool is not None:
            record_tool(name, error is None, duration_ms)
        images: list[ContentPart] | None = None
        if type(text) is not str:  # a str subclass may carry images; a plain str costs nothing
            text, images = _images(text)
        # (role, content, tool_name, tool_result, tool_calls, tool_call_id, content_parts),
        # fields already what Message's checks make of them: the text a str, the images
        # ContentParts (see types.made_message).
        message = made_message(_TOOL, text, name, text, None, call.id, images)
        # (tuple.__new__ itself: a NamedTuple's __new__ is a Python function around it)
        return new_tuple(ToolOutcome, (call, message, error, duration_ms))


def never_suspends(tool: Tool) -> bool:
    """Whether a call of `tool` without a timeout ends in the step that starts it: an
    `async def` function whose own code awaits nothing (no `await`, `async for` or `async
    with`: each of them is a YIELD_VALUE in its bytecode, the only way a coroutine waits),
    run by Tool's own aexecute, which awaits only the function when there is no timeout.
    Found once per Agent (RunSetup.immediate holds the code that was checked)."""
    import dis  # (loaded already: inspect imports it)

    function = tool.function
    return (type(tool).aexecute is Tool.aexecute and tool.is_async
            and type(function) is FunctionType
            and bool(function.__code__.co_flags & CO_COROUTINE)
            and not any(instruction.opname == "YIELD_VALUE"
                        for instruction in dis.get_instructions(function)))


def _executions(iteration: int, *executed: Any) -> Iterator[TraceStep]:
    """The tool_execution steps of the calls of one turn run at once: `executed` holds each
    call's ToolCall, result text, whether it failed and its duration, one after the other."""
    for index in range(0, len(executed), 4):
        call, result, error, duration_ms = executed[index:index + 4]
        yield TraceStep.deferred("tool_execution", iteration, duration_ms, _call_executed,
                                 call, result, error)


def _call_executed(call: ToolCall, result: str, error: bool) -> dict[str, Any]:
    return {"tool_name": call.tool_name, "call_id": call.id or "", "args": call.parameters,
            "result": result, "error": error}


def _execution_data(tool_name: str, call_id: str, args: dict[str, Any], result: str,
                    error: bool) -> dict[str, Any]:
    """A step pickled before _call_executed."""
    return {"tool_name": tool_name, "call_id": call_id, "args": args, "result": result,
            "error": error}


def _images(text: str) -> tuple[str, list[ContentPart] | None]:
    """The plain text of a result that may carry parts, and its image parts (None when it
    has none); an image too big to send is named in the text instead."""
    images: list[ContentPart] = []
    notes: list[str] = []
    for part in getattr(text, "content_parts", None) or ():
        if not isinstance(part, ContentPart) or part.type == "text":
            continue
        if part.type == "image_base64" and len(part.image_base64 or "") // 4 * 3 > MAX_IMAGE_BYTES:
            notes.append(f"[an image ({part.media_type}) over the {MAX_IMAGE_BYTES // 2**20} MB "
                         "limit was left out]")
            continue
        images.append(part)
    plain = str.__str__(text)
    if notes:
        plain = "\n".join([plain, *notes]) if plain else "\n".join(notes)
    return plain, images or None


def _let_go_of_frames(error: BaseException) -> None:
    """Drop the tracebacks of a tool's exception (and of the exceptions it was raised from)
    once its text is the model's result and no observer will read it: they hold the frames
    it passed through, the engine's among them, whose locals hold the exception (and the
    outcome made of it). Each failed call left that cycle to the garbage collector, with
    all it reached (the run's trace, ToolRunner, the tool's locals), instead of its
    reference count freeing it as the turn ends (benchmarks/gc_census.py counts such
    garbage). The outcome keeps the exception: the engine reads only that there was one."""
    seen: set[int] = set()
    chained: list[BaseException | None] = [error]
    while chained:
        current = chained.pop()
        if current is not None and id(current) not in seen:
            seen.add(id(current))
            current.__traceback__ = None
            chained += (current.__cause__, current.__context__)


def _stop(tasks: list[asyncio.Task[ToolOutcome]]) -> None:
    """Cancel the tasks still running; mark a finished one's exception as seen, since the
    caller re-raises only the first (asyncio would otherwise log the rest at exit)."""
    for task in tasks:
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()
