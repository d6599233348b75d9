"""OTelObserver: a run's observer events as spans and metrics on the GenAI conventions.

One `invoke_agent` span per run (a child of whatever span is current where the run starts),
under it one `chat {model}` span per model call (parented explicitly: a streamed run is an
async generator resumed by its consumer, where attaching a context across a yield would
leak it) and one `execute_tool {name}` span per tool call. The tool's span is made current
inside the call's own task while the tool runs, so spans the tool makes (in a worker thread
too: sync tools run under a copy of that task's context) are its children, and parallel
calls are siblings. Retries and fallbacks are events on the chat span they happened in.

Every event is called on the run's event loop; a run's state is touched only by its own
events (and by its task's done-callback, on the same loop), so no lock is needed.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Callable
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ..observer import AgentObserver
from ..tools.errors import error_text
from . import content

#: The conventions' switch for message content (prompts, answers, tool arguments and
#: results): off unless set to one of CAPTURE_VALUES, or `capture_content=True` is given.
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
#: "true" is the switch's original value; SPAN_ONLY and SPAN_AND_EVENT its newer ones
#: (content goes on spans: this observer writes no log events).
CAPTURE_VALUES = frozenset({"true", "1", "span_only", "span_and_event"})

#: Bucket boundaries the conventions advise for each histogram.
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
                    20.48, 40.96, 81.92)
FIRST_CHUNK_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
                       1.0, 2.5, 5.0, 7.5, 10.0)

#: Our providers' names where the conventions have a well-known value of their own; any
#: other name (openai, anthropic, ollama, a `name=` given to a provider) is used as it is.
PROVIDER_NAMES = {"gemini": "gcp.gemini"}

_SCOPE = "selectools"


def capture_from_environment() -> bool:
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in CAPTURE_VALUES


def provider_value(name: str) -> str:
    """The conventions' `gen_ai.provider.name` for one of our provider names (a
    FallbackProvider's label "openai (host)" is that provider's name)."""
    base = name.split(" (", 1)[0]
    return PROVIDER_NAMES.get(base, base)


def error_type(error: BaseException) -> str:
    """`error.type`: the exception's class, low in cardinality (RateLimitError, ...)."""
    return type(error).__qualname__


class _Chat:
    __slots__ = ("span", "started", "model", "provider", "first_chunk")

    def __init__(self, span: Span, started: float, model: str, provider: str | None) -> None:
        self.span = span
        self.started = started
        #: The model asked for, and the provider named when the span started (if known).
        self.model = model
        self.provider = provider
        #: Seconds from the request to the stream's first item, when the engine says.
        self.first_chunk: float | None = None


class _Tool:
    __slots__ = ("span", "token", "task")

    def __init__(self, span: Span, token: Token[otel_context.Context],
                 task: asyncio.Task[Any] | None) -> None:
        self.span = span
        self.token = token
        #: The task whose context the span was attached in: only there can it be detached.
        self.task = task


class _Run:
    __slots__ = ("span", "context", "chat", "tools", "conversation_id", "provider", "model",
                 "task", "watcher")

    def __init__(self, span: Span, parent: otel_context.Context) -> None:
        self.span = span
        self.context = parent
        self.chat: _Chat | None = None
        self.tools: dict[str, _Tool] = {}
        self.conversation_id: str | None = None
        self.provider: str | None = None
        self.model: str | None = None
        self.task: asyncio.Task[Any] | None = None
        self.watcher: Callable[[asyncio.Task[Any]], None] | None = None


