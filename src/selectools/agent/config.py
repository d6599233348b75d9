"""AgentConfig: how an agent calls the model and runs tools, checked when it is made."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._dataclass import DataclassMethods
from ..observer import EVENTS
from ..types import REASONING_EFFORTS, ReasoningEffort, ToolCall

#: What a run asked for a typed answer does when the answer is still invalid after its
#: repairs: "status" returns the result with `structured_status="validation_failed"`,
#: "raise" raises the last `OutputValidationError` (the run then commits nothing to the
#: agent's history or memory, like any run that fails).
OutputFailure = Literal["status", "raise"]
_OUTPUT_FAILURES = ("status", "raise")
#: What a run does when another run of its session is under way (see AgentConfig).
SessionConflict = Literal["raise", "wait"]
_SESSION_CONFLICTS = ("raise", "wait")
#: The least reasoning budget, in tokens (Anthropic refuses less).
MIN_REASONING_BUDGET = 1024


# __init__ below, repr and eq from DataclassMethods: none compiled at every import (the
# generated __init__ of 23 fields alone cost 0.4 ms). tests/test_import_weight.py holds the
# __init__ to the one dataclass would generate.
@dataclass(init=False, repr=False, eq=False)
class AgentConfig(DataclassMethods):
    """Settings of an Agent. Every field is checked here, so a wrong value fails now, with
    its name, rather than deep inside a run.

    `temperature=None` (the default) leaves sampling to the model: no temperature is sent.
    Timeouts are in seconds; None means no limit of that kind (`request_timeout=None`: the
    provider's own).

    Typed output (`run(..., response_format=T)`): an answer that is not a valid `T` goes
    back to the model with the problems found, up to `output_retries` times (these repair
    turns count against no other budget, `max_iterations` included); then `output_failure`
    decides (see OutputFailure).

    `reasoning` asks a model that reasons to do so: an effort ("low", "medium", "high") or
    a budget of reasoning tokens (an int, at least 1024: Anthropic's least), mapped to each
    protocol's own setting (OpenAI `reasoning_effort`, Anthropic `thinking`, Gemini
    `thinkingConfig`, Ollama `think`). None (the default) sends none: the model's own.

    Sessions (see docs/sessions.md): with a `session_store` (a SessionStore), a run with a
    session id (`session_id` here, or per call: `run(..., session_id=...)`) starts from
    the session's conversation and commits its new messages to it in one write when it
    ends. `session_conflict` says what a run does when another run of the same session is
    under way: "raise" (the default; optimistic: the run that commits second gets a
    SessionConflictError and commits nothing) or "wait" (runs of a session take turns,
    across processes; a SessionLockTimeout after `session_wait_timeout` seconds).
    `session_namespace` keeps this agent's sessions apart from other agents' in one store.

    `approval_policy(call) -> bool`: True for a ToolCall that must wait for a person's
    approval (besides the tools declared with `requires_approval`); see Agent.resume.
    """

    model: str | None = None
    temperature: float | None = None
    max_tokens: int = 1000
    max_iterations: int = 6
    system_prompt: str | None = None
    parallel_tool_execution: bool = True
    max_parallel_tools: int | None = None
    routing_only: bool = False
    observers: list[Any] = field(default_factory=list)
    request_timeout: float | None = None
    max_retries: int | None = None
    tool_timeout_seconds: float | None = None
    run_timeout: float | None = None
    enable_analytics: bool = False
    output_retries: int = 2
    output_failure: OutputFailure = "status"
    reasoning: ReasoningEffort | int | None = None
    session_store: Any = None
    session_id: str | None = None
    session_namespace: str | None = None
    session_conflict: SessionConflict = "raise"
    session_wait_timeout: float | None = 60.0
    approval_policy: Callable[[ToolCall], bool] | None = None

    def __init__(
        self, model: str | None = None, temperature: float | None = None,
        max_tokens: int = 1000, max_iterations: int = 6, system_prompt: str | None = None,
        parallel_tool_execution: bool = True, max_parallel_tools: int | None = None,
        routing_only: bool = False, observers: Sequence[Any] = (),
        request_timeout: float | None = None, max_retries: int | None = None,
        tool_timeout_seconds: float | None = None, run_timeout: float | None = None,
        enable_analytics: bool = False, output_retries: int = 2,
        output_failure: OutputFailure = "status", reasoning: ReasoningEffort | int | None = None,
        session_store: Any = None, session_id: str | None = None,
        session_namespace: str | None = None, session_conflict: SessionConflict = "raise",
        session_wait_timeout: float | None = 60.0,
        approval_policy: Callable[[ToolCall], bool] | None = None,
    ) -> None:
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_iterations = max_iterations
        self.system_prompt = system_prompt
        self.parallel_tool_execution = parallel_tool_execution
        self.max_parallel_tools = max_parallel_tools
        self.routing_only = routing_only
        # Checked and copied into a new list by __post_init__ (the field's default_factory
        # is `list`: the empty tuple makes the same empty list).
        self.observers = observers  # type: ignore[assignment]
        self.request_timeout = request_timeout
        self.max_retries = max_retries
        self.tool_timeout_seconds = tool_timeout_seconds
        self.run_timeout = run_timeout
        self.enable_analytics = enable_analytics
        self.output_retries = output_retries
        self.output_failure = output_failure
        self.reasoning = reasoning
        self.session_store = session_store
        self.session_id = session_id
        self.session_namespace = session_namespace
        self.session_conflict = session_conflict
        self.session_wait_timeout = session_wait_timeout
        self.approval_policy = approval_policy
        self.__post_init__()

    def __post_init__(self) -> None:
        _text("model", self.model, empty_ok=False)
        _text("system_prompt", self.system_prompt, empty_ok=True)
        if self.temperature is not None:
            _number("temperature", self.temperature)
            if not 0.0 <= self.temperature <= 2.0:
                raise ValueError(f"temperature must be within 0..2 or None, "
                                 f"got {self.temperature!r}")
        _count("max_tokens", self.max_tokens, least=1, none_ok=False)
        _count("max_iterations", self.max_iterations, least=1, none_ok=False)
        _count("max_parallel_tools", self.max_parallel_tools, least=1, none_ok=True)
        _count("max_retries", self.max_retries, least=0, none_ok=True)
        _count("output_retries", self.output_retries, least=0, none_ok=False)
        if isinstance(self.reasoning, int) and not isinstance(self.reasoning, bool):
            _count("reasoning", self.reasoning, least=MIN_REASONING_BUDGET, none_ok=False)
        elif self.reasoning is not None and self.reasoning not in REASONING_EFFORTS:
            raise ValueError(f"reasoning must be one of {list(REASONING_EFFORTS)}, a token "
                             f"budget (an int of at least {MIN_REASONING_BUDGET}) or None, "
                             f"got {self.reasoning!r}")
        if self.output_failure not in _OUTPUT_FAILURES:
            raise ValueError(f"output_failure must be 'status' or 'raise', "
                             f"got {self.output_failure!r}")
        for name in ("parallel_tool_execution", "routing_only", "enable_analytics"):
            value = getattr(self, name)
            if type(value) is not bool:
                raise TypeError(f"{name} must be True or False, got {value!r}")
        for name in ("request_timeout", "tool_timeout_seconds", "run_timeout"):
            value = getattr(self, name)
            if value is not None:
                _number(name, value)
                if value <= 0:
                    raise ValueError(f"{name} must be a positive number of seconds or None, "
                                     f"got {value!r}")
        self.observers = _observers(self.observers)
        self._check_sessions()

    def _check_sessions(self) -> None:
        store = self.session_store
        if store is not None and (isinstance(store, type) or not all(
                callable(getattr(store, name, None))
                for name in ("aload_state", "acommit", "lock"))):
            raise TypeError(f"session_store must be a SessionStore (e.g. "
                            f"SQLiteSessionStore(...)), got {store!r}")
        for name in ("session_id", "session_namespace"):
            value = getattr(self, name)
            if value is not None:
                _text(name, value, empty_ok=False)
                if len(value) > 512 or "\x00" in value:
                    raise ValueError(f"{name} must be at most 512 characters, with no NUL")
        if self.session_id is not None and store is None:
            raise ValueError("session_id is set but session_store is None: give the store "
                             "the sessions live in (e.g. SQLiteSessionStore('sessions.db'))")
        if self.session_conflict not in _SESSION_CONFLICTS:
            raise ValueError(f"session_conflict must be 'raise' or 'wait', "
                             f"got {self.session_conflict!r}")
        if self.session_wait_timeout is not None:
            _number("session_wait_timeout", self.session_wait_timeout)
            if self.session_wait_timeout <= 0:
                raise ValueError(f"session_wait_timeout must be a positive number of "
                                 f"seconds or None, got {self.session_wait_timeout!r}")
        if self.approval_policy is not None and (
                isinstance(self.approval_policy, type) or not callable(self.approval_policy)):
            raise TypeError(f"approval_policy must be a function of a ToolCall returning "
                            f"True when the call needs approval, got {self.approval_policy!r}")


def _number(name: str, value: object) -> None:
    """A real, finite number (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def _count(name: str, value: object, *, least: int, none_ok: bool) -> None:
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        allowed = " or None" if none_ok else ""
        raise TypeError(f"{name} must be an int{allowed}, got {type(value).__name__} {value!r}")
    if value < least:
        raise ValueError(f"{name} must be at least {least}, got {value!r}")


def _text(name: str, value: object, *, empty_ok: bool) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, got {type(value).__name__} {value!r}")
    if not empty_ok and not value.strip():
        raise ValueError(f"{name} must not be empty (None means the provider's default)")


def _observers(observers: object) -> list[Any]:
    """A list of observer instances: objects with at least one `on_...` event method."""
    if isinstance(observers, (str, bytes)) or not isinstance(observers, Sequence):
        hint = " (wrap it in a list)" if _is_observer(observers) else ""
        raise TypeError(f"observers must be a list of observers, got "
                        f"{type(observers).__name__}{hint}")
    for index, observer in enumerate(observers):
        if isinstance(observer, type):
            raise TypeError(f"observers[{index}] is the class {observer.__name__}; pass an "
                            f"instance, {observer.__name__}()")
        if not _is_observer(observer):
            raise TypeError(f"observers[{index}] is not an observer: {observer!r} has none of "
                            "the on_... event methods (subclass AgentObserver or "
                            "AsyncAgentObserver)")
    return list(observers)


def _is_observer(candidate: object) -> bool:
    return not isinstance(candidate, type) and any(
        callable(getattr(candidate, event, None)) for event in EVENTS)
