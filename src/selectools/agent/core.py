"""Agent: run / arun / astream / reset, all built on the one engine in loop.py."""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from .._log import logger
from ..observer import ObserverHub
from ..providers.base import ProviderLike, call_options, default_model, provider_name
from ..tools import Tool
from ..tools.approval import approval_check
from ..types import AgentResult, Message, Role, StreamChunk, check_messages, made_message
from ..usage import AgentUsage
from .config import AgentConfig
from .loop import run_agent
from .setup import RunSetup
from .tool_runner import never_suspends

if TYPE_CHECKING:
    from ..batch import BatchResult
    from ..mcp import MCPServer, MCPToolset
    from ..memory import ConversationMemory
    from ..output import OutputSchema, ResponseFormat
    from ..sessions.binding import SessionRun
    from .analytics import ToolAnalytics
    from .deadline import Deadline

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Use the tools when they help."

Messages = str | Message | Sequence[Message]


class Agent:
    """A model plus tools, run in a loop until the model gives a final answer.

    One Agent may serve many concurrent runs: a run's state lives in the run. Conversation
    history (with `memory`), usage totals and analytics outlive runs and are committed when
    a run finishes. Why a run ended is `AgentResult.stop_reason` ("completed",
    "max_iterations", "routing", "approval_required", or a turn's own "length",
    "content_filter", "error": see agent/loop.py). With a session store, conversations
    live in sessions instead (one Agent serves many: `run(..., session_id=...)`).
    `run_timeout` is a hard limit on the whole run, retries, fallbacks and cancelled tools
    included.
    """

    def __init__(self, tools: Sequence[Tool] | None = None, provider: ProviderLike | None = None,
                 config: AgentConfig | None = None,
                 memory: ConversationMemory | None = None, *,
                 mcp_servers: Sequence[MCPServer] | None = None) -> None:
        self.config = config or AgentConfig()
        if not isinstance(self.config, AgentConfig):
            raise TypeError(f"config must be an AgentConfig, got {type(self.config).__name__}")
        if provider is None:
            from ..providers.stubs import LocalProvider

            provider = LocalProvider()
        elif isinstance(provider, type):
            raise TypeError(f"provider must be an instance, e.g. {provider.__name__}(), "
                            f"not the class {provider.__name__}")
        self._provider = provider
        self.memory = memory
        self._tools = _index_tools(tools or [])
        # MCP servers' tools join the agent's own at the start of each run (selectools.mcp,
        # imported only when servers are given): connected on first use, listed again after
        # a server says its list changed.
        self._mcp: MCPToolset | None = None
        if mcp_servers:
            from ..mcp import MCPToolset

            self._mcp = MCPToolset(mcp_servers)
            self._own_tools = tuple(self._tools.values())
        self._hub = ObserverHub(self.config.observers)
        self._history: list[Message] = []
        # The keywords the provider's with_options takes, found once per provider.
        self._options_of: tuple[Any, frozenset[str]] | None = None
        self.usage = AgentUsage(keep_calls=False)
        self.analytics: ToolAnalytics | None = None
        if self.config.enable_analytics:
            from .analytics import ToolAnalytics  # (only then: not at `import selectools`)

            self.analytics = ToolAnalytics()
        self._setup = self._make_setup()

    def _make_setup(self) -> RunSetup:
        """What every run of this agent is given (see agent/setup.py)."""
        tools = self._tools
        # Text is text when the model has native tools: a call quoted in an answer (from a
        # fetched page, say) must never run. The parser is for models without them.
        native = getattr(self.provider, "supports_native_tools", True)
        if tools and not native:  # (loaded only then: not at `import selectools`)
            from ..parser import TextToolCalls, tool_instructions
        system_prompt = self.config.system_prompt or DEFAULT_SYSTEM_PROMPT
        if tools and not native:
            system_prompt += "\n\n" + tool_instructions(list(tools.values()))
        options = call_options(self.provider)
        if self.config.reasoning is not None and "reasoning" not in options:
            logger().warning(
                "AgentConfig.reasoning=%r is not sent: %s takes no reasoning setting",
                self.config.reasoning, provider_name(self.provider))
        return RunSetup(
            config=self.config, tools=tools,
            definitions=tuple(tool.definition for tool in tools.values()) or None,
            parser=TextToolCalls(tools) if tools and not native else None,
            system_prompt=system_prompt, default_model=default_model(self.provider),
            hub=self._hub, options=options, provider_for_run=self._provider_for_run,
            prior_history=self._prior_history, commit=self._commit_run,
            record_tool=self._record_tool if self.analytics is not None else None,
            needs_approval=approval_check(tools, self.config.approval_policy),
            names={name: name for name in tools},
            immediate={name: tool.function.__code__ for name, tool in tools.items()
                       if never_suspends(tool)},
            # (_provider_for_run's first test, its half fixed for the agent's life)
            provider=None if self._hub.active else self._provider)

    @property
    def provider(self) -> ProviderLike:
        return self._provider

    @provider.setter
    def provider(self, provider: ProviderLike) -> None:
        """A new provider gets its own setup: whether text is read for tool calls (only
        without native tools), the tool instructions and the default model follow it."""
        self._provider = provider
        self._setup = self._make_setup()

    @property
    def tools(self) -> list[Tool]:
        return list(self._tools.values())

    @property
    def history(self) -> list[Message]:
        """The messages of the last finished run, the model's and tools' included."""
        return list(self._history)

    def run(self, messages: Messages, stream_handler: Callable[[str], Any] | None = None,
            response_format: ResponseFormat | None = None, *,
            session_id: str | None = None) -> AgentResult:
        """Run to completion from sync code; `stream_handler` receives each text delta.

        `response_format=T` (a pydantic model, dataclass, TypedDict, `list[...]` or a JSON
        schema dict) asks for a typed final answer: `result.parsed` is the validated `T`
        and `result.structured_status` says how it went (see AgentResult; repairs and
        failure as AgentConfig's `output_retries` and `output_failure` say). When an
        invalid answer is sent back for repair, the `discard()` method of `stream_handler`
        is called, if it has one: the text it received for that answer is void.

        If a FallbackProvider restarts an answer mid-stream, the text already handed to
        `stream_handler` is void: its `discard()` method is called when it has one (else a
        warning is logged). `astream` says the same with a `StreamChunk(event="fallback")`.

        `session_id` (or AgentConfig.session_id) runs the message in that session of
        AgentConfig.session_store: the run starts from its conversation and commits to it
        when it ends (see docs/sessions.md). A run that stops before a tool call needing
        approval ends with `stop_reason="approval_required"` and `result.pending`; continue
        it with `resume`.
        """
        from .._sync import run_sync  # (here: only the sync entry points need its loop)

        prepared, output = _prepare(messages), _output(response_format)
        session = self._session(session_id)
        return run_sync(self._drain(prepared, stream_handler, output, session))

    async def arun(self, messages: Messages,
                   stream_handler: Callable[[str], Any] | None = None,
                   response_format: ResponseFormat | None = None, *,
                   session_id: str | None = None) -> AgentResult:
        prepared = _prepare(messages)
        output = _output(response_format) if response_format is not None else None
        # (Without a session_id, here or in the config, there is no session to look up.)
        session = None if session_id is None and self.config.session_id is None \
            else self._session(session_id)
        if self._mcp is not None:
            return await self._drain_with_mcp(prepared, stream_handler, output, session)
        # _drain's loop, written here: awaiting _drain would put one more coroutine layer
        # under every await of the run (its other callers are the sync and resume calls).
        result = None
        async for item in run_agent(self._setup, prepared, stream=False,
                                    on_text=stream_handler, output=output, session=session):
            result = item
        if not isinstance(result, AgentResult):  # pragma: no cover
            raise RuntimeError("the agent loop ended without a result")
        return result

    def resume(self, session_id: str, approvals: Mapping[str, Any], *,
               stream_handler: Callable[[str], Any] | None = None,
               response_format: ResponseFormat | None = None) -> AgentResult:
        """Continue a session's run that stopped for approval (`stop_reason=
        "approval_required"`), from this process or another one after a restart.

        `approvals` decides every call of `result.pending`, by call id: True runs it,
        False answers it with a denial the model reads, `{"arguments": {...}}` runs it with
        the arguments a person edited (validated like a model's; the history then shows
        the call with them). The run then continues to its answer (or its next stop).
        """
        from .._sync import run_sync

        output = _output(response_format)
        session = self._resume_session(session_id)
        return run_sync(self._drain([], stream_handler, output, session, approvals))

    async def aresume(self, session_id: str, approvals: Mapping[str, Any], *,
                      stream_handler: Callable[[str], Any] | None = None,
                      response_format: ResponseFormat | None = None) -> AgentResult:
        """The async `resume`."""
        return await self._drain([], stream_handler, _output(response_format),
                                 self._resume_session(session_id), approvals)

    def astream_resume(self, session_id: str, approvals: Mapping[str, Any],
                       response_format: ResponseFormat | None = None, *,
                       events: bool = False
                       ) -> AsyncGenerator[StreamChunk | AgentResult, None]:
        """`resume` as a stream, like `astream` (with events: the resumed calls'
        tool_start and tool_result first)."""
        output, session = _output(response_format), self._resume_session(session_id)
        if self._mcp is not None:
            return self._with_mcp_tools(lambda deadline: run_agent(
                self._setup, [], stream=True, events=events, output=output, session=session,
                approvals=approvals, deadline=deadline))
        return run_agent(self._setup, [], stream=True, events=events, output=output,
                         session=session, approvals=approvals)

    def astream(self, messages: Messages, response_format: ResponseFormat | None = None, *,
                events: bool = False, session_id: str | None = None
                ) -> AsyncGenerator[StreamChunk | AgentResult, None]:
        """Yield StreamChunks as the model produces them, then one AgentResult.

        With `events=True` the stream also carries `StreamChunk(event=...)` items for
        iteration_start, tool_start, tool_result and iteration_end, for user interfaces,
        and, with `response_format`, "output_partial" items whose `data` is the typed
        answer's partial value each time it changes (live: copy it to keep it), and
        before a run stops for approval, an "approval_required" item whose `data` is
        `{"session_id", "calls": [{"call_id", "tool_name", "arguments"}, ...]}`.
        """
        prepared, output = _prepare(messages), _output(response_format)
        session = self._session(session_id)
        if self._mcp is not None:
            return self._with_mcp_tools(lambda deadline: run_agent(
                self._setup, prepared, stream=True, events=events, output=output,
                session=session, deadline=deadline))
        return run_agent(self._setup, prepared, stream=True, events=events, output=output,
                         session=session)

    def batch(self, inputs: Iterable[Messages], max_concurrency: int = 10,
              response_format: ResponseFormat | None = None,
              on_progress: Callable[[int, int], Any] | None = None, *,
              on_result: Callable[[BatchResult], Any] | None = None,
              keep_results: bool = True) -> list[BatchResult]:
        """Every input as a run of its own, at most `max_concurrency` at once: a BatchResult
        per input, in input order; failures isolated, rate limits absorbed (docs/batch.md)."""
        from ..batch import batch

        return batch(self, inputs, max_concurrency=max_concurrency,
                     response_format=response_format, on_progress=on_progress,
                     on_result=on_result, keep_results=keep_results)

    async def abatch(self, inputs: Iterable[Messages], max_concurrency: int = 10,
                     response_format: ResponseFormat | None = None,
                     on_progress: Callable[[int, int], Any] | None = None, *,
                     on_result: Callable[[BatchResult], Any] | None = None,
                     keep_results: bool = True) -> list[BatchResult]:
        """The async `batch`."""
        from ..batch import abatch

        return await abatch(self, inputs, max_concurrency=max_concurrency,
                            response_format=response_format, on_progress=on_progress,
                            on_result=on_result, keep_results=keep_results)

    def reset(self) -> None:
        """Clear history, usage, analytics and memory, for reuse across requests."""
        self._history = []
        self.usage = AgentUsage(keep_calls=False)
        if self.analytics is not None:
            self.analytics = type(self.analytics)()
        if self.memory is not None:
            self.memory.clear()

    def _session(self, session_id: str | None) -> SessionRun | None:
        """The session of a run: the call's session_id, else the config's; None without
        one (and then nothing of sessions is touched)."""
        config = self.config
        if session_id is None:
            if config.session_id is None:
                return None
            session_id = config.session_id
        store = config.session_store
        if store is None:
            raise ValueError(f"session_id={session_id!r} needs a session store: "
                             "Agent(config=AgentConfig(session_store=SQLiteSessionStore("
                             "'sessions.db')))")
        from ..sessions.binding import SessionRun

        memory = self.memory
        return SessionRun(store, session_id, config.session_namespace,
                          wait=config.session_conflict == "wait",
                          wait_timeout=config.session_wait_timeout,
                          limits=(memory.max_messages, memory.max_tokens)
                          if memory is not None else None)

    def _resume_session(self, session_id: str) -> SessionRun:
        if not isinstance(session_id, str):
            raise TypeError(f"session_id must be a str, got {type(session_id).__name__}")
        session = self._session(session_id)
        assert session is not None
        return session

    async def _drain(self, messages: list[Message],
                     stream_handler: Callable[[str], Any] | None,
                     output: OutputSchema | None = None, session: SessionRun | None = None,
                     approvals: Mapping[str, Any] | None = None) -> AgentResult:
        # Without stream=True the engine yields only its result. Read to its end, the
        # generator finishes by itself (an error or a cancellation ends it too, inside its
        # own frame), so nothing is left to close or to asyncio's async-gen finalizer.
        if self._mcp is not None:
            return await self._drain_with_mcp(messages, stream_handler, output, session,
                                              approvals)
        result = None
        async for item in run_agent(self._setup, messages, stream=False,
                                    on_text=stream_handler, output=output, session=session,
                                    approvals=approvals):
            result = item
        if not isinstance(result, AgentResult):  # pragma: no cover
            raise RuntimeError("the agent loop ended without a result")
        return result

    async def _drain_with_mcp(self, messages: list[Message],
                              stream_handler: Callable[[str], Any] | None,
                              output: OutputSchema | None, session: SessionRun | None,
                              approvals: Mapping[str, Any] | None = None) -> AgentResult:
        """`_drain` with mcp_servers: the MCP tools brought up to date first, within the
        run's deadline (only with mcp_servers: the one extra coroutine layer is theirs
        alone)."""
        deadline = await self._refresh_mcp_tools()
        result = None
        async for item in run_agent(self._setup, messages, stream=False,
                                    on_text=stream_handler, output=output, session=session,
                                    approvals=approvals, deadline=deadline):
            result = item
        if not isinstance(result, AgentResult):  # pragma: no cover
            raise RuntimeError("the agent loop ended without a result")
        return result

    async def _refresh_mcp_tools(self) -> Deadline | None:
        """The MCP servers' current tools beside the agent's own; the setup is rebuilt
        only when a list changed (a name clash raises MCPToolNameClash).

        Connecting is part of the run, so `run_timeout` bounds it: the run's deadline
        starts here and is returned for the engine to go on with (None without one)."""
        assert self._mcp is not None
        changed = self._mcp.changed_tools(self._own_tools)
        seconds = self.config.run_timeout
        if seconds is None:
            tools, deadline = await changed, None
        else:
            from .deadline import Deadline

            deadline = Deadline(seconds)
            names = ", ".join(repr(server.name) for server in self._mcp.servers)
            tools = await deadline.bound_wait(
                changed, f"MCP server {names} to connect and list its tools; nothing was run"
                if len(self._mcp.servers) == 1 else
                f"MCP servers {names} to connect and list their tools; nothing was run")
        if tools is not None:
            self._tools = _index_tools(tools)
            self._setup = self._make_setup()
        return deadline

    async def _with_mcp_tools(
            self, start: Callable[[Deadline | None],
                                  AsyncGenerator[StreamChunk | AgentResult, None]]
    ) -> AsyncGenerator[StreamChunk | AgentResult, None]:
        """A stream that first brings the MCP tools up to date, within the run's deadline
        (only with mcp_servers: the one extra generator layer is theirs alone)."""
        from contextlib import aclosing

        deadline = await self._refresh_mcp_tools()
        async with aclosing(start(deadline)) as stream:
            async for item in stream:
                yield item

    def _provider_for_run(self, run_id: str) -> ProviderLike:
        """The provider with this run's retry settings and observer hooks, when it takes them."""
        provider = self._provider
        if not self._hub.active and self.config.max_retries is None:
            return provider  # (nothing to configure: the usual run)
        configure = getattr(provider, "with_options", None)
        if configure is None:
            return provider
        if self._options_of is None or self._options_of[0] is not self.provider:
            self._options_of = (self.provider, frozenset(inspect.signature(configure).parameters))
        accepted = self._options_of[1]
        options: dict[str, Any] = {}
        if self.config.max_retries is not None and "max_retries" in accepted:
            options["max_retries"] = self.config.max_retries
        if self._hub.active and "on_retry" in accepted:
            # The retry limit is the configured provider's (read when a retry happens);
            # None when it has none of its own (FallbackProvider: each provider retries).
            options["on_retry"] = lambda attempt, error, delay: self._hub.emit_sync(
                "on_llm_retry", run_id, attempt, getattr(configured, "max_retries", None),
                error, delay)
        if self._hub.active and "on_fallback" in accepted:
            options["on_fallback"] = lambda failed, nxt, error: self._hub.emit_sync(
                "on_provider_fallback", run_id, failed, nxt, error)
        configured: ProviderLike = configure(**options) if options else self.provider
        return configured

    def _prior_history(self) -> list[Message]:
        return self.memory.get_history() if self.memory is not None else []

    def _record_tool(self, tool_name: str, ok: bool, duration_ms: float) -> None:
        if self.analytics is not None:  # reset() makes a new one
            self.analytics.record(tool_name, ok, duration_ms)

    def _commit_run(self, history: list[Message], remembered_from: int,
                    usage: AgentUsage) -> tuple[int, int] | None:
        """Keep what outlives the run (memory: the history from `remembered_from` on);
        returns how many messages memory trimmed, and how many it holds (None without
        memory)."""
        self._history = history
        self.usage.merge(usage)
        if self.memory is None:
            return None
        return self.memory.add_many(history[remembered_from:]), len(self.memory)