class OTelObserver(AgentObserver):
    """Traces and measures runs on OpenTelemetry's GenAI semantic conventions.

        from selectools.otel import OTelObserver
        agent = Agent(tools, provider, config=AgentConfig(observers=[OTelObserver()]))

    Spans and metrics go to the global tracer and meter providers unless others are given.
    Message content (prompts, answers, tool arguments and results) is recorded only when
    `capture_content` is True, or left None with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_
    CONTENT=true in the environment; keys and headers never are, in any mode.
    `agent_name` names the run spans (`invoke_agent {agent_name}`, `gen_ai.agent.name`);
    `tracer_name` (selectools 1.x's one argument) is the instrumentation scope's name.
    """

    def __init__(self, tracer_name: str = _SCOPE, *,
                 tracer_provider: trace.TracerProvider | None = None,
                 meter_provider: metrics.MeterProvider | None = None,
                 capture_content: bool | None = None, agent_name: str | None = None) -> None:
        from .. import __version__

        if not isinstance(tracer_name, str) or not tracer_name:
            raise TypeError(f"tracer_name must be a non-empty str, got {tracer_name!r}")
        if capture_content is not None and not isinstance(capture_content, bool):
            raise TypeError(f"capture_content must be True, False or None (read "
                            f"{CAPTURE_CONTENT_ENV}), got {capture_content!r}")
        if agent_name is not None and (not isinstance(agent_name, str) or not agent_name):
            raise TypeError(f"agent_name must be a non-empty str or None, got {agent_name!r}")
        self.capture_content = (capture_from_environment() if capture_content is None
                                else capture_content)
        self.agent_name = agent_name
        self._run_span_name = f"invoke_agent {agent_name}" if agent_name else "invoke_agent"
        self._tracer = trace.get_tracer(tracer_name, __version__, tracer_provider)
        meter = metrics.get_meter(tracer_name, __version__, meter_provider)
        self._token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS))
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS))
        self._first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time from the request to the first chunk of a streamed answer.",
            explicit_bucket_boundaries_advisory=list(FIRST_CHUNK_BUCKETS))
        self._runs: dict[str, _Run] = {}

    # -- the run ---------------------------------------------------------------------------

    def on_run_start(self, run_id: str, messages: list[Any], system_prompt: str) -> None:
        attributes: dict[str, Any] = {"gen_ai.operation.name": "invoke_agent",
                                      "selectools.run.id": run_id}
        if self.agent_name:
            attributes["gen_ai.agent.name"] = self.agent_name
        if self.capture_content:
            _add_input(attributes, messages, system_prompt)
        # The parent is whatever is current where the run starts: the caller's span.
        span = self._tracer.start_span(self._run_span_name, kind=SpanKind.INTERNAL,
                                       attributes=attributes)
        run = _Run(span, trace.set_span_in_context(span))
        self._runs[run_id] = run
        self._watch(run_id, run)

    def on_session_load(self, run_id: str, session_id: str, message_count: int) -> None:
        run = self._runs.get(run_id)
        if run is not None and session_id:
            run.conversation_id = session_id
            run.span.set_attribute("gen_ai.conversation.id", session_id)

    def on_run_end(self, run_id: str, result: Any) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        self._unwatch(run)
        span = run.span
        attributes: dict[str, Any] = {}
        usage = getattr(result, "usage", None)
        if usage is not None and usage.llm_calls:
            attributes["gen_ai.usage.input_tokens"] = usage.prompt_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.completion_tokens
        session_id = getattr(result, "session_id", None) or run.conversation_id
        if session_id:
            attributes["gen_ai.conversation.id"] = session_id
        if run.provider:
            attributes["gen_ai.provider.name"] = run.provider
        if run.model:
            attributes["gen_ai.request.model"] = run.model
        stop_reason = getattr(result, "stop_reason", None)
        if stop_reason:
            attributes["selectools.stop_reason"] = stop_reason
        if self.capture_content and getattr(result, "message", None) is not None:
            attributes["gen_ai.output.messages"] = content.output_json(result.message)
        span.set_attributes(attributes)
        if run.chat is not None or run.tools:  # an engine that skipped an event: end them
            self._close_children(run, "abandoned", "the run ended before it", None)
        span.end()

    def on_error(self, run_id: str, error: BaseException, context: dict[str, Any]) -> None:
        run = self._runs.pop(run_id, None)
        if run is not None:
            self._unwatch(run)
            self._close(run, error_type(error), error_text(error), error)

    def on_cancelled(self, run_id: str, iteration: int, reason: str) -> None:
        run = self._runs.pop(run_id, None)
        if run is not None:
            self._unwatch(run)
            self._close(run, "cancelled", reason or "the run was cancelled", None)

    # -- model calls -----------------------------------------------------------------------

    def on_llm_start(self, run_id: str, messages: list[Any], model: str,
                     system_prompt: str) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        attributes: dict[str, Any] = {"gen_ai.operation.name": "chat"}
        if model:
            attributes["gen_ai.request.model"] = model
            if run.model is None:
                run.model = model
        if run.provider:  # the last call's: a good guess, corrected when this one ends
            attributes["gen_ai.provider.name"] = run.provider
        if run.conversation_id:
            attributes["gen_ai.conversation.id"] = run.conversation_id
        if self.capture_content:
            _add_input(attributes, messages, system_prompt)
        span = self._tracer.start_span(f"chat {model}" if model else "chat", run.context,
                                       SpanKind.CLIENT, attributes)
        run.chat = _Chat(span, time.perf_counter(), model, run.provider)

    def on_llm_first_chunk(self, run_id: str, latency_ms: float) -> None:
        run = self._runs.get(run_id)
        if run is not None and run.chat is not None:
            run.chat.first_chunk = latency_ms / 1000

    def on_llm_retry(self, run_id: str, attempt: int, max_retries: int | None,
                     error: BaseException, backoff_seconds: float) -> None:
        span = self._current_span(run_id)
        if span is not None:
            attributes: dict[str, Any] = {"selectools.retry.attempt": attempt,
                                          "selectools.retry.backoff_seconds": backoff_seconds,
                                          "error.type": error_type(error)}
            if max_retries is not None:
                attributes["selectools.retry.max_retries"] = max_retries
            span.add_event("selectools.retry", attributes)

    def on_provider_fallback(self, run_id: str, failed_provider: str, next_provider: str,
                             error: BaseException) -> None:
        span = self._current_span(run_id)
        if span is not None:
            span.add_event("selectools.fallback", {
                "selectools.fallback.failed_provider": failed_provider,
                "selectools.fallback.next_provider": next_provider,
                "error.type": error_type(error)})

    def on_llm_end(self, run_id: str, response: Any, usage: Any) -> None:
        run = self._runs.get(run_id)
        if run is None or run.chat is None:
            return
        chat, run.chat = run.chat, None
        elapsed = time.perf_counter() - chat.started
        attributes: dict[str, Any] = {}
        reason = getattr(response, "stop_reason", None)
        if reason:
            attributes["gen_ai.response.finish_reasons"] = (
                content.FINISH_REASONS.get(reason, reason),)
        # The metrics' attributes; the span has those it started with already.
        measured: dict[str, Any] = {"gen_ai.operation.name": "chat"}
        if chat.model:
            measured["gen_ai.request.model"] = chat.model
        if usage is not None:
            if usage.provider:
                run.provider = provider_value(usage.provider)
            if usage.model:
                measured["gen_ai.response.model"] = attributes["gen_ai.response.model"] = \
                    usage.model
            attributes["gen_ai.usage.input_tokens"] = usage.prompt_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.completion_tokens
        if run.provider:
            measured["gen_ai.provider.name"] = run.provider
            if run.provider != chat.provider:
                attributes["gen_ai.provider.name"] = run.provider
        if chat.first_chunk is not None:
            attributes["gen_ai.response.time_to_first_chunk"] = chat.first_chunk
        if self.capture_content and response is not None:
            attributes["gen_ai.output.messages"] = content.output_json(response)
        span = chat.span
        span.set_attributes(attributes)
        span.end()
        self._duration.record(elapsed, measured)
        if usage is not None:
            self._token_usage.record(usage.prompt_tokens,
                                     {**measured, "gen_ai.token.type": "input"})
            self._token_usage.record(usage.completion_tokens,
                                     {**measured, "gen_ai.token.type": "output"})
        if chat.first_chunk is not None:
            self._first_chunk.record(chat.first_chunk, measured)

    # -- tool calls ------------------------------------------------------------------------

    def on_tool_start(self, run_id: str, call_id: str, tool_name: str,
                      tool_args: dict[str, Any]) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        attributes: dict[str, Any] = {"gen_ai.operation.name": "execute_tool",
                                      "gen_ai.tool.name": tool_name,
                                      "gen_ai.tool.call.id": call_id,
                                      "gen_ai.tool.type": "function"}
        if self.capture_content:
            attributes["gen_ai.tool.call.arguments"] = content.arguments_json(tool_args)
        span = self._tracer.start_span(f"execute_tool {tool_name}", run.context,
                                       SpanKind.INTERNAL, attributes)
        # Current in this call's task from here to its end event, which the engine emits in
        # the same task: the tool's own spans (its worker thread's too) are its children.
        token = otel_context.attach(trace.set_span_in_context(span))
        run.tools[call_id] = _Tool(span, token, _current_task())

    def on_tool_end(self, run_id: str, call_id: str, tool_name: str, result: str,
                    duration_ms: float) -> None:
        call = self._end_tool(run_id, call_id)
        if call is not None:
            if self.capture_content:
                call.span.set_attribute("gen_ai.tool.call.result", result)
            call.span.end()

    def on_tool_error(self, run_id: str, call_id: str, tool_name: str, error: BaseException,
                      tool_args: dict[str, Any], duration_ms: float) -> None:
        call = self._end_tool(run_id, call_id)
        if call is not None:
            _fail(call.span, error_type(error), error_text(error), error)
            call.span.end()

    def _end_tool(self, run_id: str, call_id: str) -> _Tool | None:
        run = self._runs.get(run_id)
        call = run.tools.pop(call_id, None) if run is not None else None
        if call is not None:
            otel_context.detach(call.token)
        return call

    # -- helpers ---------------------------------------------------------------------------

    def _current_span(self, run_id: str) -> Span | None:
        run = self._runs.get(run_id)
        if run is None:
            return None
        return run.chat.span if run.chat is not None else run.span

    def _watch(self, run_id: str, run: _Run) -> None:
        """End the run's spans if its task ends first: a cancelled run emits no event of
        its own (and a run abandoned by its consumer none at all), and its spans must not
        stay open, nor its state stay here, for ever."""
        task = _current_task()
        if task is not None:
            run.task = task
            run.watcher = functools.partial(self._task_done, run_id)
            task.add_done_callback(run.watcher)

    def _unwatch(self, run: _Run) -> None:
        if run.task is not None and run.watcher is not None:
            run.task.remove_done_callback(run.watcher)

    def _task_done(self, run_id: str, task: asyncio.Task[Any]) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        if task.cancelled():
            self._close(run, "cancelled", "the run's task was cancelled", None)
        else:
            self._close(run, "abandoned", "the run's task ended before the run", None)

    def _close(self, run: _Run, kind: str, description: str,
               error: BaseException | None) -> None:
        """End every span of a run that did not finish, each marked as failed by `kind`."""
        self._close_children(run, kind, description, error)
        _fail(run.span, kind, description, error)
        run.span.end()

    def _close_children(self, run: _Run, kind: str, description: str,
                        error: BaseException | None) -> None:
        here = _current_task()
        for call in run.tools.values():
            if call.task is here and here is not None:  # still current in this task
                otel_context.detach(call.token)
            _fail(call.span, kind, description, None)
            call.span.end()
        run.tools.clear()
        chat, run.chat = run.chat, None
        if chat is not None:
            _fail(chat.span, kind, description, error)
            chat.span.end()
            measured: dict[str, Any] = {"gen_ai.operation.name": "chat", "error.type": kind}
            if chat.model:
                measured["gen_ai.request.model"] = chat.model
            provider = getattr(error, "provider", None) or run.provider
            if isinstance(provider, str) and provider:
                measured["gen_ai.provider.name"] = provider_value(provider)
            self._duration.record(time.perf_counter() - chat.started, measured)


def _fail(span: Span, kind: str, description: str, error: BaseException | None) -> None:
    span.set_status(Status(StatusCode.ERROR, description))
    span.set_attribute("error.type", kind)
    if error is not None:
        span.record_exception(error, escaped=True)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        return None


def _add_input(attributes: dict[str, Any], messages: list[Any], system_prompt: str) -> None:
    """The captured input of a run or a model call: its messages and system prompt."""
    attributes["gen_ai.input.messages"] = content.messages_json(messages)
    if system_prompt:
        attributes["gen_ai.system_instructions"] = content.instructions_json(system_prompt)
