"""`HttpProvider`: any wire protocol (a `WireProtocol` value) glued to HTTP.

The protocol module supplies pure parts (request builder, tool encoder, response parser,
stream decoder, error mapper, auth headers, defaults); this class does the rest once: key
and base URL from the arguments or the environment, model resolution, the pooled
transport, retries, timeouts, closing, the sync methods (through `AsyncFirstProvider`), and
the boundary every call passes on its way out:

- every exception leaving an attempt of `acomplete`/`astream` (so before the retry loop
  logs it or hands it to `on_retry`) has the key removed from its message and args, and
  is not chained to an exception that carries it;
- an answer of the wrong shape that a protocol's checks did not name still leaves as a
  `MalformedResponseError`, never as an AttributeError, KeyError, TypeError, ValueError
  or RecursionError (a FallbackProvider moves on from it).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._dataclass import new_tuple
from .._json import RawJson
from .._json import encode as encode_json
from ..types import Message, OutputFormat, ToolDefinition, check_messages
from ..usage import UsageStats
from ._http import (
    MAX_EVENT_BYTES,
    MAX_RESPONSE_BYTES,
    MAX_STREAM_BYTES,
    POOL_SIZE,
    HttpTransport,
    split_userinfo,
)
from ._retry import (
    Empty,
    OnRetry,
    RetryPolicy,
    call_with_retries,
    close_stream,
    first_item,
)
from ._status import body_snippet
from .base import (
    CALL_OPTIONS,
    AsyncFirstProvider,
    StreamItem,
    exact_completion,
    exact_result,
    with_instructions,
)
from .errors import AuthenticationError, MalformedResponseError, MalformedStreamError, ProviderError
from .protocol import ModelRequest, WireProtocol, WireRequest, takes_tool_deltas

if TYPE_CHECKING:
    from typing import Self

#: What wrong-shaped data makes Python raise; the boundary turns these into typed errors.
_SHAPE_ERRORS = (AttributeError, KeyError, IndexError, TypeError, ValueError, RecursionError)
#: What an attempt may fail with; each leaves it through `HttpProvider._safe`.
_FAILURES = (ProviderError, *_SHAPE_ERRORS)
#: `call_options` by (reasoning setting, argument fragments), see the property.
_OPTIONS = {(True, True): CALL_OPTIONS, (False, True): CALL_OPTIONS - {"reasoning"},
            (True, False): CALL_OPTIONS - {"tool_deltas"},
            (False, False): CALL_OPTIONS - {"reasoning", "tool_deltas"}}


class HttpProvider(AsyncFirstProvider):
    """A provider speaking `protocol` over HTTP.

    The key comes from `api_key`, else the protocol's environment variables; the server
    from `base_url`, else its environment variables, else its hosted endpoint. The hosted
    endpoint needs a key: without one, `AuthenticationError` is raised here, before any
    call; a custom `base_url` (a local or compatible server) needs none.

    `name` labels the provider in logs, errors (`exc.provider`), a FallbackProvider's
    messages and `usage.provider`; it defaults to the protocol's name ("openai" for every
    OpenAI-compatible server, so naming them tells them apart).

    `max_response_bytes` bounds a whole answer (32 MiB), `max_event_bytes` one event of a
    stream (8 MiB), `max_stream_bytes` a whole stream (256 MiB); None is no limit. Past
    any, the rest is not read, the connection is closed and `ResponseTooLargeError` raised
    (not retried; a FallbackProvider moves on): a broken or hostile server cannot make a
    call hold more than that.

    `max_connections` (100) is how many calls are in flight at once, per event loop; the
    others wait for a connection, in the order their runs began (see selectools._seniority),
    and their `timeout` starts once they have one.
    """

    def __init__(self, protocol: WireProtocol, *, api_key: str | None = None,
                 base_url: str | None = None, model: str | None = None,
                 timeout: float | None = 60.0, max_retries: int = 2,
                 headers: Mapping[str, str] | None = None, name: str | None = None,
                 max_response_bytes: int | None = MAX_RESPONSE_BYTES,
                 max_event_bytes: int | None = MAX_EVENT_BYTES,
                 max_stream_bytes: int | None = MAX_STREAM_BYTES,
                 max_connections: int = POOL_SIZE) -> None:
        self.protocol = protocol
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        #: The user's label, put on the errors and usage this provider reports.
        self._label = name
        # A subclass's own `name` and `default_model` (class attributes) stand.
        if name is not None:
            self.name = name
        elif type(self).name == AsyncFirstProvider.name:
            self.name = protocol.name
        if model or not type(self).default_model:
            self.default_model = model or protocol.default_model
        api_key = api_key or _first_env(protocol.api_key_env)
        base_url = base_url or _first_env(protocol.base_url_env) or protocol.default_base_url
        self._hosted = protocol.is_hosted(base_url)
        if self._hosted and protocol.hosted_needs_key and not api_key:
            where = " or ".join(protocol.api_key_env)
            shown = split_userinfo(base_url)[0]
            raise AuthenticationError(
                f"no API key for {shown}: pass api_key=...{f' or set {where}' if where else ''}"
                " (a local or compatible server at another base_url needs none)",
                provider=protocol.name)
        self._timeout = timeout
        self._retry = RetryPolicy(max_retries=max_retries)
        self._tool_definitions = ToolDefinitions()
        #: Whether the protocol's decoder takes `tool_deltas` (a decoder of a user's own
        #: may not: it is then never passed, and the agent shows each call whole).
        self._deltas = takes_tool_deltas(protocol.decode_stream)
        self._transport = HttpTransport(
            provider=protocol.name,
            base_url=base_url,
            headers={**(protocol.auth_headers(api_key) if api_key else {}), **(headers or {})},
            timeout=timeout,
            error_from_response=protocol.error_from_response,
            max_response_bytes=max_response_bytes,
            max_event_bytes=max_event_bytes,
            max_stream_bytes=max_stream_bytes,
            max_connections=max_connections,
        )

    # -- the provider protocol -------------------------------------------------------------

    @exact_result
    async def acomplete(  # type: ignore[override]
        self, *, model: str | None = None, system_prompt: str = "", messages: list[Message],
        tools: Sequence[ToolDefinition] | None = None, temperature: float | None = None,
        max_tokens: int = 1000, timeout: float | None = None,
        output: OutputFormat | None = None, reasoning: str | int | None = None,
    ) -> tuple[Message, UsageStats]:
        model = model or self.default_model
        request = self.build_request(model=model, system_prompt=system_prompt,
                                     messages=messages, tools=tools, temperature=temperature,
                                     max_tokens=max_tokens, stream=False, output=output,
                                     reasoning=reasoning)
        limit = self._timeout if timeout is None else timeout
        # The first attempt made here, as `_attempt` makes each retry: the retry loop's and
        # `_attempt`'s coroutine layers only for a call that needs a retry (every await of
        # a call passes through each layer).
        failure: BaseException | None = None
        try:
            data = await self._transport.post_json(request.path, request.body, timeout=limit,
                                                   params=request.params)
            message, usage = self.protocol.parse_response(data, model)
        except _FAILURES as exc:
            failure = exc
        if failure is not None:  # (outside the handler: the last error not chained to it)
            message, usage = await call_with_retries(
                functools.partial(self._attempt, request, model, limit), self._retry,
                failed=self._safe(failure, stream=False))
        elif self._label is not None:
            usage = self._labelled(usage)
        # Exactly our types from every protocol of ours (see `exact_result`).
        if type(message) is Message and type(usage) is UsageStats:
            return message, usage
        # A protocol of one's own returned other types: checked as complete_any checks any
        # provider's answer.
        return exact_completion((message, usage))  # type: ignore[return-value]

    async def _attempt(self, request: WireRequest, model: str, limit: float | None
                       ) -> tuple[Message, UsageStats]:
        """One attempt of a whole call after the first (which `acomplete` makes itself, the
        same way); parsed in each attempt: an error reported inside a 200 answer is retried
        too."""
        try:
            data = await self._transport.post_json(request.path, request.body, timeout=limit,
                                                   params=request.params)
            message, usage = self.protocol.parse_response(data, model)
            return message, usage if self._label is None else self._labelled(usage)
        except _FAILURES as exc:
            failure = exc
        # Cleaned here, in the attempt: the retry loop logs it and hands it to on_retry.
        raise self._safe(failure, stream=False)  # (outside the handler: not chained to it)

    async def astream(  # type: ignore[override]
        self, *, model: str | None = None, system_prompt: str = "", messages: list[Message],
        tools: Sequence[ToolDefinition] | None = None, temperature: float | None = None,
        max_tokens: int = 1000, timeout: float | None = None,
        output: OutputFormat | None = None, reasoning: str | int | None = None,
        tool_deltas: bool = False,
    ) -> AsyncGenerator[StreamItem, None]:
        model = model or self.default_model
        request = self.build_request(model=model, system_prompt=system_prompt,
                                     messages=messages, tools=tools, temperature=temperature,
                                     max_tokens=max_tokens, stream=True, output=output,
                                     reasoning=reasoning)
        limit = self._timeout if timeout is None else timeout
        opened: list[AsyncIterator[Any]] = []
        # (a method, not a closure: once the stream is open, the request, the wire form of
        # every message sent, is let go of, not held for as long as the answer streams)
        attempt = functools.partial(self._open_stream, request, model, limit,
                                    tool_deltas and self._deltas, opened)
        del request

        # Retries are settled by the first item; the rest comes straight from the decoder,
        # one generator layer fewer per streamed token.
        stream: AsyncIterator[StreamItem] | None = None
        failure: BaseException | None = None
        try:
            opened_stream, first = await call_with_retries(attempt, self._retry)
            del attempt  # (and with it the request: no attempt follows the first item)
            stream = opened_stream
            if self._label is not None:  # (a test per item only for a named provider)
                # Closed first below; the decoder it reads is closed after it.
                stream = self._labelled_items(opened_stream)
                opened.insert(0, opened_stream)
                first = self._labelled(first) if isinstance(first, UsageStats) else first
            if not isinstance(first, Empty):
                yield first
                async for item in stream:
                    yield item
        except _FAILURES as exc:
            failure = exc
        finally:
            if stream is not None:
                await close_stream(stream)
            # The HTTP responses too, now: a consumer that stopped early must not leave its
            # connection to the garbage collector (an unread body closes it, as it should).
            for events in opened:
                await close_stream(events)
        if failure is not None:
            raise self._safe(failure, stream=True)  # (outside the handler: not chained to it)

    async def _open_stream(self, request: WireRequest, model: str, limit: float | None,
                           tool_deltas: bool, opened: list[AsyncIterator[Any]],
                           ) -> tuple[AsyncIterator[StreamItem], StreamItem | Empty]:
        """One attempt of a stream: the decoder's stream opened and its first item (or
        EMPTY); every event stream opened is put in `opened`, for `astream` to close."""
        protocol = self.protocol
        events = self._transport.post_events(request.path, request.body,
                                             framing=protocol.framing, timeout=limit,
                                             params=request.params)
        opened.append(events)
        # (the keyword only when set, and only to a decoder that takes it)
        stream = protocol.open_stream(events, model, tool_deltas=tool_deltas)
        try:
            return stream, await first_item(stream)
        except _FAILURES as exc:
            failure = exc
        # Cleaned here, in the attempt: the retry loop logs it and hands it to on_retry.
        raise self._safe(failure, stream=True)  # (outside the handler: not chained to it)

    @property
    def call_options(self) -> frozenset[str]:
        """The agent's options (see base.CALL_OPTIONS) these calls take: a typed answer
        always (constrained natively where the protocol can, else asked for in the system
        prompt), deltas of tool calls where the protocol's decoder makes them, and
        reasoning where the protocol has a setting."""
        return _OPTIONS[self.protocol.reasoning, self._deltas]

    def build_request(self, *, model: str, system_prompt: str, messages: list[Message],
                      tools: Sequence[ToolDefinition] | None, temperature: float | None,
                      max_tokens: int, stream: bool, output: OutputFormat | None = None,
                      reasoning: str | int | None = None) -> WireRequest:
        """The request one call sends (bad input refused here, before any network)."""
        if type(model) is not str and not isinstance(model, str):
            # (the protocols may read the name only for some settings: checked here, for all)
            raise TypeError(f"model must be a str (the model's name), got "
                            f"{type(model).__name__}: {model!r}")
        protocol = self.protocol
        if output is not None and not protocol.native_output:
            system_prompt, output = with_instructions(system_prompt, output), None
        if reasoning is not None and not protocol.reasoning:
            raise ValueError(f"{self.name} takes no reasoning setting (the {protocol.name} "
                             "protocol has none); leave AgentConfig.reasoning unset")
        # (every field, made by tuple.__new__ itself: a NamedTuple's own __new__ is a
        # Python function of its own; tests/test_s9_provider_wire.py holds the two equal)
        request = protocol.build_request(new_tuple(ModelRequest, (
            model, system_prompt, check_messages(messages), temperature, max_tokens, stream,
            self._hosted, output, reasoning, bool(tools))))
        if tools:
            request.body["tools"] = self._tool_definitions.encoded(tools, protocol.encode_tools)
        return request

    def _safe(self, exc: BaseException, *, stream: bool) -> ProviderError:
        """`exc` as the typed error that leaves a call: a shape error the protocol's checks
        did not name becomes a malformed-answer error, and the key is removed from its text
        and from its chain (see module doc). Applied inside each attempt, so that the retry
        loop's log and `on_retry` see it clean too; applying it twice changes nothing."""
        if not isinstance(exc, ProviderError):
            exc = _unexpected_shape(exc, stream=stream)
        if self._label is not None:
            exc.provider = self._label
        redact = self._transport.redact
        # Every text attribute: a server may echo the key in its error type or request id.
        for name, text in vars(exc).items():
            if type(text) is str:
                setattr(exc, name, redact(text))
        exc.reword(provider=exc.provider or self.name)
        exc.args = tuple(redact(arg) if type(arg) is str else arg for arg in exc.args)
        notes = getattr(exc, "__notes__", None)
        if type(notes) is list:
            exc.__notes__ = [redact(note) if type(note) is str else note for note in notes]
        if _chain_mentions(exc, redact):
            exc.__cause__ = exc.__context__ = None
            exc.__suppress_context__ = True
        return exc

    def _labelled(self, usage: UsageStats) -> UsageStats:
        return dataclasses.replace(usage, provider=self.name)

    async def _labelled_items(self, items: AsyncIterator[StreamItem]) -> AsyncIterator[StreamItem]:
        async for item in items:
            yield self._labelled(item) if isinstance(item, UsageStats) else item

    # -- options and lifetime --------------------------------------------------------------

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried (observers are told it with each
        retry)."""
        return self._retry.max_retries

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def max_response_bytes(self) -> int | None:
        """The longest whole answer read, in bytes (None: no limit)."""
        return self._transport.max_response_bytes

    @property
    def max_event_bytes(self) -> int | None:
        """The longest stream event read, in bytes (None: no limit)."""
        return self._transport.max_event_bytes

    @property
    def max_stream_bytes(self) -> int | None:
        """The most a whole stream may bring, in bytes (None: no limit)."""
        return self._transport.max_stream_bytes

    @property
    def max_connections(self) -> int:
        """How many of its calls are in flight at once, per event loop."""
        return self._transport.pool_size

    def with_options(self, *, max_retries: int | None = None, timeout: float | None = None,
                     on_retry: OnRetry | None = None) -> Self:
        """A copy with other retry or timeout settings that shares this one's connection pool."""
        clone = copy.copy(self)
        changes: dict[str, Any] = {}
        if max_retries is not None:
            changes["max_retries"] = max_retries
        if on_retry is not None:
            changes["on_retry"] = on_retry
        clone._retry = dataclasses.replace(self._retry, **changes)
        if timeout is not None:
            clone._timeout = timeout
        return clone

    async def aclose(self) -> None:
        """Close the connection pool. The provider reopens one if it is used again."""
        await self._transport.aclose()

    def close(self) -> None:
        """Sync `aclose`, for a provider used through the sync methods."""
        from .._sync import run_sync  # (here: only the sync entry points need it)

        run_sync(self.aclose())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        # Never the key: it lives only inside the transport's headers.
        label = f", name={self._label!r}" if self._label is not None else ""
        return (f"{type(self).__name__}(model={self.default_model!r}, "
                f"base_url={self._transport.base_url!r}{label})")


