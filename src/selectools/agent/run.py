"""`Run`: the state of one run and what it does in a turn (see loop.py, which drives it):
the model call, streamed or whole, with the chunks a UI sees (text, reasoning, argument
fragments, typed partial values); the turn recorded (stop reasons, ids, trace); the typed
answer validated and repaired; tools run with their events; held calls resumed."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from contextlib import aclosing
from itertools import repeat
from operator import attrgetter
from time import perf_counter
from typing import TYPE_CHECKING, Any

from .._artifacts import collecting_artifacts
from .._log import logger
from .._seniority import RUN_STARTED
from ..providers.base import (
    ProviderEvent,
    exact_acomplete,
    provider_name,
    stream_any,
    with_instructions,
)
from ..trace import AgentTrace, TraceStep
from ..types import (
    RAW_ARGUMENTS_KEY,
    AgentResult,
    Message,
    OutputFormat,
    ReasoningDelta,
    ReasoningPart,
    Role,
    StopReason,
    StreamChunk,
    StructuredStatus,
    ToolCall,
    ToolCallDelta,
    TurnEnd,
    made_message,
)
from ..usage import AgentUsage, UsageStats
from .deadline import NO_DEADLINE, run_deadline
from .setup import RunSetup
from .tool_runner import ToolOutcome, ToolRunner

if TYPE_CHECKING:
    from ..output import OutputSchema, OutputStream, OutputValidationError
    from ..results import Artifact
    from ..sessions.record import PendingApproval

_call_numbers = itertools.count(1)
_CALL_ID = attrgetter("id")
_TOOL_NAME = attrgetter("tool_name")
_PARAMETERS = attrgetter("parameters")
_JUST_DICT = frozenset({dict})

#: A turn that ended for one of these reasons ends the run with it as
#: `AgentResult.stop_reason`; its tool calls are not run (their arguments may be cut).
RUN_ENDING_REASONS: frozenset[StopReason] = frozenset({"length", "content_filter", "error"})


class Run:
    """The state of one run: its history, usage, trace, and the current model turn."""

    # No slots: the attributes most runs never change start as these class attributes,
    # stored by no run that keeps them (read in one opcode all the same).
    #: Set when the run stops for tool calls that wait for approval.
    pending: PendingApproval | None = None
    iteration = 0
    #: Set when the turn's reason (RUN_ENDING_REASONS) ends the run.
    ended_by: StopReason | None = None
    provider_used: str | None = None
    output_format: OutputFormat | None = None
    #: The provider's own `acomplete` when this run's whole answers are asked of it
    #: straight, with `request()`'s keywords written out (see run_agent): a run that sets
    #: no option beyond the protocol's keywords, of a provider whose acomplete checks its
    #: own result (providers.base.exact_acomplete). Else None: `complete_any`.
    direct: Callable[..., Any] | None = None
    #: Whether events=True streams carry the typed answer's partial values, and the
    #: provider's fragments of tool call arguments.
    partials = False
    tool_deltas = False
    #: Repair turns so far (iterations that count against no budget), the validated
    #: answer, and the last validation error while the answer is invalid.
    repairs = 0
    parsed: Any = None
    output_error: OutputValidationError | None = None
    # The current turn, set by finish_turn (a whole answer's, in run_agent; a streamed
    # one's, in close_stream).
    response: Message
    calls: list[ToolCall]
    #: The run's usage, made by `result` (from `model_usages`).
    usage: AgentUsage

    def __init__(self, setup: RunSetup, messages: list[Message], prior: list[Message],
                 stream: bool, events: bool, on_text: Callable[[str], Any] | None,
                 output: OutputSchema | None) -> None:
        self.setup = setup
        self.id = os.urandom(16).hex()  # a uuid4's worth of randomness, for less
        #: When the run began (`time.monotonic()`): its model calls' seniority where
        #: they wait for a connection (selectools._seniority).
        self.started = time.monotonic()
        self.stream = stream
        self.events = events
        self.on_text = on_text
        #: Whether the model's answers are streamed (for the caller or its handler).
        self.streaming = stream or on_text is not None
        self.history: list[Message] = [*prior, *messages]
        self.new_start = len(prior)
        self.trace = AgentTrace(self.id)
        #: Each model call's usage, in order: the run's AgentUsage is made of them once,
        #: with its result (AgentUsage.of_calls: no add per call).
        self.model_usages: list[UsageStats] = []
        self.all_calls: list[ToolCall] = []
        #: What the run's tools emitted with `emit_artifact`.
        self.artifacts: list[Artifact] = []
        self.deadline = run_deadline(setup.config.run_timeout)
        # The agent's own provider, as provider_for_run would return it, without its call
        # (the usual run: no observers, no max_retries; tests/test_engine_direct_call.py).
        provider = setup.provider
        self.provider = provider if provider is not None and setup.config.max_retries is None \
            else setup.provider_for_run(self.id)
        self.system_prompt = setup.system_prompt
        self.model = setup.config.model or setup.default_model
        #: The typed answer asked for: given to a provider that takes it as an option
        #: (constrained natively where its protocol can), else asked for in this run's
        #: system prompt.
        self.output = output
        options = setup.options
        if output is not None:
            format_ = OutputFormat(output.name, output.schema, output.strict_schema,
                                   output.instructions())
            if "output" in options:
                self.output_format = format_
            else:
                self.system_prompt = with_instructions(self.system_prompt, format_)
        self.reasoning = setup.config.reasoning if "reasoning" in options else None
        if self.output_format is None and self.reasoning is None and not self.streaming:
            self.direct = exact_acomplete(self.provider)
        if events:  # (else both are False, as the class has them)
            self.partials = output is not None
            self.tool_deltas = "tool_deltas" in options

    async def run_tools(self, calls: list[ToolCall], outcomes: list[ToolOutcome]
                        ) -> AsyncGenerator[StreamChunk, None]:
        """Run a turn's calls into `outcomes` (in the order the model asked for them);
        with events, yield each "tool_result" as its call finishes."""
        runner = ToolRunner(self.setup, self.id, self.trace, self.deadline)
        # Tools emit artifacts into the run's list through a contextvar, set only around
        # awaits that do not yield (see _artifacts.collecting_artifacts).
        if self.events:
            async with aclosing(runner.as_finished(calls, self.iteration)) as finished:
                while True:
                    with collecting_artifacts(self.artifacts):
                        outcome = await anext(finished, None)
                    if outcome is None:
                        break
                    outcomes.append(outcome)
                    yield _tool_result_chunk(outcome)
            order = {id(call): i for i, call in enumerate(calls)}
            outcomes.sort(key=lambda o: order[id(o.call)])
        else:
            with collecting_artifacts(self.artifacts):
                outcomes.extend(await runner.run_all(calls, self.iteration))

    def held_for_approval(self, calls: list[ToolCall]) -> list[ToolCall]:
        """The calls that must wait for a person (AgentConfig.approval_policy, a tool's
        requires_approval)."""
        needs = self.setup.needs_approval
        assert needs is not None
        held = [call for call in calls if needs(call)]
        if held:
            self.trace.add(TraceStep("approval_required", self.iteration, 0.0, {"calls": [
                {"id": c.id, "name": c.tool_name, "args": c.parameters} for c in held]}))
        return held

    async def resume(self, pending: PendingApproval, approvals: Mapping[str, Any]
                     ) -> AsyncGenerator[StreamChunk, None]:
        """Finish the held turn: run the approved calls (with the arguments a person edited,
        validated like any), answer the denied ones with a denial the model reads, and put
        every result of the turn in the history in the order the model asked for them."""
        decisions = approval_decisions(pending, approvals)
        self.iteration = pending.iteration
        held = {call.id: call for call in pending.calls}
        asked = next((m for m in reversed(self.history) if m.tool_calls), None)
        approved: list[ToolCall] = []
        results = {message.tool_call_id: message for message in pending.results}
        for call_id, decision in decisions.items():
            call = held[call_id]
            if decision is False:
                results[call_id] = Message(
                    role=Role.TOOL, content=denial_text(call.tool_name),
                    tool_name=call.tool_name, tool_result=denial_text(call.tool_name),
                    tool_call_id=call_id)
                continue
            if decision is not True:  # edited: the history shows the call as it ran
                # New calls, not the held ones changed: a trace that holds those (the held
                # run's, from a store that keeps objects) reads as that run went.
                call = ToolCall(call.tool_name, decision, call_id, call.provider_data)
                calls = (asked.tool_calls if asked is not None else None) or []
                for index, original in enumerate(calls):
                    if original.id == call_id:
                        calls[index] = ToolCall(original.tool_name, dict(decision),
                                                call_id, original.provider_data)
            approved.append(call)
        self.trace.add(TraceStep("approval_decisions", self.iteration, 0.0, {
            "decisions": {k: (v if isinstance(v, bool) else {"arguments": v})
                          for k, v in decisions.items()}}))
        self.all_calls.extend(approved)
        if self.events:
            for call in approved:
                yield tool_start_chunk(call)
        outcomes: list[ToolOutcome] = []
        if approved:
            async for chunk in self.run_tools(approved, outcomes):
                yield chunk
        results.update((outcome.message.tool_call_id, outcome.message) for outcome in outcomes)
        self.history.extend(results[call_id] for call_id in pending.order
                            if call_id in results)
        self.deadline.check()

    # A turn's bookkeeping is plain calls, its observer events coroutines of their own
    # awaited only when there are observers: no coroutine per turn for nobody.
    async def tell_start(self) -> None:
        await self.setup.hub.emit("on_llm_start", self.id, self.history, self.model,
                                  self.system_prompt)

    async def tell_end(self, usage: UsageStats | None) -> None:
        hub = self.setup.hub
        if usage is not None:
            await hub.emit("on_usage", self.id, usage)
        await hub.emit("on_llm_end", self.id, self.response, usage)

    def request(self) -> dict[str, Any]:
        """The keywords of this turn's model call."""
        setup = self.setup
        config, deadline = setup.config, self.deadline
        request: dict[str, Any] = {
            "model": self.model, "system_prompt": self.system_prompt,
            "messages": self.history,
            # The agent's own tuple (a Sequence, as providers take it): the same object on
            # every call, no list per turn for a stream in flight to hold.
            "tools": setup.definitions,
            "temperature": config.temperature, "max_tokens": config.max_tokens,
            "timeout": config.request_timeout if deadline is NO_DEADLINE
            else deadline.cap(config.request_timeout)}
        # The options beyond the protocol's keywords only when set: a provider that does
        # not take them is never passed one (see providers.base.CALL_OPTIONS).
        if self.output_format is not None:
            request["output"] = self.output_format
        if self.reasoning is not None:
            request["reasoning"] = self.reasoning
        return request

    async def open_stream(self) -> StreamedTurn:
        """Ask the model for a streamed answer: the turn whose items `run_agent` reads.

        The items are read there, not in a generator of ours, so that a text delta passes
        from the provider's stream to the caller through no other layer (a text delta is
        most of a streamed run's items). Each other item is `take`n here, and
        `close_stream` records the turn.

        With `events`: each fragment of a tool call's arguments as a "tool_call_delta"
        chunk (one carrying the whole arguments for a call that came whole), the model's
        reasoning as "reasoning" chunks, and with typed output the answer's partial value
        as an "output_partial" chunk each time its text changes it. A turn that calls
        tools is not the answer: from its first call on, its text is no longer followed
        (the values already shown were not the answer, as its tool_start events then say).
        A fallback restarting the answer restarts the partial value too."""
        if self.setup.hub.active:
            await self.tell_start()
        request = self.request()
        if self.tool_deltas:
            request["tool_deltas"] = True
        started = time.perf_counter()
        RUN_STARTED.set(self.started)  # (the stream's first read waits for a connection)
        return StreamedTurn(stream_any(self.provider, **request), started,
                            self._partial_stream())

    async def tell_first_chunk(self, turn: StreamedTurn) -> None:
        """Observers hear when a streamed answer's first item arrived (time to first chunk)."""
        await self.setup.hub.emit("on_llm_first_chunk", self.id,
                                  (time.perf_counter() - turn.started) * 1000)

    def take(self, turn: StreamedTurn, item: object) -> Iterator[StreamChunk]:
        """A streamed item other than text: into the turn, and the chunks it shows."""
        events = self.events
        if isinstance(item, ToolCall):
            calls = turn.calls
            if calls is None:
                calls = turn.calls = []
            if events and (turn.streamed is None or len(calls) not in turn.streamed):
                yield _call_delta(len(calls), item.id, item.tool_name, _arguments_text(item))
            calls.append(item)
            turn.partial = None
            if self.stream:
                yield StreamChunk(tool_calls=[item])
        elif isinstance(item, UsageStats):  # (every turn has these two: tested first)
            turn.usage = item
        elif isinstance(item, TurnEnd):
            turn.end = item.reason
        elif isinstance(item, ToolCallDelta):
            if events:
                if turn.streamed is None:
                    turn.streamed = set()
                turn.streamed.add(item.index)
                yield _call_delta(item.index, item.call_id, item.tool_name,
                                  item.arguments_delta)
        elif isinstance(item, ReasoningDelta):
            if events and item.text:
                yield StreamChunk(event="reasoning", content=item.text)
        elif isinstance(item, ReasoningPart):
            if turn.reasoning is None:
                turn.reasoning = [item]
            else:
                turn.reasoning.append(item)
        elif isinstance(item, ProviderEvent):
            if item.discard_partial:  # a fallback restarted the answer
                turn.text.clear()
                turn.calls = turn.reasoning = turn.streamed = None
                turn.end = None
                turn.partial = self._partial_stream()
                self._discard_handled_text()
            if self.stream:
                yield StreamChunk(event=item.name, data=dict(item.data))

    async def close_stream(self, turn: StreamedTurn) -> StreamChunk | None:
        """Record the streamed turn; returns its last chunk, if it has one: the tool calls
        found written in its text, or the typed answer's value completed by its end."""
        # (role, content, tool_name, tool_result, tool_calls, tool_call_id, content_parts,
        # stop_reason, reasoning): no field Message's checks would change.
        response = made_message(Role.ASSISTANT, "".join(turn.text), None, None,
                                turn.calls, None, None, turn.end, turn.reasoning)
        parsed = self.finish_turn(response, turn.usage, turn.started)
        if self.setup.hub.active:
            await self.tell_end(turn.usage)
        if parsed and self.stream:
            return StreamChunk(tool_calls=list(parsed))
        if turn.partial is not None:  # a number or literal root completes only when it ends
            value = turn.partial.finish()
            if value is not turn.unchanged:
                return StreamChunk(event="output_partial", data=value)
        return None

    def _partial_stream(self) -> OutputStream | None:
        """A partial parser for this turn's answer, when the run shows partial values."""
        if not self.partials:
            return None
        assert self.output is not None
        # An answer constrained natively to a strict schema with a wrapped root comes
        # wrapped (OutputStream reads it either way).
        return self.output.stream(wrapped=self.output_format is not None)

    async def accept_output(self, response: Message) -> bool:
        """Validate a final answer as the typed output. Valid: keep the value. Invalid,
        with repairs left: send the problems back (the history gets the repair prompt)
        and return False, so the loop asks again. Invalid with none left: keep the error
        (`structured_status` "validation_failed", or raised, as configured)."""
        assert self.output is not None
        from ..output import OutputValidationError

        hub, attempt = self.setup.hub, self.repairs + 1
        try:
            self.parsed = self.output.validate(response.content)
        except OutputValidationError as error:
            if hub.active:
                await hub.emit("on_structured_validate", self.id, False, attempt, str(error))
            if self.repairs >= self.setup.config.output_retries:
                self.output_error = error
                return True
            self.repairs += 1
            self.trace.add(TraceStep("structured_retry", self.iteration, 0.0, {
                "attempt": self.repairs, "error": str(error)}))
            self.history.append(Message(role=Role.USER,
                                        content=self.output.repair_prompt(error)))
            # The invalid answer's text is void, as after a fallback restart; a handler
            # without discard() is not warned here, since the repaired answer follows it.
            discard = getattr(self.on_text, "discard", None)
            if callable(discard):
                discard()
            return False
        if hub.active:
            await hub.emit("on_structured_validate", self.id, True, attempt, None)
        return True

    def structured_outcome(self, stop_reason: str) -> tuple[StructuredStatus | None,
                                                             str | None]:
        if self.output is None:
            return None, None
        if self.output_error is not None:
            return "validation_failed", str(self.output_error)
        if stop_reason == "completed":
            return "ok", None
        return "not_attempted", None

    def _discard_handled_text(self) -> None:
        """Tell a stream_handler that the text it was given is void: with its `discard()`
        if it has one, else by a warning, never silently."""
        if self.on_text is None:
            return
        discard = getattr(self.on_text, "discard", None)
        if callable(discard):
            discard()
        else:
            logger().warning("a fallback restarted the answer: the text passed to "
                             "stream_handler so far is void (give the handler a discard() "
                             "method to handle it)")

    def finish_turn(self, response: Message, usage: UsageStats | None,
                     started: float) -> Sequence[ToolCall]:
        """Record the model's answer; returns tool calls found written in its text, if any."""
        if self.deadline is not NO_DEADLINE:  # (a run without a time limit has none to check)
            self.deadline.check()
        llm_ms = (perf_counter() - started) * 1000
        calls = response.tool_calls or []  # (the answer's own list: nothing changes it)
        parsed: Sequence[ToolCall] = ()  # (tuples: no list made per turn for nothing)
        dropped: Sequence[ToolCall] = ()
        parser = self.setup.parser
        if response.stop_reason in RUN_ENDING_REASONS:
            # Cut by max_tokens, filtered, or failed: this turn ends the run and none of
            # its calls run (a cut call's arguments are incomplete). It is recorded without
            # them, so that history and memory hold no call without a result.
            self.ended_by = response.stop_reason
            if calls:
                dropped, calls = calls, []
                response = Message(role=Role.ASSISTANT, content=response.content,
                                   stop_reason=response.stop_reason,
                                   reasoning=response.reasoning)
        elif not calls and parser is not None and response.content:
            # A model without native tools. A typed run's answer is JSON by design: there a
            # bare object shaped like a call (`{"tool": ..., "args": ...}`) is the answer,
            # and only a call written after the marker, as the instructions say, is a call.
            parsed = calls = parser.parse(response.content, marked_only=self.output is not None)
            if calls:
                response = Message(role=Role.ASSISTANT, content=response.content,
                                   tool_calls=calls, stop_reason=response.stop_reason,
                                   reasoning=response.reasoning)
        if usage is not None:
            self.model_usages.append(usage)
            self.provider_used = usage.provider or self.provider_used \
                or provider_name(self.provider)
        elif not self.provider_used:
            self.provider_used = provider_name(self.provider)
        if calls:  # (a final answer has none: nothing to look up)
            # The offered tool's own name, not the answer's copy of it: held results (a
            # batch's 5,000) then share one string per tool instead of one per call. (Set
            # in C, by a map over the calls: no loop's opcodes per call.)
            names = list(map(_TOOL_NAME, calls))
            list(map(setattr, calls, repeat("tool_name"), map(self.setup.names.get, names,
                                                              names)))
            if not _JUST_DICT.issuperset(map(type, map(_PARAMETERS, calls))):
                for call in calls:  # a duck-typed provider's list, say
                    if type(call.parameters) is not dict:
                        call.parameters = _as_arguments(call.parameters)
            # Results must link to exactly one call: the usual ids (each set, all distinct,
            # none taken by an earlier turn) are checked in C, without a loop, and kept.
            # (A set for this turn only, so that a run in flight holds none.)
            ids = set(map(_CALL_ID, calls))
            if len(ids) != len(calls) or not all(ids) or (
                    self.all_calls and not ids.isdisjoint(map(_CALL_ID, self.all_calls))):
                self._fresh_ids(calls)
        # The turn's steps (llm_call, and tool_selection when it called tools) are made
        # when read (see AgentTrace.record), from one record of these values: the calls
        # themselves, whose name, arguments and id nothing changes after this (resume
        # runs an edited call as a new ToolCall).
        trace = self.trace
        trace.record((_turn_steps, self.iteration, llm_ms, self.model, self.provider_used,
                      response.stop_reason, usage, *calls))
        if dropped:  # after the llm_call step that produced them
            trace.add(TraceStep("tool_calls_dropped", self.iteration, 0.0, {
                "stop_reason": self.ended_by, "tools": [
                    {"name": c.tool_name, "args": c.parameters} for c in dropped]}))
        self.history.append(response)
        self.all_calls.extend(calls)
        self.response, self.calls = response, calls
        return parsed

    def _fresh_ids(self, calls: Sequence[ToolCall]) -> None:
        """A new id for each call whose id is missing or taken (by an earlier call)."""
        ids = {call.id for call in self.all_calls}
        for call in calls:
            call_id = call.id
            if not call_id or call_id in ids:
                call.id = call_id = f"call_{self.id[:8]}_{next(_call_numbers)}"
            ids.add(call_id)

    def result(self, final: Message | None, stop_reason: str) -> AgentResult:
        if final is None:
            final = Message(role=Role.ASSISTANT, content=(
                f"Stopped: the maximum of {self.setup.config.max_iterations} iterations was "
                "reached before the model gave a final answer."))
        last = self.all_calls[-1] if self.all_calls else None
        usage = self.usage = AgentUsage.of_calls(self.model_usages)
        status, error = (None, None) if self.output is None \
            else self.structured_outcome(stop_reason)
        # Positional, in the fields' order (a test holds it): a class called with keywords
        # gets them as a dict, which cost as much as the rest of the result here.
        return AgentResult(
            final,  # message
            last.tool_name if last else None,  # tool_name
            # The last call's own arguments, as selectools 1.x gives them (no copy to hold).
            last.parameters if last else {},  # tool_args
            self.iteration,  # iterations
            self.all_calls,  # tool_calls
            self.trace,  # trace
            usage,  # usage
            stop_reason,  # stop_reason
            self.provider_used,  # provider_used
            self.id,  # run_id
            # A copy: a timed-out tool's abandoned thread may still emit into the list.
            # (None for none: the result makes an empty list only if it is read.)
            list(self.artifacts) if self.artifacts else None,  # artifacts
            self.parsed,  # parsed
            status,  # structured_status
            error,  # structured_error
            list(self.pending.calls) if self.pending is not None else None)  # pending


