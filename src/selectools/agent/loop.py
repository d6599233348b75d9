"""The engine: one async generator drives model calls and tools for every entry point.

`astream` yields what `run_agent` yields; `arun` drains it; `run` drives `arun` on the
library loop. A run's state lives in a `Run` (run.py), so concurrent runs of one Agent
never share it; what outlives the run is committed to the Agent at the end.

How a run ends is `AgentResult.stop_reason`: "completed" (a final answer), "max_iterations",
"routing" (`routing_only`), or the reason of a turn that ends the run by itself: "length"
(cut by max_tokens), "content_filter" or "error" (the provider said so). Such a turn's tool
calls are never run: its text, possibly partial, is the result's content, and the calls it
dropped are a "tool_calls_dropped" step of the trace.

A run asked for a typed answer (`output`, from `response_format=T`) has the schema's
instructions in its system prompt; tools work as usual, and the final answer is validated
after the tool loop. An invalid one goes back to the model with the problems found, up to
`AgentConfig.output_retries` times; these repair turns are iterations (numbered, traced as
"structured_retry" steps) that count against no other budget. With `events=True` a streamed
answer also yields "output_partial" chunks (see `Run.open_stream`). A provider that takes
typed output as an option (`OutputFormat`) is given it, to constrain the answer natively
where its protocol can; any other is asked for it in the system prompt.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from itertools import filterfalse
from operator import attrgetter, methodcaller
from time import perf_counter
from typing import TYPE_CHECKING, Any

from .._artifacts import collector as artifacts_collector
from .._seniority import RUN_STARTED
from ..providers.base import complete_any
from ..tools.errors import error_text
from ..trace import TraceStep
from ..types import (
    AgentResult,
    Message,
    StreamChunk,
    partial_chunk,
    text_chunk,
)
from .deadline import NO_DEADLINE, Deadline, RunTimeoutError, run_deadline
from .run import Run, StreamedTurn, tool_start_chunk
from .setup import RunSetup
from .tool_runner import ToolOutcome, ToolRunner

if TYPE_CHECKING:
    from ..output import OutputSchema
    from ..sessions.binding import SessionRun
    from ..sessions.record import PendingApproval

#: A tool outcome's message (ToolOutcome.message).
_MESSAGE = attrgetter("message")
_DROP_JSON_TEXT = methodcaller("drop_json_text")


async def run_agent(setup: RunSetup, messages: list[Message], *, stream: bool,
                    events: bool = False, on_text: Callable[[str], Any] | None = None,
                    output: OutputSchema | None = None, session: SessionRun | None = None,
                    approvals: Mapping[str, Any] | None = None,
                    deadline: Deadline | None = None,
                    ) -> AsyncGenerator[StreamChunk | AgentResult, None]:
    """Run the agent loop. With `stream`, text deltas and tool calls are yielded as chunks;
    with `events`, tool and iteration events too. `on_text` (a stream_handler) is given
    each text delta of a run without `stream`. With `output`, the final answer is
    validated as its type (`AgentResult.parsed`). The last item is always an AgentResult.

    With a `session`, the run starts from the session's messages and commits to it when it
    ends (see sessions/binding.py); with `approvals` too, it resumes the session's pending
    tool calls (see `Run.resume`) before it calls the model again. (`approvals` come
    only with a session: a run has pending calls to resume exactly when it has them.)

    `deadline`: the run's, when it was started before the engine (the MCP servers'
    tools were brought up to date within it); else the run's own starts here, before a
    session's lock is waited for, as `run_timeout` bounds the whole run."""
    if session is not None:
        if deadline is None and setup.config.run_timeout is not None:
            deadline = run_deadline(setup.config.run_timeout)
        prior, pending = await _open_session(session, approvals, deadline)
    else:  # (last: the usual run takes no jump; nor sets `pending`, read only on resume)
        prior = setup.prior_history()
    # (Positional: a class called with keywords gets them as a dict, once per run here.)
    run = Run(setup, messages, prior, stream, events, on_text, output)
    if deadline is not None:
        run.deadline = deadline
    # The run's history holds their messages: this frame, alive as long as the run, keeps
    # neither list (a session's may be long). Nor the last chunk of a turn (below).
    del messages, prior
    chunk: StreamChunk | None = None
    hub, config = setup.hub, setup.config
    observed = hub.active  # (a hub's observers are fixed: read once)
    try:
        if observed:
            await hub.emit("on_run_start", run.id, run.history, run.system_prompt)
            if session is not None:
                await hub.emit("on_session_load", run.id, session.session_id,
                               run.new_start)
        final: Message | None = None
        stop_reason = "max_iterations"
        if approvals is not None:  # (then `pending` is set: see _open_session)
            assert pending is not None
            async for chunk in run.resume(pending, approvals):
                yield chunk
        while run.iteration - run.repairs < config.max_iterations:
            run.iteration += 1
            if observed:
                await hub.emit("on_iteration_start", run.id, run.iteration, run.history)
            if events:
                yield StreamChunk(event="iteration_start", data={"iteration": run.iteration})

            if run.streaming:
                # The turn's items are read here (see Run.open_stream): a text delta goes
                # from the provider's stream to the caller through no generator between.
                turn = await run.open_stream()
                text, awaiting_first = turn.text, observed
                # Whether a text delta is shown as it is and that is all (no typed partial
                # value follows it). The turn's partial changes only in take.
                plain = stream and turn.partial is None
                feed, unchanged = _partial_feed(turn)
                items = turn.items
                try:
                    async for item in run.deadline.bound_stream(items):
                        if awaiting_first:
                            awaiting_first = False
                            await run.tell_first_chunk(turn)
                        if isinstance(item, str):
                            if not item:
                                continue
                            text.append(item)
                            if plain:
                                yield text_chunk(item)  # (per token: only its text stored)
                            elif stream:
                                yield text_chunk(item)
                                value = feed(item)  # type: ignore[misc]
                                if value is not unchanged:
                                    yield partial_chunk(value)
                            elif on_text is not None:  # (only without stream)
                                on_text(item)
                        else:
                            for chunk in run.take(turn, item):
                                yield chunk
                            plain = stream and turn.partial is None
                            feed, unchanged = _partial_feed(turn)
                except Exception:
                    run.deadline.check()  # a timeout caused by the run's deadline says so
                    raise
                finally:  # the provider's stream ends with the turn, read to its end or not
                    await items.aclose()
                last, chunk = await run.close_stream(turn), None
                if last is not None:
                    yield last
            else:  # a whole answer (its call awaited here: no coroutine layer between)
                if observed:
                    await run.tell_start()
                started = perf_counter()
                RUN_STARTED.set(run.started)  # (see selectools._seniority)
                try:
                    direct = run.direct
                    if direct is not None:
                        # `run.request()`'s keywords, written out: no dict of them made,
                        # unpacked and made again, nor complete_any's call, per call
                        # (tests/test_engine_direct_call.py holds the two alike).
                        asked = direct(
                            model=run.model, system_prompt=run.system_prompt,
                            messages=run.history, tools=setup.definitions,
                            temperature=config.temperature, max_tokens=config.max_tokens,
                            timeout=config.request_timeout if run.deadline is NO_DEADLINE
                            else run.deadline.cap(config.request_timeout))
                    else:
                        asked = complete_any(run.provider, **run.request())
                    answer, usage = await (asked if run.deadline is NO_DEADLINE
                                           else run.deadline.bound(asked))
                except Exception:
                    run.deadline.check()  # a timeout caused by the run's deadline says so
                    raise
                run.finish_turn(answer, usage, started)
                if observed:
                    await run.tell_end(usage)
            response, calls = run.response, run.calls

            if calls and not config.routing_only:
                # Calls that wait for a person are held; the turn's others run now.
                held = run.held_for_approval(calls) if setup.needs_approval else None
                # (filterfalse, not a comprehension: one reading `held` would make it a
                # cell of this frame, made for every run and held as long as it streams)
                runnable = list(filterfalse(held.__contains__, calls)) if held else calls
                outcomes: list[ToolOutcome]
                if events:
                    for call in runnable:
                        yield tool_start_chunk(call)
                    outcomes = []
                    async for chunk in run.run_tools(runnable, outcomes):
                        yield chunk
                elif runnable:
                    runner = ToolRunner(setup, run.id, run.trace, run.deadline)
                    # Tools emit artifacts into the run's list through a contextvar, set
                    # only around awaits that do not yield (see _artifacts.collector).
                    collecting = artifacts_collector.set(run.artifacts)
                    try:
                        outcomes = await runner.run_all(runnable, run.iteration)
                    finally:
                        artifacts_collector.reset(collecting)
                    del runner, collecting  # (see below)
                else:  # every call is held
                    outcomes = []
                if held:
                    from ..sessions.record import PendingApproval

                    run.pending = PendingApproval(
                        calls=held, results=[o.message for o in outcomes],
                        order=[c.id or "" for c in calls], iteration=run.iteration)
                else:
                    # (map in C: a list comprehension is a frame of its own, per turn)
                    run.history.extend(map(_MESSAGE, outcomes))
                # This frame keeps nothing of the turn's tools while the next answer streams
                # (a run in flight held their outcomes and runner): the history has their
                # messages.
                del outcomes
                chunk = None
                if run.deadline is not NO_DEADLINE:
                    run.deadline.check()

            if observed:
                await hub.emit("on_iteration_end", run.id, run.iteration, response)
            if events:
                yield StreamChunk(event="iteration_end", data={"iteration": run.iteration})
            if run.pending is not None:
                final, stop_reason = response, "approval_required"
                if events:
                    yield StreamChunk(event="approval_required", data={
                        "session_id": session.session_id if session else None,
                        "calls": [{"call_id": c.id, "tool_name": c.tool_name,
                                   "arguments": c.parameters} for c in run.pending.calls]})
                break
            if not calls:
                if run.ended_by is None and output is not None \
                        and not await run.accept_output(response):
                    continue  # the repair prompt is in the history: ask again
                final, stop_reason = response, run.ended_by or "completed"
                break
            if config.routing_only:
                final, stop_reason = response, "routing"
                break

        if run.output_error is not None and config.output_failure == "raise":
            raise run.output_error
        result = run.result(final, stop_reason)
        # A routing answer's tool calls were never run: in history and memory they would
        # be calls without results, which providers refuse on the next turn. (A turn that
        # ended the run by its reason was recorded without its calls; if that left it
        # empty, there is nothing to keep of it.) The answer itself is on the result.
        history = run.history
        if stop_reason == "routing" or (run.ended_by and final is not None
                                        and not final.content):
            history = history[:-1]
        if session is not None:
            # The session holds the conversation (a held turn with it: its results are
            # in the pending state); the agent's memory is not another copy of it.
            if run.deadline is NO_DEADLINE:
                await session.commit(history, run.pending)
            else:
                await _commit_within(session, history, run.pending, run.deadline)
            result.session_id = session.session_id
            remembered_from = len(history)
        else:
            if run.pending is not None:  # its calls have no results: nothing to keep
                history = history[:-1]
            remembered_from = run.new_start  # (memory gets the run's own messages)
        kept = setup.commit(history, remembered_from, run.usage)
        if kept is None:
            # No memory: no later call of the library sends this run's calls again (a
            # session stores them as data), so the argument text each kept to be sent
            # back as the model wrote it is let go (ToolCall.keep_json_text).
            # (map in C, its list of Nones let go: a loop's opcodes per call saved)
            list(map(_DROP_JSON_TEXT, run.all_calls))
        elif kept[0] and observed:
            await hub.emit("on_memory_trim", run.id, kept[0], kept[1], "enforce_limits")
        if observed:
            await hub.emit("on_run_end", run.id, result)
        yield result
    except Exception as exc:
        run.trace.add(TraceStep("error", run.iteration, 0.0, {
            "error": f"{type(exc).__name__}: {error_text(exc)}"}))
        if observed:
            await hub.emit("on_error", run.id, exc, {"iteration": run.iteration})
        raise
    except BaseException as exc:
        # Cancelled (asyncio.CancelledError) or its stream closed early (GeneratorExit):
        # observers hear of it now, without an await (the run must not linger).
        if observed:
            reason = ("the stream was closed before the run ended"
                      if isinstance(exc, GeneratorExit) else "the run was cancelled")
            hub.emit_sync("on_cancelled", run.id, run.iteration, reason)
        raise
    finally:
        if session is not None:
            await session.close()


