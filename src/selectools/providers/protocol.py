"""A wire protocol described once, as a typed value: what `HttpProvider` needs to speak it.

Each protocol module (openai, anthropic, gemini, ollama) ends with one `PROTOCOL =
WireProtocol(...)` built from its pure functions; `HttpProvider` glues any description to
HTTP, and the provider registry (`registry.py`) lists them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast
from urllib.parse import urlsplit

if TYPE_CHECKING:  # (the transport module loads asyncio; describing a protocol needs none)
    from ..types import Message, OutputFormat, ToolDefinition
    from ..usage import UsageStats
    from ._http import Framing
    from .base import StreamItem
    from .errors import ProviderError


class ModelRequest(NamedTuple):
    """One model call, as the agent asks for it. (NamedTuples, this and WireRequest: one
    of each is made per call, and a frozen dataclass costs a microsecond more to make.)"""

    model: str
    system_prompt: str
    messages: Sequence[Message]
    temperature: float | None
    max_tokens: int
    stream: bool
    #: Whether the call goes to the protocol's own hosted endpoint (api.openai.com, ...),
    #: for the rare detail that differs there.
    hosted: bool = False
    #: A typed answer to constrain the output to natively (only for a protocol with
    #: `native_output`; the builder adds `output.instructions` to the system prompt on a
    #: request where it cannot constrain).
    output: OutputFormat | None = None
    #: How much to reason: an effort ("low", "medium", "high") or a token budget (only
    #: for a protocol with `reasoning`); None sends nothing (the model's own default).
    reasoning: str | int | None = None
    #: Whether the provider adds tools to this request (the body is built without them:
    #: they are encoded once per tool list), for what a protocol decides by them.
    has_tools: bool = False


class WireRequest(NamedTuple):
    """What to POST: the path below the base URL, the JSON body (without `tools`, which
    the provider adds, encoded once per tool list) and query parameters."""

    path: str
    body: dict[str, Any]
    params: dict[str, str] | None = None


def bearer_auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def key_header(name: str) -> Callable[[str], dict[str, str]]:
    """Auth that sends the key as it is in header `name` (never in the URL, which error
    messages and logs quote)."""
    def auth(api_key: str) -> dict[str, str]:
        return {name: api_key}
    return auth


class StreamDecoder(Protocol):
    """Framed events (or one WholeJson) as text deltas, ToolCalls, reasoning, one TurnEnd
    and usage; with `tool_deltas`, a ToolCallDelta for each fragment of a call's arguments
    as it arrives (a protocol that sends calls whole may leave those to the agent)."""

    def __call__(self, events: AsyncIterator[Any], model: str, /, *,
                 tool_deltas: bool = False) -> AsyncIterator[StreamItem]: ...


#: A decoder written before `tool_deltas` existed (a user's own protocol) still works: the
#: provider never passes it the keyword, and the agent shows each call whole.
PlainStreamDecoder = Callable[["AsyncIterator[Any]", str], "AsyncIterator[StreamItem]"]


@dataclass(frozen=True)
class WireProtocol:
    """Everything protocol-specific about a JSON-over-HTTP model API."""

    name: str
    framing: Framing
    #: The request of one call, without tools.
    build_request: Callable[[ModelRequest], WireRequest]
    #: Tool definitions as the protocol's `tools` value (often most of a request's bytes).
    #: A pure function of the definitions: the provider encodes a tool list once and sends
    #: those bytes again while the definitions it is given stay equal.
    encode_tools: Callable[[Sequence[ToolDefinition]], Any]
    #: A whole answer as our Message (with its stop_reason) and its usage.
    parse_response: Callable[[Any, str], tuple[Message, UsageStats]]
    decode_stream: StreamDecoder | PlainStreamDecoder
    #: A non-2xx answer (status, headers, body) as a typed error.
    error_from_response: Callable[[int, Mapping[str, str], bytes], ProviderError]
    default_model: str
    default_base_url: str
    #: Environment variables that may hold the key / the base URL, first found wins.
    api_key_env: tuple[str, ...] = ()
    base_url_env: tuple[str, ...] = ()
    #: The headers that carry the key.
    auth_headers: Callable[[str], dict[str, str]] = bearer_auth
    #: Whether the hosted endpoint refuses calls without a key (custom base URLs never
    #: need one: a local server usually takes none).
    hosted_needs_key: bool = True
    #: Whether `build_request` reads `ModelRequest.output` (native constrained output) and
    #: `ModelRequest.reasoning`.
    native_output: bool = False
    reasoning: bool = False

    def is_hosted(self, base_url: str) -> bool:
        return urlsplit(base_url).hostname == urlsplit(self.default_base_url).hostname

    def open_stream(self, events: AsyncIterator[Any], model: str, *,
                    tool_deltas: bool = False) -> AsyncIterator[StreamItem]:
        """`decode_stream` over `events`, passed `tool_deltas` only when True (the caller
        knows the decoder takes it: see `takes_tool_deltas`)."""
        if tool_deltas:
            return cast(StreamDecoder, self.decode_stream)(events, model, tool_deltas=True)
        return self.decode_stream(events, model)


def takes_tool_deltas(decode_stream: Any) -> bool:
    """Whether a stream decoder accepts the `tool_deltas` keyword (by name or **kwargs)."""
    import inspect  # (loaded by then: the transport's retry loop imports it)

    try:
        parameters = inspect.signature(decode_stream).parameters.values()
    except (TypeError, ValueError):  # a callable Python cannot introspect: never passed it
        return False
    return any(parameter.name == "tool_deltas" and parameter.kind is not parameter.POSITIONAL_ONLY
               or parameter.kind is parameter.VAR_KEYWORD for parameter in parameters)