class StreamedTurn:
    """A streamed model answer while it arrives (see Run.open_stream): the provider's
    items, and what the turn has gathered of them so far."""

    __slots__ = ("items", "started", "partial", "unchanged", "text", "calls", "reasoning",
                 "usage", "end", "streamed")

    def __init__(self, items: AsyncGenerator[Any, None], started: float,
                 partial: OutputStream | None) -> None:
        self.items = items
        self.started = started
        #: The typed answer's partial value, while the text may be the answer.
        self.partial = partial
        #: What `partial.feed` returns for text that changed nothing (output.UNCHANGED,
        #: imported once per turn, not per delta; only runs with typed output import it).
        self.unchanged: object = None
        if partial is not None:
            from ..output import UNCHANGED

            self.unchanged = UNCHANGED
        self.text: list[str] = []
        #: (Both None until their first item: a final answer has neither.)
        self.calls: list[ToolCall] | None = None
        self.reasoning: list[ReasoningPart] | None = None
        self.usage: UsageStats | None = None
        self.end: StopReason | None = None
        #: The calls (by index) whose arguments were streamed as deltas (None until the
        #: first: only with events, from a provider that streams them).
        self.streamed: set[int] | None = None


def _llm_call_data(model: str, provider: str | None, calls: int, stop_reason: str | None,
                   usage: UsageStats | None) -> dict[str, Any]:
    return {"model": model, "provider": provider, "tool_calls": calls,
            "stop_reason": stop_reason,
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None}


