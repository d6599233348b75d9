"""The provider protocol, and how a provider that lacks some of its methods is bridged.

A provider's stream yields text deltas (`str`) and complete `ToolCall`s. Our own providers
also yield one `UsageStats` (usually last) so that streamed calls are counted like whole
ones, one `TurnEnd`, the model's reasoning (`ReasoningDelta`s as it streams, then each
block whole as a `ReasoningPart`) and, when asked, `ToolCallDelta`s; a duck-typed provider
need yield only text and calls.

Options beyond the protocol's keywords (see CALL_OPTIONS) reach only a provider that lists
them in its `call_options`: a duck-typed provider is never passed a keyword it does not know.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from .._dataclass import DataclassMethods
from ..types import (
    Message,
    OutputFormat,
    ReasoningDelta,
    ReasoningPart,
    Role,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    TurnEnd,
)
from ..usage import UsageStats


@dataclass(repr=False, eq=False)  # (repr and eq from DataclassMethods: none compiled)
class ProviderEvent(DataclassMethods):
    """A notice inside a provider's stream for the agent to pass on as a StreamChunk event.

    `discard_partial` tells the agent (and a UI) to drop the text and tool calls of the
    current answer received so far: a fallback provider restarted it from the beginning.
    """

    name: str
    data: dict[str, Any] = field(default_factory=dict)
    discard_partial: bool = False


_F = TypeVar("_F", bound=Callable[..., Any])

StreamItem = (str | ToolCall | UsageStats | ProviderEvent | TurnEnd | ReasoningDelta
              | ReasoningPart | ToolCallDelta)

#: The keyword options the agent may pass to a provider's calls besides the protocol's
#: own, each only to a provider whose `call_options` names it:
#: - "output": an `OutputFormat`, the typed answer to constrain the output to natively
#:   (a provider given one adds its instructions itself where it cannot constrain);
#: - "reasoning": how much the model should reason, an effort or a token budget;
#: - "tool_deltas": to `astream` only, True to yield a `ToolCallDelta` per fragment.
CALL_OPTIONS = frozenset({"output", "reasoning", "tool_deltas"})


def call_options(provider: object) -> frozenset[str]:
    """The options of CALL_OPTIONS that `provider`'s calls accept."""
    options = getattr(provider, "call_options", None)
    return CALL_OPTIONS & options if isinstance(options, (set, frozenset)) else frozenset()


def with_instructions(system_prompt: str, output: OutputFormat) -> str:
    """The system prompt that asks for a typed answer in words, for a model that cannot
    be constrained to it: the one place these instructions are added."""
    return f"{system_prompt}\n\n{output.instructions}" if system_prompt else output.instructions


@runtime_checkable
class Provider(Protocol):
    """What the agent needs from a model provider. Every argument is keyword-only.

    `temperature=None` means the model's own default: no sampling parameter is sent.
    A stream yields text deltas, whole ToolCalls, at most one TurnEnd (why the turn ended)
    and a UsageStats; a duck-typed provider may yield only text and calls.
    """

    name: str
    supports_streaming: bool
    supports_async: bool
    default_model: str

    def complete(self, *, model: str, system_prompt: str, messages: list[Message],
                 tools: Sequence[ToolDefinition] | None = None,
                 temperature: float | None = None,
                 max_tokens: int = 1000, timeout: float | None = None,
                 ) -> tuple[Message, UsageStats]: ...

    async def acomplete(self, *, model: str, system_prompt: str, messages: list[Message],
                        tools: Sequence[ToolDefinition] | None = None,
                        temperature: float | None = None,
                        max_tokens: int = 1000, timeout: float | None = None,
                        ) -> tuple[Message, UsageStats]: ...

    def stream(self, *, model: str, system_prompt: str, messages: list[Message],
               tools: Sequence[ToolDefinition] | None = None,
               temperature: float | None = None,
               max_tokens: int = 1000, timeout: float | None = None,
               ) -> Iterator[StreamItem]: ...

    def astream(self, *, model: str, system_prompt: str, messages: list[Message],
                tools: Sequence[ToolDefinition] | None = None,
                temperature: float | None = None,
                max_tokens: int = 1000, timeout: float | None = None,
                ) -> AsyncIterator[StreamItem]: ...


# A duck-typed provider need implement only one of the four calls (see the bridging below);
# these one-method protocols let a type checker accept such a provider too.


class _Completes(Protocol):
    def complete(self, *, model: str, system_prompt: str, messages: list[Message],
                 tools: Sequence[ToolDefinition] | None = None,
                 temperature: float | None = None, max_tokens: int = 1000,
                 timeout: float | None = None) -> tuple[Message, UsageStats]: ...