def _first_env(names: Sequence[str]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _unexpected_shape(exc: BaseException, *, stream: bool) -> MalformedResponseError:
    """The boundary net: a shape the protocol's own checks did not foresee."""
    kind = MalformedStreamError if stream else MalformedResponseError
    what = "stream event" if stream else "answer"
    return kind(f"unexpected {what} shape ({type(exc).__name__}: {body_snippet(str(exc))})",
                should_retry=False)


def _chain_mentions(exc: BaseException, redact: Any) -> bool:
    """Whether an exception that `exc` is chained to carries a secret in its text."""
    seen: set[int] = set()
    link = exc.__cause__ or exc.__context__
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        # Its attributes too: a JSONDecodeError keeps the whole text it could not read.
        for text in (str(link), repr(link), *map(str, link.args), *_texts_in(link)):
            if redact(text) != text:
                return True
        link = link.__cause__ or link.__context__
    return False


def _texts_in(exc: BaseException) -> list[str]:
    """The text attributes of an exception (`message`, `error_type`, a decoder's `doc`...)."""
    return [value for value in vars(exc).values() if type(value) is str]


class ToolDefinitions:
    """The encoded `tools` of request bodies. Tool schemas are often most of a request's
    bytes, and the same on every call: they are encoded once per tool list, not per call.

    Nothing is taken on trust: the definitions given for this call are compared with a
    private deep copy of those encoded (a protocol's `encode_tools` is a pure function of
    them), so a tool renamed, re-described or with its schema edited in place is encoded
    again. The comparison is Python's `==`, for which 1, 1.0 and True are equal and key
    order does not count: a schema edited only in such a way keeps the bytes sent before.
    Comparing the definitions, not their encoded form, spares building that form per call
    (an agent hands the same definitions every call, so most of the comparison is of
    strings that are the same objects).
    """

    _SIZE = 8  # tool lists kept; an agent has one, a provider shared by agents a few

    def __init__(self) -> None:
        self._known: dict[tuple[str, ...], tuple[list[ToolDefinition], RawJson]] = {}
        #: The last list encoded, tried first: an agent sends the same tools every call.
        self._last: tuple[list[ToolDefinition], RawJson] | None = None

    def encoded(self, tools: Sequence[ToolDefinition],
                encode_tools: Callable[[Sequence[ToolDefinition]], Any]) -> RawJson:
        given = tools if type(tools) is list else list(tools)
        last = self._last
        if last is not None and last[0] == given:
            return last[1]
        # Keyed by the tools' names, so a provider shared by agents keeps each one's list.
        # What is reused is decided by the contents, so a key shared by other tools is no risk.
        key = tuple(tool.name for tool in given)
        known = self._known.get(key)
        if known is None or known[0] != given:
            # A private copy: the caller's schemas may be edited in place later.
            known = (copy.deepcopy(given), RawJson(encode_json(encode_tools(given))))
            if len(self._known) >= self._SIZE:
                self._known.clear()  # (one call, so safe from threads sharing the provider)
            self._known[key] = known
        self._last = known
        return known[1]