def _turn_steps(iteration: int, llm_ms: float, model: str, provider: str | None,
                stop_reason: str | None, usage: UsageStats | None, *calls: ToolCall
                ) -> Iterator[TraceStep]:
    """A model turn's steps: its llm_call, then the tools it selected (if any)."""
    yield TraceStep.deferred("llm_call", iteration, llm_ms, _llm_call_data, model, provider,
                             len(calls), stop_reason, usage)
    if calls:
        yield TraceStep.deferred("tool_selection", iteration, 0.0, _calls_selected, *calls)


def _calls_selected(*calls: ToolCall) -> dict[str, Any]:
    return {"tools": [{"name": call.tool_name, "args": call.parameters, "id": call.id}
                      for call in calls]}


def _selection_data(*calls: Any) -> dict[str, Any]:
    """A selection step pickled before _turn_steps: name, arguments and id of each call,
    one after the other."""
    return {"tools": [{"name": calls[i], "args": calls[i + 1], "id": calls[i + 2]}
                      for i in range(0, len(calls), 3)]}


def _as_arguments(parameters: object) -> dict[str, Any]:
    """A call's parameters as a dict. Anything but a JSON object travels as unreadable
    arguments (RAW_ARGUMENTS_KEY), which the tool refuses with an error the model can
    correct, like arguments that were not JSON."""
    if isinstance(parameters, Mapping):
        return dict(parameters)
    try:
        text = json.dumps(parameters)
    except (TypeError, ValueError):
        text = object.__repr__(parameters)
    return {RAW_ARGUMENTS_KEY: text}