class _CompletesAsync(Protocol):
    async def acomplete(self, *, model: str, system_prompt: str, messages: list[Message],
                        tools: Sequence[ToolDefinition] | None = None,
                        temperature: float | None = None, max_tokens: int = 1000,
                        timeout: float | None = None) -> tuple[Message, UsageStats]: ...


class _Streams(Protocol):
    def stream(self, *, model: str, system_prompt: str, messages: list[Message],
               tools: Sequence[ToolDefinition] | None = None,
               temperature: float | None = None, max_tokens: int = 1000,
               timeout: float | None = None) -> Iterator[StreamItem]: ...


class _StreamsAsync(Protocol):
    def astream(self, *, model: str, system_prompt: str, messages: list[Message],
                tools: Sequence[ToolDefinition] | None = None,
                temperature: float | None = None, max_tokens: int = 1000,
                timeout: float | None = None) -> AsyncIterator[StreamItem]: ...


#: What `Agent(provider=...)` and `FallbackProvider([...])` take: a full `Provider`, or a
#: duck-typed object with any one of its four calls, bridged to the others.
ProviderLike = Provider | _Completes | _CompletesAsync | _Streams | _StreamsAsync


class AsyncFirstProvider:
    """Base for providers written async-first: the sync methods drive the async ones on
    the library's event loop, so there is one implementation of each call."""

    name = "provider"
    supports_streaming = True
    supports_async = True
    default_model = ""

    async def acomplete(self, **kwargs: Any) -> tuple[Message, UsageStats]:
        raise NotImplementedError

    def astream(self, **kwargs: Any) -> AsyncIterator[StreamItem]:
        raise NotImplementedError

    def complete(self, **kwargs: Any) -> tuple[Message, UsageStats]:
        from .._sync import run_sync  # (here: only the sync calls need the library's loop)

        return run_sync(self.acomplete(**kwargs))

    def stream(self, **kwargs: Any) -> Iterator[StreamItem]:
        from .._sync import iterate_sync

        return iterate_sync(self.astream(**kwargs))


def provider_name(provider: object) -> str:
    return str(getattr(provider, "name", None) or type(provider).__name__)


def default_model(provider: object) -> str:
    return str(getattr(provider, "default_model", "") or "")


#: AsyncFirstProvider's acomplete/astream: placeholders for subclasses to fill.
_PLACEHOLDERS = {"acomplete": AsyncFirstProvider.acomplete, "astream": AsyncFirstProvider.astream}


def has_method(provider: object, method: str) -> bool:
    """True when `provider` really implements `method` (not a stub raising NotImplemented)."""
    impl = getattr(type(provider), method, None) or getattr(provider, method, None)
    if impl is None or not callable(impl):
        return False
    return impl is not _PLACEHOLDERS.get(method)


def stream_any(provider: object, **kwargs: Any) -> AsyncGenerator[StreamItem, None]:
    """Stream from any provider, bridging what it lacks.

    astream if it has one (handed back as it is when it is an async generator: no extra
    layer per item); else acomplete, its answer as one item; else complete run in a worker
    thread under the caller's contextvars, so the event loop never blocks.
    """
    if has_method(provider, "astream") and getattr(provider, "supports_streaming", True):
        stream = provider.astream(**kwargs)  # type: ignore[attr-defined]
        if isinstance(stream, AsyncGenerator):
            return stream
        return _closing(stream)
    kwargs.pop("tool_deltas", None)  # a stream option: a whole answer has no fragments
    return _bridged(provider, **kwargs)


async def _closing(stream: AsyncIterator[StreamItem]) -> AsyncGenerator[StreamItem, None]:
    """An async iterator as a generator, so that closing it closes the iterator too."""
    try:
        async for item in stream:
            yield item
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


async def _bridged(provider: object, **kwargs: Any) -> AsyncGenerator[StreamItem, None]:
    message, usage = await complete_any(provider, **kwargs)
    for item in message_as_stream(message):
        yield item
    if usage is not None:
        yield usage


#: The mark of an `acomplete` that checks its own result (see `exact_result`).
_EXACT_RESULT = "_selectools_exact_result"


def exact_result(acomplete: _F) -> _F:
    """Mark `acomplete` as returning exactly `(Message, UsageStats)` whatever it is given
    (it checks its result itself, as `HttpProvider.acomplete` does): `complete_any` hands a
    call straight to it. Only the function itself carries the mark: an override of it in
    a subclass, or an `acomplete` set on an instance, is called through the checks. (The
    mark is the function itself: a wrapper made with functools.wraps copies it, but is
    not the function it names.)"""
    setattr(acomplete, _EXACT_RESULT, acomplete)  # noqa: B010 (a function's attribute)
    return acomplete