def _index_tools(tools: Sequence[Tool]) -> dict[str, Tool]:
    index: dict[str, Tool] = {}
    for item in tools:
        if not isinstance(item, Tool):
            raise TypeError(
                f"tools must be Tool objects (decorate functions with @tool), got {item!r}")
        if item.name in index:
            raise ValueError(f"two tools are named {item.name!r}; tool names must be unique")
        index[item.name] = item
    return index


def _prepare(messages: Messages) -> list[Message]:
    """Accept a str, one Message, or a list of Messages; refuse anything else up front."""
    if isinstance(messages, str):
        if not messages.strip():
            raise ValueError("the message is empty")
        # (A str's Message needs none of its checks: see types.made_message.)
        return [made_message(Role.USER, messages)]
    if isinstance(messages, Message):
        return check_messages([messages])
    if not isinstance(messages, Sequence):
        raise TypeError(f"messages must be a str or a list of Message, got "
                        f"{type(messages).__name__}")
    return check_messages(list(cast(Sequence[Message], messages)))


def _output(response_format: ResponseFormat | None) -> OutputSchema | None:
    """The typed output asked for; a response_format that is no type nor JSON schema is a
    TypeError here, before any call."""
    if response_format is None:
        return None
    from ..output import output_schema  # here: typed output is a package of its own

    return output_schema(response_format)
