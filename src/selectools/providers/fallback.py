"""FallbackProvider: try providers in order, moving on only when another could do better.

What moves the call to the next provider is the error's class, never its message:
`ProviderError.fail_over` (rate limit, overloaded, server error, timeout, connection, stream
error, and the errors of one provider's account: a rejected or missing key, a forbidden or
unknown model, since the next provider has its own) and, from duck-typed providers that
raise builtin exceptions, `ConnectionError` and `TimeoutError`. A bad request or a
context-length error is raised at once: every provider would refuse it too. Any other
exception (a bug in a custom provider, say) is raised as it is rather than hidden behind the
next provider. `fail_over_on=` replaces this rule (`fails_over`) with exception classes or
a predicate of your own, e.g. `lambda e: fails_over(e) or isinstance(e, ContextLengthError)`
to move a prompt too long for one model to a model with a longer context.

Each provider's own retries run first, inside the provider; this class never retries.
`timeout` applies to each provider's attempt in turn (the agent's `run_timeout` bounds the
whole). Cancellation (a consumer gone, Ctrl-C) is never a reason to move on: it stops the
current provider's call and gives no verdict on its health.

Streaming: an error before a provider yielded any text or tool call moves on silently. An
error after it did depends on `on_midstream_error`:
- `"fallback"` (default): the next provider answers from the beginning, announced by a
  `ProviderEvent("fallback", {...}, discard_partial=True)` in the stream; the agent turns it
  into `StreamChunk(event="fallback")` and drops the partial answer, and a UI should too.
- `"raise"`: the error is raised; nothing is repeated.
A provider's usage is held back until its stream has finished, so the one `UsageStats` in the
stream always names the provider that answered.

Circuit breaker, one per provider instance: after `circuit_breaker_threshold` consecutive
failures the provider is skipped for `circuit_breaker_cooldown` seconds; then one call
probes it (half-open) while the others still skip it; the probe's success closes the
circuit, its failure opens it again. A success is recorded only when a stream finished.
A skipped provider is not reported to `on_fallback` (nothing failed); it is listed in the
`AllProvidersFailedError` if no provider answers.

Deadline: once the agent's `run_timeout` has passed (`selectools._deadline`), no further
provider is started; the ones left are listed as `DeadlinePassedError`s.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import logging
import time
import types
import typing
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .._deadline import seconds_left
from ..types import (
    Message,
    OutputFormat,
    ReasoningDelta,
    ReasoningPart,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
)
from ..usage import UsageStats
from .base import (
    CALL_OPTIONS,
    AsyncFirstProvider,
    ProviderEvent,
    ProviderLike,
    StreamItem,
    call_options,
    complete_any,
    default_model,
    has_method,
    provider_name,
    stream_any,
    with_instructions,
)
from .circuit_breaker import CircuitBreaker
from .errors import ProviderError

if TYPE_CHECKING:
    from typing import Self

log = logging.getLogger("selectools.fallback")


def fails_over(error: BaseException) -> bool:
    """The default rule: whether another provider could plausibly succeed where this error
    came from. A `ProviderError` says so itself (`fail_over`, a class attribute a custom
    provider's errors can set too); of other exceptions, only the builtin network errors a
    duck-typed provider may raise do. Cancellation and exit never do."""
    if not isinstance(error, Exception):
        return False
    if isinstance(error, ProviderError):
        return error.fail_over
    return isinstance(error, (ConnectionError, TimeoutError))


OnFallback = Callable[[str, str, BaseException], Any]
#: Exception classes that fail over (and nothing else does), or a predicate deciding it.
FailOverRule = (Iterable[type[BaseException]] | type[BaseException] | types.UnionType
                | Callable[[BaseException], bool])
MidstreamPolicy = Literal["fallback", "raise"]


class ProviderSkippedError(ProviderError):
    """The provider was not called at all; listed in `AllProvidersFailedError.failures`."""

    fail_over = True


class CircuitOpenError(ProviderSkippedError):
    """The provider was skipped: its circuit is open after repeated failures."""


class DeadlinePassedError(ProviderSkippedError):
    """The provider was skipped: the run's deadline had passed when its turn came."""


class AllProvidersFailedError(ProviderError):
    """Every provider failed (or was skipped while its circuit was open).

    `failures` holds `(provider name, error)` in the order they were tried; the last real
    error is also the exception's `__cause__`.
    """

    fail_over = True  # a FallbackProvider nested in another may still be skipped over

    def __init__(self, failures: Sequence[tuple[str, BaseException]]) -> None:
        self.failures = list(failures)
        lines = [f"  {index}. {name}: {_one_line(error)}"
                 for index, (name, error) in enumerate(self.failures, 1)]
        super().__init__(f"all {len(self.failures)} providers failed:\n" + "\n".join(lines),
                         provider="fallback")


# ---------------------------------------------------------------------------------------------
# The provider


@dataclass
class _Slot:
    """One provider in the chain, with the breaker that outlives every configured copy,
    and the label that tells it apart from the others in errors, logs and `on_fallback`."""

    provider: ProviderLike
    breaker: CircuitBreaker
    label: str

    @property
    def name(self) -> str:
        return provider_name(self.provider)


def _labels(providers: Sequence[ProviderLike]) -> list[str]:
    """Each provider's name (a `name=` given to it, else its protocol's); where several
    share one (every OpenAI-compatible server is "openai"), its base URL too, e.g. "openai
    (http://127.0.0.1:8001/v1)", else its place; where that is still not unique (two
    providers on one server), its place as well: "openai (http://...) #2"."""
    names = [provider_name(p) for p in providers]
    labels = []
    for index, (provider, name) in enumerate(zip(providers, names, strict=True)):
        if names.count(name) == 1:
            labels.append(name)
            continue
        base_url = getattr(provider, "base_url", None)
        where = base_url if isinstance(base_url, str) and base_url else f"#{index + 1}"
        labels.append(f"{name} ({where})")
    return [label if labels.count(label) == 1 else f"{label} #{index + 1}"
            for index, label in enumerate(labels)]


class _Shared:
    """What the copies made by `with_options` share with the original."""

    def __init__(self) -> None:
        self.provider_used: str | None = None


class FallbackProvider(AsyncFirstProvider):
    """Try `providers` in order; see the module docstring for when and how it moves on.

    `on_fallback(failed_label, next_label, error)` is called (a coroutine function is
    awaited) each time the call moves to the next provider. A label is the provider's
    `name`, with its base URL added when another provider in the list has the same name
    (two OpenAI-compatible servers: "openai (http://host-a/v1)", "openai (http://host-b/v1)");
    errors and logs use the same labels. `provider_used` names the
    provider that answered last. `clock` is for tests of the breaker.
    """

    name = "fallback"
    default_model = ""  # each provider uses its own default unless the caller names a model
    supports_streaming = True
    supports_async = True

    def __init__(self, providers: Sequence[ProviderLike], circuit_breaker_threshold: int = 3,
                 circuit_breaker_cooldown: float = 60.0, on_fallback: OnFallback | None = None,
                 *, fail_over_on: FailOverRule | None = None,
                 on_midstream_error: MidstreamPolicy = "fallback",
                 clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(providers, (str, bytes)) or not isinstance(providers, Sequence):
            raise TypeError(f"providers must be a list of providers, got {providers!r}")
        if not providers:
            raise ValueError("FallbackProvider needs at least one provider")
        seen: set[int] = set()
        for index, provider in enumerate(providers):
            if not any(has_method(provider, m) for m in ("astream", "acomplete", "complete")):
                raise TypeError(f"providers[{index}] ({provider!r}) is not a provider: it has "
                                "none of astream, acomplete, complete")
            if id(provider) in seen:
                raise ValueError(f"providers[{index}] ({provider_name(provider)}) appears twice; "
                                 "retrying one provider is its own max_retries' job")
            seen.add(id(provider))
        if on_midstream_error not in ("fallback", "raise"):
            raise ValueError(f'on_midstream_error must be "fallback" or "raise", '
                             f"got {on_midstream_error!r}")
        rule = fails_over if fail_over_on is None else _rule_of(fail_over_on)
        if on_fallback is not None and not callable(on_fallback):
            raise TypeError(f"on_fallback must be callable, got {on_fallback!r}")
        self._slots = [_Slot(p, CircuitBreaker(circuit_breaker_threshold,
                                                circuit_breaker_cooldown, clock), label)
                       for p, label in zip(providers, _labels(providers), strict=True)]
        self._fails_over = rule
        self.on_midstream_error: MidstreamPolicy = on_midstream_error
        self._callbacks: tuple[OnFallback, ...] = (on_fallback,) if on_fallback else ()
        self._shared = _Shared()

    # -- introspection -----------------------------------------------------------------------

    @property
    def providers(self) -> list[ProviderLike]:
        return [slot.provider for slot in self._slots]

    async def aclose(self) -> None:
        """Close every provider in the chain that can be closed (their connection pools);
        each reopens what it needs if used again. Every one is closed even if one fails;
        the first failure is raised after."""
        failure: BaseException | None = None
        for provider in self.providers:
            close = getattr(provider, "aclose", None)
            if close is None:
                continue
            try:
                await close()
            except Exception as exc:  # the others must still be closed
                failure = failure or exc
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Sync `aclose`."""
        from .._sync import run_sync  # (here: only the sync entry points need it)

        run_sync(self.aclose())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def call_options(self) -> frozenset[str]:
        """The options (see base.CALL_OPTIONS) this chain takes: each provider is given
        those it takes; a typed answer is asked of the others in words, and reasoning
        (taken when any provider takes it) is left to their model."""
        if any("reasoning" in call_options(slot.provider) for slot in self._slots):
            return CALL_OPTIONS
        return CALL_OPTIONS - {"reasoning"}

    @property
    def supports_native_tools(self) -> bool:
        """False only when no provider in the list has native tool calling: then the agent
        reads tool calls written as text. In a mixed list, text stays text, since a
        native-tools model's answer must never be read for calls."""
        return any(getattr(slot.provider, "supports_native_tools", True)
                   for slot in self._slots)

    @property
    def breakers(self) -> list[CircuitBreaker]:
        """The circuit breakers, in provider order (shared with every `with_options` copy)."""
        return [slot.breaker for slot in self._slots]

    @property
    def provider_used(self) -> str | None:
        """The name of the provider that answered the last successful call."""
        return self._shared.provider_used

    def __repr__(self) -> str:
        inner = ", ".join(repr(slot.provider) for slot in self._slots)
        return f"FallbackProvider([{inner}])"

    # -- configuration -------------------------------------------------------------------------

    def with_options(self, *, max_retries: int | None = None, timeout: float | None = None,
                     on_retry: Callable[..., Any] | None = None,
                     on_fallback: OnFallback | None = None) -> Self:
        """A copy whose providers take these retry/timeout settings (those that accept
        them), with `on_fallback` called besides the constructor's. The copy shares the
        circuit breakers and `provider_used` with this one."""
        options = {key: value for key, value in
                   (("max_retries", max_retries), ("timeout", timeout), ("on_retry", on_retry))
                   if value is not None}
        clone = copy.copy(self)
        clone._slots = [_Slot(_configured(slot.provider, options), slot.breaker, slot.label)
                        for slot in self._slots]
        if on_fallback is not None:
            clone._callbacks = (*self._callbacks, on_fallback)
        return clone

    # -- the provider protocol -------------------------------------------------------------

    async def acomplete(  # type: ignore[override]
        self, *, model: str | None = None, system_prompt: str = "", messages: list[Message],
        tools: Sequence[ToolDefinition] | None = None, temperature: float | None = None,
        max_tokens: int = 1000, timeout: float | None = None,
        output: OutputFormat | None = None, reasoning: str | int | None = None,
    ) -> tuple[Message, UsageStats]:
        request = _request(system_prompt, messages, tools, temperature, max_tokens, timeout)
        options = {"output": output, "reasoning": reasoning}
        failures: list[tuple[str, BaseException]] = []
        slot = self._next_slot(0, failures)
        while slot is not None:
            try:
                message, usage = await complete_any(
                    slot.provider, model=model or default_model(slot.provider),
                    **_for_provider(slot.provider, request, options))
            except BaseException as error:
                if not self._moves_on(slot, error):
                    raise
                slot.breaker.record_failure()
                failures.append((slot.label, error))
                slot = await self._move_on(slot, error, failures)
                continue
            slot.breaker.record_success()
            self._shared.provider_used = slot.name
            return message, self._usage_of(slot, usage, model)
        raise self._all_failed(failures)

    async def astream(  # type: ignore[override]
        self, *, model: str | None = None, system_prompt: str = "", messages: list[Message],
        tools: Sequence[ToolDefinition] | None = None, temperature: float | None = None,
        max_tokens: int = 1000, timeout: float | None = None,
        output: OutputFormat | None = None, reasoning: str | int | None = None,
        tool_deltas: bool = False,
    ) -> AsyncGenerator[StreamItem, None]:
        request = _request(system_prompt, messages, tools, temperature, max_tokens, timeout)
        options = {"output": output, "reasoning": reasoning, "tool_deltas": tool_deltas}
        failures: list[tuple[str, BaseException]] = []
        slot = self._next_slot(0, failures)
        while slot is not None:
            shown = 0  # what this provider has yielded that a restart makes void
            usage: UsageStats | None = None
            failed: BaseException | None = None
            stream = stream_any(slot.provider, model=model or default_model(slot.provider),
                                **_for_provider(slot.provider, request, options))
            try:
                async for item in stream:
                    if isinstance(item, UsageStats):
                        usage = item  # held back: it must name the provider that finishes
                        continue
                    if isinstance(item, _SHOWN) and item:
                        shown += 1
                    yield item
            except BaseException as error:
                # Cancellation, a consumer closing the stream (GeneratorExit) and errors that
                # are the request's fault end here without a verdict on the provider.
                if not self._moves_on(slot, error):
                    raise
                slot.breaker.record_failure()
                failures.append((slot.label, error))
                if shown and self.on_midstream_error == "raise":
                    raise
                failed = error
            finally:
                await stream.aclose()
            if failed is None:
                slot.breaker.record_success()
                self._shared.provider_used = slot.name
                yield self._usage_of(slot, usage, model)
                return
            failed_slot = slot
            slot = await self._move_on(failed_slot, failed, failures)
            if slot is not None and shown:
                try:
                    yield ProviderEvent("fallback", {
                        "failed_provider": failed_slot.label, "next_provider": slot.label,
                        "error": _one_line(failed), "error_type": type(failed).__name__,
                    }, discard_partial=True)
                except BaseException:
                    slot.breaker.release()
                    raise
        raise self._all_failed(failures)

    # -- helpers -----------------------------------------------------------------------------

    def _moves_on(self, slot: _Slot, error: BaseException) -> bool:
        """Whether `error` moves the call on to the next provider. When it does not, or
        when a `fail_over_on` predicate itself raises, the provider's breaker is released
        with no verdict, so that a probe in flight does not keep it shut for good."""
        try:
            moves_on = self._fails_over(error)
        except BaseException:
            slot.breaker.release()
            raise
        if not moves_on:
            slot.breaker.release()
        return moves_on

    def _next_slot(self, start: int,
                   failures: list[tuple[str, BaseException]]) -> _Slot | None:
        """The first provider from `start` whose breaker lets a call through (acquired);
        the ones skipped are noted in `failures`."""
        for slot in self._slots[start:]:
            if slot.breaker.try_acquire():
                return slot
            wait = slot.breaker.seconds_until_probe()
            failures.append((slot.label, CircuitOpenError(
                f"skipped: circuit open after {slot.breaker.consecutive_failures} consecutive "
                f"failures; next probe in {wait:.1f} s", provider=slot.name)))
        return None

    async def _move_on(self, failed: _Slot, error: BaseException,
                       failures: list[tuple[str, BaseException]]) -> _Slot | None:
        """Acquire the next usable provider after `failed` and announce the move."""
        position = next(i for i, s in enumerate(self._slots) if s is failed)
        left = seconds_left()
        if left is not None and left <= 0:
            # No provider could answer in time; the run reports its timeout.
            failures.extend((later.label, DeadlinePassedError(
                "skipped: the run's deadline had passed", provider=later.name))
                for later in self._slots[position + 1:])
            return None
        slot = self._next_slot(position + 1, failures)
        if slot is None:
            return None
        log.warning("provider %s failed (%s); falling back to %s",
                    failed.label, _one_line(error), slot.label)
        try:
            for callback in self._callbacks:
                try:
                    outcome = callback(failed.label, slot.label, error)
                    if inspect.isawaitable(outcome):
                        await outcome
                except Exception:  # a broken callback must not break the failover
                    log.exception("on_fallback callback %r raised", callback)
        except BaseException:
            slot.breaker.release()
            raise
        return slot

    def _usage_of(self, slot: _Slot, usage: UsageStats | None,
                  model: str | None) -> UsageStats:
        """The answering provider's usage, naming it; zero usage when it reported none."""
        if usage is None:
            return UsageStats(model=model or default_model(slot.provider), provider=slot.name)
        if usage.provider != slot.name:
            usage = dataclasses.replace(usage, provider=slot.name)
        return usage

    def _all_failed(self, failures: list[tuple[str, BaseException]]) -> AllProvidersFailedError:
        error = AllProvidersFailedError(failures)
        real = [e for _, e in failures if not isinstance(e, ProviderSkippedError)]
        error.__cause__ = real[-1] if real else failures[-1][1] if failures else None
        return error


def _request(system_prompt: str, messages: list[Message],
             tools: Sequence[ToolDefinition] | None, temperature: float | None,
             max_tokens: int, timeout: float | None) -> dict[str, Any]:
    """The arguments each provider in the chain is called with (its model apart: each
    uses its own default unless the caller names one)."""
    return {"system_prompt": system_prompt, "messages": messages, "tools": tools,
            "temperature": temperature, "max_tokens": max_tokens, "timeout": timeout}


#: Stream items a UI may have shown, made void when a restart discards the answer.
_SHOWN = (str, ToolCall, ReasoningDelta, ReasoningPart, ToolCallDelta)


def _for_provider(provider: object, request: dict[str, Any],
                  options: dict[str, Any]) -> dict[str, Any]:
    """`request` plus the options set that `provider` takes. A typed answer it cannot be
    given as an option is asked for in its system prompt instead; reasoning it takes no
    setting for is left to the model (the others in the chain still get it)."""
    accepted = call_options(provider)
    chosen = {name: value for name, value in options.items()
              if value is not None and value is not False and name in accepted}
    output = options.get("output")
    if output is not None and "output" not in accepted:
        request = {**request,
                   "system_prompt": with_instructions(request["system_prompt"], output)}
    return {**request, **chosen} if chosen else request


def _configured(provider: Any, options: dict[str, Any]) -> Any:
    """`provider.with_options(...)` with the options its signature accepts, if it has one."""
    configure = getattr(provider, "with_options", None)
    if configure is None or not options:
        return provider
    try:
        accepted = inspect.signature(configure).parameters
    except (TypeError, ValueError):
        return provider
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    chosen = {k: v for k, v in options.items() if takes_any or k in accepted}
    return configure(**chosen) if chosen else provider


def _rule_of(fail_over_on: FailOverRule) -> Callable[[BaseException], bool]:
    """`fail_over_on` as a predicate. Whatever it says, a cancellation or exit (not an
    Exception) never moves the call on."""
    refused = TypeError("fail_over_on must be exception classes or a predicate taking the "
                        f"error, got {fail_over_on!r}")
    if isinstance(fail_over_on, type):
        fail_over_on = (fail_over_on,)
    elif isinstance(fail_over_on, types.UnionType):  # RateLimitError | ServerError
        fail_over_on = typing.get_args(fail_over_on)
    elif inspect.iscoroutinefunction(fail_over_on):
        raise TypeError("fail_over_on must be a plain function: the verdict is needed at "
                        f"once, without awaiting; got the coroutine function {fail_over_on!r}")
    elif callable(fail_over_on):
        predicate = fail_over_on
        return lambda error: isinstance(error, Exception) and bool(predicate(error))
    if isinstance(fail_over_on, (str, bytes)):
        raise refused
    try:
        classes = tuple(fail_over_on)
    except TypeError:
        raise refused from None
    if not all(isinstance(c, type) and issubclass(c, BaseException) for c in classes):
        raise refused
    return lambda error: isinstance(error, Exception) and isinstance(error, classes)


def _one_line(error: BaseException) -> str:
    try:
        text = str(error).strip().splitlines()
    except Exception:  # a duck-typed provider's error whose __str__ is broken
        text = []
    first = text[0] if text else ""
    kind = type(error).__name__
    return f"{kind}: {first}" if first else kind