def exact_acomplete(provider: object
                    ) -> Callable[..., Coroutine[Any, Any, tuple[Message, UsageStats]]] | None:
    """The provider's `acomplete` when `complete_any` hands a call straight to it (it
    checks its own result: see `exact_result`), else None.

    The marked function itself, a method of the provider's class (a wrapper made with
    functools.wraps carries the mark too, but is another function; a Mock's acomplete has
    every attribute, but no __func__). Its coroutine is the call, with no check of ours
    and no coroutine layer of ours that every await inside the call would pass through.
    Its answer is the one `complete_any`'s checks would pass on as it is (held by
    tests/test_complete_any.py)."""
    acomplete: Any = getattr(provider, "acomplete", None)
    marked = getattr(acomplete, _EXACT_RESULT, None)
    if marked is not None and marked is getattr(acomplete, "__func__", None):
        return acomplete  # type: ignore[no-any-return]
    return None


def complete_any(provider: object, **kwargs: Any
                 ) -> Coroutine[Any, Any, tuple[Message, UsageStats | None]]:
    """A whole answer from any provider: acomplete, else complete in a worker thread (else
    its stream, collected). Awaited by the caller."""
    acomplete = exact_acomplete(provider)
    if acomplete is not None:
        return acomplete(**kwargs)
    return _complete_any(provider, kwargs)


async def _complete_any(provider: object, kwargs: dict[str, Any]
                        ) -> tuple[Message, UsageStats | None]:
    if has_method(provider, "acomplete"):
        result = await provider.acomplete(**kwargs)  # type: ignore[attr-defined]
    elif has_method(provider, "complete"):
        call = functools.partial(provider.complete, **kwargs)  # type: ignore[attr-defined]
        context = contextvars.copy_context()
        import asyncio  # here, not at the top: it is most of `import selectools`'s cost

        from .._threads import WORKERS

        result = await asyncio.get_running_loop().run_in_executor(WORKERS, context.run, call)
    elif has_method(provider, "astream"):
        kwargs.pop("tool_deltas", None)
        return await collect_stream(provider.astream(**kwargs))  # type: ignore[attr-defined]
    else:
        raise TypeError(
            f"{provider_name(provider)} implements none of astream, acomplete, complete"
        )
    return exact_completion(result)


def exact_completion(result: Any) -> tuple[Message, UsageStats | None]:
    """`result` when it is exactly what our own providers return, a tuple `(Message,
    UsageStats)` of exactly those types, as it is; any other shape through
    `unpack_completion`'s checks (a subclass too)."""
    if type(result) is tuple and len(result) == 2 and type(result[0]) is Message \
            and type(result[1]) is UsageStats:
        return result
    return unpack_completion(result)


def unpack_completion(result: Any) -> tuple[Message, UsageStats | None]:
    """Accept `(Message, UsageStats)`, a bare Message, or the reference's `[Message]`."""
    if isinstance(result, Message):
        return result, None
    if isinstance(result, (tuple, list)) and result and isinstance(result[0], Message):
        usage = result[1] if len(result) > 1 and isinstance(result[1], UsageStats) else None
        return result[0], usage
    raise TypeError(f"a provider returned {type(result).__name__}, expected (Message, UsageStats)")


def message_as_stream(message: Message) -> list[StreamItem]:
    items: list[StreamItem] = []
    for part in message.reasoning or ():
        if part.text:
            items.append(ReasoningDelta(part.text))
        items.append(part)
    if message.content:
        items.append(message.content)
    items.extend(message.tool_calls or ())
    if message.stop_reason is not None:
        items.append(TurnEnd(message.stop_reason))
    return items


async def collect_stream(stream: AsyncIterator[StreamItem]) -> tuple[Message, UsageStats | None]:
    """Gather a stream into one assistant message."""
    text: list[str] = []
    calls: list[ToolCall] = []
    reasoning: list[ReasoningPart] = []
    usage: UsageStats | None = None
    end: TurnEnd | None = None
    async for item in stream:
        if isinstance(item, str):
            text.append(item)
        elif isinstance(item, ToolCall):
            calls.append(item)
        elif isinstance(item, UsageStats):
            usage = item
        elif isinstance(item, TurnEnd):
            end = item
        elif isinstance(item, ReasoningPart):
            reasoning.append(item)
        elif isinstance(item, ProviderEvent) and item.discard_partial:
            text.clear()
            calls.clear()
            reasoning.clear()
            end = None
    message = Message(role=Role.ASSISTANT, content="".join(text), tool_calls=calls or None,
                      stop_reason=end.reason if end is not None else None,
                      reasoning=reasoning or None)
    return message, usage
