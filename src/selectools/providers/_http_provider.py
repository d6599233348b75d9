"""`HttpProvider`: what every HTTP provider shares, with one hook per protocol detail.

A protocol module subclasses it and fills in four hooks: `_build_request`, `_parse_response`,
`_decode_stream` and `_error_from_response` (plus `_framing`, and `_auth_headers` when the key
does not travel as `Authorization: Bearer`). This class does the rest once: model
resolution, the pooled transport, retries, timeouts, closing, and the sync methods (through
`AsyncFirstProvider`, which drives these async ones on the library's event loop).
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._json import RawJson
from .._json import encode as encode_json
from .._json import loads as loads_json
from .._sync import run_sync
from ..types import RAW_ARGUMENTS_KEY as RAW_ARGUMENTS_KEY
from ..types import Message, ToolCall, check_messages
from ..usage import UsageStats
from ._http import Framing, HttpTransport
from ._retry import (
    Empty,
    OnRetry,
    RetryPolicy,
    call_with_retries,
    close_stream,
    first_item_with_retries,
)
from .base import AsyncFirstProvider, StreamItem
from .errors import ProviderError

if TYPE_CHECKING:
    from typing import Self

    from ..tools import Tool


class HttpProvider(AsyncFirstProvider):
    """Base of the providers that speak a JSON-over-HTTP protocol."""

    #: How the protocol frames a streamed answer.
    _framing: Framing = "sse"

    def __init__(self, *, api_key: str | None, base_url: str, timeout: float | None = 60.0,
                 max_retries: int = 2, model: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        if model:
            self.default_model = model
        self._timeout = timeout
        self._retry = RetryPolicy(max_retries=max_retries)
        self._tool_definitions = ToolDefinitions()
        self._transport = HttpTransport(
            provider=self.name,
            base_url=base_url,
            headers={**self._auth_headers(api_key), **(headers or {})},
            timeout=timeout,
            error_from_response=self._error_from_response,
        )

    # -- hooks a protocol fills in ---------------------------------------------------------

    def _auth_headers(self, api_key: str | None) -> dict[str, str]:
        """The headers that carry the key; override for protocols other than Bearer."""
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _build_request(self, *, model: str, system_prompt: str, messages: list[Message],
                       tools: Sequence[Tool] | None, temperature: float, max_tokens: int,
                       stream: bool) -> tuple[str, dict[str, Any], dict[str, str] | None]:
        """(URL path, JSON body, query parameters) for one call."""
        raise NotImplementedError

    # The other three are the protocol module's pure functions, set as staticmethods.

    @staticmethod
    def _parse_response(data: Any, model: str) -> tuple[Message, UsageStats]:
        raise NotImplementedError

    @staticmethod
    def _decode_stream(events: AsyncIterator[Any], model: str) -> AsyncIterator[StreamItem]:
        raise NotImplementedError

    @staticmethod
    def _error_from_response(status: int, headers: Mapping[str, str],
                             body: bytes) -> ProviderError:
        raise NotImplementedError

    # -- the provider protocol -------------------------------------------------------------

    async def acomplete(  # type: ignore[override]
        self, *, model: str | None = None, system_prompt: str = "", messages: list[Message],
        tools: Sequence[Tool] | None = None, temperature: float = 0.0, max_tokens: int = 1000,
        timeout: float | None = None,
    ) -> tuple[Message, UsageStats]:
        model = self._model(model)
        path, body, params = self._request(
            model=model, system_prompt=system_prompt, messages=messages, tools=tools,
            temperature=temperature, max_tokens=max_tokens, stream=False)
        limit = self._call_timeout(timeout)

        async def attempt() -> tuple[Message, UsageStats]:
            # Parsed in each attempt: an error reported inside a 200 answer is retried too.
            data = await self._transport.post_json(path, body, timeout=limit, params=params)
            return self._parse_response(data, model)

        return await call_with_retries(attempt, self._retry)

    async def astream(  # type: ignore[override]
        self, *, model: str | None = None, system_prompt: str = "", messages: list[Message],
        tools: Sequence[Tool] | None = None, temperature: float = 0.0, max_tokens: int = 1000,
        timeout: float | None = None,
    ) -> AsyncIterator[StreamItem]:
        model = self._model(model)
        path, body, params = self._request(
            model=model, system_prompt=system_prompt, messages=messages, tools=tools,
            temperature=temperature, max_tokens=max_tokens, stream=True)
        limit = self._call_timeout(timeout)

        opened: list[AsyncIterator[Any]] = []

        def open_stream() -> AsyncIterator[StreamItem]:
            events = self._transport.post_events(path, body, framing=self._framing,
                                                 timeout=limit, params=params)
            opened.append(events)
            return self._decode_stream(events, model)

        # Retries are settled by the first item; the rest comes straight from the decoder,
        # one generator layer fewer per streamed token.
        stream: AsyncIterator[StreamItem] | None = None
        try:
            stream, first = await first_item_with_retries(open_stream, self._retry)
            if not isinstance(first, Empty):
                yield first
                async for item in stream:
                    yield item
        finally:
            if stream is not None:
                await close_stream(stream)
            # The HTTP responses too, now: a consumer that stopped early must not leave its
            # connection to the garbage collector (an unread body closes it, as it should).
            for events in opened:
                await close_stream(events)

    def _request(self, *, model: str, system_prompt: str, messages: list[Message],
                 tools: Sequence[Tool] | None, temperature: float, max_tokens: int,
                 stream: bool) -> tuple[str, dict[str, Any], dict[str, str] | None]:
        path, body, params = self._build_request(
            model=model, system_prompt=system_prompt, messages=check_messages(messages),
            tools=tools, temperature=temperature, max_tokens=max_tokens, stream=stream)
        if tools and type(body) is dict and "tools" in body:
            body["tools"] = self._tool_definitions.encoded(tools, body["tools"])
        return path, body, params

    # -- options and lifetime --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._retry

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
        run_sync(self.aclose())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        # Never the key: it lives only inside the transport's headers.
        return (f"{type(self).__name__}(model={self.default_model!r}, "
                f"base_url={self._transport.base_url!r})")

    def _model(self, model: str | None) -> str:
        return model or self.default_model

    def _call_timeout(self, timeout: float | None) -> float | None:
        return self._timeout if timeout is None else timeout


class ToolDefinitions:
    """The encoded `tools` of request bodies. Tool schemas are often most of a request's
    bytes, and the same on every call: they are encoded once per tool list, not per call.

    Nothing is taken on trust: the definitions built for this call are compared with those
    encoded, as decoded back from the bytes sent (comparing costs about a twentieth of
    encoding), so a tool renamed, re-described or with its schema edited in place is encoded
    again. The comparison is Python's `==`, for which 1, 1.0 and True are equal and key order
    does not count: a schema edited only in such a way keeps the bytes sent before.
    """

    _SIZE = 8  # tool lists kept; an agent has one, a provider shared by agents a few

    def __init__(self) -> None:
        self._known: dict[tuple[int, ...], tuple[Any, RawJson]] = {}

    def encoded(self, tools: Sequence[Tool], definitions: Any) -> RawJson:
        # Keyed by identity (a tool need not be hashable); an id reused by a new tool after
        # the old one is gone is no risk, since what is reused is decided by the contents.
        key = tuple(map(id, tools))
        known = self._known.get(key)
        if known is not None and known[0] == definitions:
            return known[1]
        raw = RawJson(encode_json(definitions))
        if len(self._known) >= self._SIZE:
            self._known.clear()  # (one call, so safe from threads sharing the provider)
        self._known[key] = (loads_json(raw), raw)  # a private copy, 3x cheaper than deepcopy
        return raw


# -- shared by the protocol modules ---------------------------------------------------------


def parse_tool_arguments(text: str | None) -> dict[str, Any]:
    """A tool call's arguments text as a dict: `{}` when empty, else the JSON object, else
    `{RAW_ARGUMENTS_KEY: text}`: a call whose arguments are malformed, cut off by max_tokens
    or not an object is still yielded, nothing is lost, and the agent answers the model with
    an error it can correct."""
    if text is None or not text.strip():
        return {}
    try:
        value = loads_json(text)
    except ValueError:
        return {RAW_ARGUMENTS_KEY: text}
    return value if isinstance(value, dict) else {RAW_ARGUMENTS_KEY: text}


def tool_call_from_json(name: str, arguments: str | None, call_id: str) -> ToolCall:
    """A ToolCall whose arguments came as JSON text (see parse_tool_arguments); the text is
    kept to be sent back as it came on the next turn."""
    call = ToolCall(tool_name=name, parameters=parse_tool_arguments(arguments), id=call_id)
    if arguments and RAW_ARGUMENTS_KEY not in call.parameters:
        call.keep_json_text(arguments)
    return call


def make_call_id() -> str:
    """An id for a tool call whose provider gave none; unique, so results link to calls."""
    return f"call_{uuid.uuid4().hex[:24]}"
