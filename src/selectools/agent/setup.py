"""RunSetup: everything a run needs from its Agent, handed to the engine as one value.

The engine (loop.py) and the tool runner read this instead of the Agent's attributes, so
they do not depend on `Agent` (no import cycle) and a run cannot change the Agent except
through the two doors it is given: `commit` at the end, and `record_tool` for analytics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import CodeType
from typing import TYPE_CHECKING, NamedTuple

from ..observer import ObserverHub
from ..providers.base import ProviderLike
from ..tools import Tool
from ..types import Message, ToolCall, ToolDefinition
from ..usage import AgentUsage
from .config import AgentConfig

if TYPE_CHECKING:
    from ..parser import TextToolCalls


class RunSetup(NamedTuple):
    """(A NamedTuple, immutable like a frozen dataclass: a tenth of the cost to define at
    `import selectools`.)"""

    config: AgentConfig
    #: The agent's tools by name, and what providers are told of them (None: no tools).
    tools: Mapping[str, Tool]
    definitions: tuple[ToolDefinition, ...] | None
    #: Reads tool calls written as text; only for a provider without native tools.
    parser: TextToolCalls | None
    system_prompt: str
    default_model: str
    hub: ObserverHub
    #: The options beyond the protocol's keywords that the provider's calls take
    #: (providers.base.CALL_OPTIONS).
    options: frozenset[str]
    #: The provider for one run (with its retry settings and observer hooks), by run id.
    provider_for_run: Callable[[str], ProviderLike]
    #: The conversation so far (from memory) that a run starts from.
    prior_history: Callable[[], list[Message]]
    #: Keep what outlives a run: (history, index of its first message to remember, usage)
    #: -> (messages trimmed, messages held) by memory, None when there is no memory (then
    #: no list of the messages to remember is made).
    commit: Callable[[list[Message], int, AgentUsage], tuple[int, int] | None]
    #: (tool name, succeeded, milliseconds), when analytics are on.
    record_tool: Callable[[str, bool, float], None] | None
    #: Whether a call must wait for a person's approval; None when no call can (no tool
    #: requires it and there is no approval_policy): then nothing is checked.
    needs_approval: Callable[[ToolCall], bool] | None = None
    #: Each tool's name to that same string object (the keys of `tools`): a call's name
    #: is made the offered tool's own, so that held results share it.
    names: Mapping[str, str] = {}
    #: The tools whose calls never wait on the event loop (tool_runner.never_suspends), by
    #: name, to the code found so: a turn of only such calls runs them one after the
    #: other without a task each (a tool whose function, or whose function's code, was
    #: replaced since is not one).
    immediate: Mapping[str, CodeType] = {}
    #: The agent's provider when `provider_for_run` would return it as it is for a run
    #: whose config sets no `max_retries` (an agent without observers: nothing else is
    #: configured per run); None when every run asks `provider_for_run`.
    provider: ProviderLike | None = None
