"""The engine: one async generator drives model calls and tools for every entry point.

`astream` yields what this generator yields; `arun` drains it; `run` drives `arun` on the
library loop. The state of a run lives here, in locals of one generator, so concurrent runs
of one Agent never share it; what outlives the run is committed to the Agent at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..providers.base import ProviderEvent, complete_any, provider_name, stream_any
from ..tools import Tool, UnknownToolError, format_tool_error
from ..trace import AgentTrace, TraceStep
from ..types import AgentResult, Message, Role, StreamChunk, ToolCall
from ..usage import AgentUsage, UsageStats

if TYPE_CHECKING:
    from .core import Agent

_run_counter = itertools.count(1)


class RunTimeoutError(TimeoutError):
    """The whole run took longer than `AgentConfig.run_timeout`."""


@dataclass
class _ToolOutcome:
    call: ToolCall
    call_id: str
    message: Message
    error: BaseException | None
    duration_ms: float


async def run_agent(agent: Agent, messages: list[Message], *, stream: bool,
                    events: bool = False,
                    on_text: Callable[[str], Any] | None = None,
                    ) -> AsyncIterator[StreamChunk | AgentResult]:
    """Run the agent loop. With `stream`, text deltas and tool calls are yielded as chunks;
    with `events`, tool and iteration events too. The last item is always an AgentResult."""
    config = agent.config
    hub = agent._hub
    run_id = uuid.uuid4().hex
    deadline = None if config.run_timeout is None else time.monotonic() + config.run_timeout
    prior = agent.memory.get_history() if agent.memory is not None else []
    history: list[Message] = [*prior, *messages]
    new_start = len(prior)
    trace = AgentTrace(run_id=run_id)
    usage = AgentUsage()
    all_calls: list[ToolCall] = []
    used_ids: set[str] = set()
    provider = agent._provider_for_run(run_id)
    provider_used: str | None = None
    system_prompt = agent._system_prompt
    model = config.model or agent._default_model
    emit_chunks = stream or on_text is not None

    if hub:
        await hub.emit("on_run_start", run_id, history, system_prompt)
    try:
        iteration = 0
        final: Message | None = None
        stop_reason = "max_iterations"
        while iteration < config.max_iterations:
            iteration += 1
            if hub:
                await hub.emit("on_iteration_start", run_id, iteration, history)
            if events:
                yield StreamChunk(event="iteration_start", data={"iteration": iteration})

            # 1. Ask the model.
            if hub:
                await hub.emit("on_llm_start", run_id, history, model, system_prompt)
            started = time.perf_counter()
            text: list[str] = []
            calls: list[ToolCall] = []
            call_usage: UsageStats | None = None
            request = dict(model=model, system_prompt=system_prompt, messages=history,
                           tools=agent._tool_list or None, temperature=config.temperature,
                           max_tokens=config.max_tokens,
                           timeout=_remaining(deadline, config.request_timeout))
            if emit_chunks:
                # aclosing: a consumer that stops early closes the HTTP stream now.
                async with aclosing(stream_any(provider, **request)) as stream_items:
                    async for item in stream_items:
                        if isinstance(item, str):
                            if item:
                                text.append(item)
                                if on_text is not None:
                                    on_text(item)
                                if stream:
                                    yield StreamChunk(content=item)
                        elif isinstance(item, ToolCall):
                            calls.append(item)
                            if stream:
                                yield StreamChunk(tool_calls=[item])
                        elif isinstance(item, UsageStats):
                            call_usage = item
                        elif isinstance(item, ProviderEvent):
                            if item.discard_partial:  # a fallback restarted the answer
                                text.clear()
                                calls.clear()
                            yield StreamChunk(event=item.name, data=dict(item.data))
                response = Message(role=Role.ASSISTANT, content="".join(text),
                                   tool_calls=calls or None)
            else:
                response, call_usage = await complete_any(provider, **request)
                calls = list(response.tool_calls or ())
            _check_deadline(deadline)
            llm_ms = (time.perf_counter() - started) * 1000

            if not calls and agent._parser is not None and response.content:
                calls = agent._parser.parse(response.content)
                if calls:
                    response = Message(role=Role.ASSISTANT, content=response.content,
                                       tool_calls=calls)
                    if stream:
                        yield StreamChunk(tool_calls=list(calls))
            for call in calls:
                if not call.id or call.id in used_ids:
                    call.id = f"call_{run_id[:8]}_{next(_run_counter)}"
                used_ids.add(call.id)

            if call_usage is not None:
                usage.add(call_usage)
                provider_used = call_usage.provider or provider_used
                if hub:
                    await hub.emit("on_usage", run_id, call_usage)
            provider_used = provider_used or provider_name(agent.provider)
            trace.add(TraceStep("llm_call", iteration, llm_ms, {
                "model": model, "provider": provider_used, "tool_calls": len(calls),
                "prompt_tokens": call_usage.prompt_tokens if call_usage else None,
                "completion_tokens": call_usage.completion_tokens if call_usage else None,
            }))
            if hub:
                await hub.emit("on_llm_end", run_id, response, call_usage)
            history.append(response)

            if not calls:
                final, stop_reason = response, "completed"
                await _end_iteration(hub, run_id, iteration, response)
                if events:
                    yield _iteration_end_chunk(iteration)
                break

            trace.add(TraceStep("tool_selection", iteration, 0.0, {
                "tools": [{"name": c.tool_name, "args": c.parameters, "id": c.id} for c in calls],
            }))
            all_calls.extend(calls)
            if config.routing_only:
                final, stop_reason = response, "routing"
                await _end_iteration(hub, run_id, iteration, response)
                if events:
                    yield _iteration_end_chunk(iteration)
                break

            # 2. Run the tools the model asked for; results go back in request order.
            if events:
                for call in calls:
                    yield StreamChunk(event="tool_start", data={
                        "call_id": call.id, "tool_name": call.tool_name,
                        "tool_args": call.parameters})
            run_one = _tool_runner(agent, run_id, iteration, trace, deadline)
            outcomes: list[_ToolOutcome]
            if len(calls) == 1 or not config.parallel_tool_execution:
                outcomes = []
                for call in calls:
                    outcome = await run_one(call)
                    outcomes.append(outcome)
                    if events:
                        yield _tool_result_chunk(outcome)
            else:
                outcomes = []
                tasks = _start_parallel(run_one, calls, config.max_parallel_tools)
                try:
                    for next_done in asyncio.as_completed(tasks):
                        outcome = await next_done
                        outcomes.append(outcome)
                        if events:
                            yield _tool_result_chunk(outcome)
                finally:  # a consumer that went away must not leave tools running
                    for task in tasks:
                        task.cancel()
                order = {id(call): i for i, call in enumerate(calls)}
                outcomes.sort(key=lambda o: order[id(o.call)])
            history.extend(o.message for o in outcomes)
            _check_deadline(deadline)
            await _end_iteration(hub, run_id, iteration, response)
            if events:
                yield _iteration_end_chunk(iteration)

        if final is None:
            final = Message(role=Role.ASSISTANT, content=(
                f"Stopped: the maximum of {config.max_iterations} iterations was reached "
                "before the model gave a final answer."))
        last = all_calls[-1] if all_calls else None
        result = AgentResult(
            message=final, tool_name=last.tool_name if last else None,
            tool_args=dict(last.parameters) if last else {}, iterations=iteration,
            tool_calls=all_calls, trace=trace, usage=usage, stop_reason=stop_reason,
            provider_used=provider_used, run_id=run_id,
        )
        trimmed = agent._commit_run(history, new_start, usage)
        if trimmed and hub:
            await hub.emit("on_memory_trim", run_id, trimmed, "memory limit")
        if hub:
            await hub.emit("on_run_end", run_id, result)
        yield result
    except Exception as exc:
        trace.add(TraceStep("error", 0, 0.0, {"error": repr(exc)}))
        if hub:
            await hub.emit("on_error", run_id, exc, {"history_length": len(history)})
        raise


def _remaining(deadline: float | None, timeout: float | None) -> float | None:
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise RunTimeoutError("the run exceeded AgentConfig.run_timeout")
    return left if timeout is None else min(left, timeout)


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise RunTimeoutError("the run exceeded AgentConfig.run_timeout")


async def _end_iteration(hub: Any, run_id: str, iteration: int,
                         response: Message) -> None:
    if hub:
        await hub.emit("on_iteration_end", run_id, iteration, response)


def _iteration_end_chunk(iteration: int) -> StreamChunk:
    return StreamChunk(event="iteration_end", data={"iteration": iteration})


def _tool_result_chunk(outcome: _ToolOutcome) -> StreamChunk:
    return StreamChunk(event="tool_result", data={
        "call_id": outcome.call_id, "tool_name": outcome.call.tool_name,
        "result": outcome.message.content, "error": outcome.error is not None,
        "duration_ms": outcome.duration_ms})


def _tool_runner(agent: Agent, run_id: str, iteration: int, trace: AgentTrace,
                 deadline: float | None) -> Callable[[ToolCall], Any]:
    hub = agent._hub
    timeout = agent.config.tool_timeout_seconds

    async def run_one(call: ToolCall) -> _ToolOutcome:
        call_id = call.id or ""
        if hub:
            await hub.emit("on_tool_start", run_id, call_id, call.tool_name, call.parameters)
        started = time.perf_counter()
        error: BaseException | None = None
        tool: Tool | None = agent._tools.get(call.tool_name)
        if tool is None:
            error = UnknownToolError(call.tool_name, agent._tools)
            text = format_tool_error(call.tool_name, error)
        else:
            try:
                text = await tool.execute(call.parameters,
                                          timeout=_remaining(deadline, timeout))
            except (asyncio.CancelledError, KeyboardInterrupt, SystemExit, RunTimeoutError):
                raise
            except BaseException as exc:  # every tool failure goes back to the model
                error = exc
                text = format_tool_error(call.tool_name, exc)
        duration_ms = (time.perf_counter() - started) * 1000
        if hub:
            if error is None:
                await hub.emit("on_tool_end", run_id, call_id, call.tool_name, text, duration_ms)
            else:
                await hub.emit("on_tool_error", run_id, call_id, call.tool_name, error,
                               call.parameters, duration_ms)
        if agent.analytics is not None:
            agent.analytics.record(call.tool_name, error is None, duration_ms)
        trace.add(TraceStep("tool_execution", iteration, duration_ms, {
            "tool_name": call.tool_name, "call_id": call_id, "args": call.parameters,
            "result": text[:500], "error": error is not None}))
        message = Message(role=Role.TOOL, content=text, tool_name=call.tool_name,
                          tool_result=text, tool_call_id=call.id)
        return _ToolOutcome(call, call_id, message, error, duration_ms)

    return run_one


def _start_parallel(run_one: Callable[[ToolCall], Any], calls: list[ToolCall],
                    limit: int | None) -> list[asyncio.Future[_ToolOutcome]]:
    """Start every call at once, at most `limit` running at a time."""
    gate = asyncio.Semaphore(limit) if limit else None

    async def gated(call: ToolCall) -> _ToolOutcome:
        if gate is None:
            return await run_one(call)  # type: ignore[no-any-return]
        async with gate:
            return await run_one(call)  # type: ignore[no-any-return]

    return [asyncio.ensure_future(gated(call)) for call in calls]