def _arguments_text(call: ToolCall) -> str:
    """A whole call's arguments as the model wrote them: unreadable ones as their text
    (never our RAW_ARGUMENTS_KEY wrapper), else as JSON."""
    raw = call.parameters.get(RAW_ARGUMENTS_KEY) if type(call.parameters) is dict else None
    return raw if isinstance(raw, str) else call.arguments_json()


def _call_delta(index: int, call_id: str | None, tool_name: str,
                arguments_delta: str) -> StreamChunk:
    return StreamChunk(event="tool_call_delta", data={
        "index": index, "call_id": call_id, "tool_name": tool_name,
        "arguments_delta": arguments_delta})


def tool_start_chunk(call: ToolCall) -> StreamChunk:
    return StreamChunk(event="tool_start", data={
        "call_id": call.id, "tool_name": call.tool_name, "tool_args": call.parameters})


def _tool_result_chunk(outcome: ToolOutcome) -> StreamChunk:
    return StreamChunk(event="tool_result", data={
        "call_id": outcome.call.id, "tool_name": outcome.call.tool_name,
        "result": outcome.message.content, "error": outcome.error is not None,
        "duration_ms": outcome.duration_ms})


def denial_text(tool_name: str) -> str:
    return (f"The user denied this call to {tool_name}: it was not run. Do not try it "
            "again unless the user asks for it.")