def _partial_feed(turn: StreamedTurn) -> tuple[Callable[[str], Any] | None, object]:
    """A streamed turn's typed partial parser's `feed` (None while the turn has none), and
    what it returns for a delta that changed nothing: read once per turn and again when
    `run.take` may have changed them, not on every delta."""
    partial = turn.partial
    return (partial.feed if partial is not None else None), turn.unchanged


async def _open_session(session: SessionRun, approvals: Mapping[str, Any] | None,
                        deadline: Deadline | None
                        ) -> tuple[list[Message], PendingApproval | None]:
    """The session's messages and pending calls: pending calls exactly when `approvals`
    are given (else an error says why not)."""
    from ..sessions.errors import ApprovalPendingError, describe

    where = describe(session.session_id, session.namespace)
    try:
        if deadline is None:
            state = await session.open()
        else:  # another run's lock, or the store itself, waited for no later than it
            from .._deadline import DeadlineReached

            try:
                state = await deadline.bound(session.open())
            except (RunTimeoutError, DeadlineReached):  # (the latter: the store gave up)
                raise deadline.error(_opening(session, where)) from None
    except BaseException:
        await session.close()
        raise
    if approvals is None and state.pending is not None:
        await session.close()
        ids = ", ".join(call.id or "" for call in state.pending.calls)
        raise ApprovalPendingError(
            f"{where} waits for approval of tool calls {ids}: resume it with "
            "agent.resume(session_id, approvals={call_id: True | False | "
            "{'arguments': {...}}}) before sending it a new message",
            session.session_id, session.namespace)
    if approvals is not None and state.pending is None:
        await session.close()
        raise ValueError(f"{where} has no tool calls waiting for approval: nothing to resume")
    return list(state.messages), state.pending


def _opening(session: SessionRun, where: str) -> str:
    """What a run was waiting for when its deadline came while it opened its session."""
    if session.wait and session._lock is None:  # (SessionRun holds the lock once taken)
        return f"{where}, held by another run (session_conflict='wait'); nothing was run"
    return f"the session store to load {where}; nothing was run"


async def _commit_within(session: SessionRun, history: list[Message],
                         pending: PendingApproval | None, deadline: Deadline) -> None:
    """`session.commit`, its store told the run's deadline (selectools._deadline): a store
    that waits on another writer gives up there, having written nothing (the session is
    as the last finished run left it), and the run says its turn was not saved. The
    commit is not cancelled at the deadline: a write that had begun may still land, and
    a run told "not saved" must not be saved after all."""
    from .._deadline import RUN_DEADLINE, DeadlineReached
    from ..sessions.errors import describe

    published = RUN_DEADLINE.set(deadline.at)
    try:
        await session.commit(history, pending)
    except DeadlineReached as exc:
        where = describe(session.session_id, session.namespace)
        raise deadline.error(
            f"the session store to commit to {where} ({exc}): this turn was not saved, "
            f"{where} is as the last finished run left it") from exc
    finally:
        RUN_DEADLINE.reset(published)