def approval_decisions(pending: PendingApproval, approvals: Mapping[str, Any]
                       ) -> dict[str, bool | dict[str, Any]]:
    """Each held call's decision, checked before anything runs: True, False, or the edited
    arguments. Every held call needs one, and only held calls may have one."""
    if not isinstance(approvals, Mapping):
        raise TypeError(f"approvals must be a dict of call id to True, False or "
                        f"{{'arguments': {{...}}}}, got {type(approvals).__name__}")
    held = [call.id or "" for call in pending.calls]
    unknown = [key for key in approvals if key not in held]
    if unknown:
        raise ValueError(f"approvals name calls that are not waiting for approval: "
                         f"{unknown}; the calls waiting are {held}")
    missing = [call_id for call_id in held if call_id not in approvals]
    if missing:
        raise ValueError(f"approvals must decide every call waiting for approval; "
                         f"missing: {missing}")
    decisions: dict[str, bool | dict[str, Any]] = {}
    for call_id in held:
        value = approvals[call_id]
        if type(value) is bool:
            decisions[call_id] = value
        elif isinstance(value, Mapping) and set(value) == {"arguments"} \
                and isinstance(value["arguments"], Mapping):
            decisions[call_id] = dict(value["arguments"])
        else:
            raise TypeError(f"approvals[{call_id!r}] must be True, False or "
                            f"{{'arguments': {{...}}}} (the edited arguments, a dict), "
                            f"got {value!r}")
    return decisions
