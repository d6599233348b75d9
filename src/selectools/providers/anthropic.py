"""Anthropic's Messages API (`POST /v1/messages`), spoken directly over HTTP.

The three pure parts, tested on recorded transcripts without a network:

- `build_request_body` turns our messages into Anthropic's: the system prompt goes in the
  top-level `system` field, tool calls become `tool_use` blocks and tool results become
  `tool_result` blocks linked by id. Anthropic wants strictly alternating roles and all the
  results of one turn's parallel calls in ONE user message, so consecutive messages that map
  to the same role are merged into one message with several blocks.
- `parse_response` reads a whole response into `(Message, UsageStats)`.
- `decode_stream` turns the server-sent events of a streamed response into text deltas
  (yielded the moment they arrive), complete `ToolCall`s (at each `content_block_stop`) and
  one `UsageStats` at the end. Block types we do not know (thinking, server tools, ...) are
  skipped. An `event: error` inside the stream raises the matching typed `ProviderError`.

Cut-off tool calls: when generation stops (usually at `max_tokens`) in the middle of a
`tool_use` block, its accumulated JSON input is incomplete. Such a call is DROPPED: it is
never yielded (a tool must not run on arguments the model did not finish), the text before
it is kept, and a warning naming the tool and the stop reason is logged on this module's
logger. The same holds for a `tool_use` block whose input is not a JSON object.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._json import loads as loads_json
from ..types import ContentPart, Message, Role, ToolCall
from ..usage import UsageStats
from ._framing import SseEvent
from ._http_provider import HttpProvider
from ._status import error_for_status
from .errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

if TYPE_CHECKING:
    from ..tools import Tool
    from .base import StreamItem

logger = logging.getLogger(__name__)

PROVIDER = "anthropic"
API_VERSION = "2023-06-01"
DEFAULT_MODEL = "claude-haiku-4-5"
DEFAULT_BASE_URL = "https://api.anthropic.com"
MESSAGES_PATH = "/v1/messages"

# Anthropic ids must match this; ids made by other providers are cleaned to fit.
_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*),(?P<data>.*)$",
                       re.DOTALL)
# Anthropic has no error type of its own for an over-long prompt; these are its wordings.
_CONTEXT_LENGTH_HINTS = ("prompt is too long", "exceed context limit", "context window")



# ---------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------

def build_request_body(*, model: str, system_prompt: str | None, messages: Sequence[Message],
                       tools: Sequence[Tool] | None = None, temperature: float = 0.0,
                       max_tokens: int = 1000, stream: bool = False) -> dict[str, Any]:
    """The JSON body of a Messages API request."""
    system_texts = [system_prompt] if system_prompt else []
    system_texts += [m.content for m in messages if m.role is Role.SYSTEM and m.content]
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": _convert_messages(messages),
        "temperature": temperature,
    }
    if system_texts:
        body["system"] = "\n\n".join(system_texts)
    if tools:
        body["tools"] = [tool_definition(tool) for tool in tools]
    if stream:
        body["stream"] = True
    return body


def tool_definition(tool: Tool) -> dict[str, Any]:
    """A tool as Anthropic declares it: name, description and a JSON Schema `input_schema`."""
    schema = dict(tool.parameters_schema or {})
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return {"name": tool.name, "description": tool.description or "", "input_schema": schema}


def _convert_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    converted: list[dict[str, Any]] = []
    # Tool calls of the last assistant turn not answered yet, for results that lack an id.
    unanswered: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        if message.role is Role.SYSTEM:
            continue
        if message.role is Role.ASSISTANT:
            role = "assistant"
            blocks = _assistant_blocks(message, index)
            unanswered = [(b["id"], b["name"]) for b in blocks if b["type"] == "tool_use"]
        elif message.role is Role.TOOL:
            role = "user"
            blocks = [_tool_result_block(message, unanswered)]
        else:
            role = "user"
            blocks = [b for b in map(_content_block, message.parts()) if b is not None]
        if not blocks:
            continue  # Anthropic refuses empty messages; an empty one carries nothing anyway.
        if converted and converted[-1]["role"] == role:
            converted[-1]["content"].extend(blocks)
        else:
            converted.append({"role": role, "content": blocks})
    return converted


def _assistant_blocks(message: Message, index: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for position, call in enumerate(message.tool_calls or ()):
        blocks.append({
            "type": "tool_use",
            "id": _wire_id(call.id) if call.id else f"toolu_m{index}_{position}",
            "name": call.tool_name,
            "input": call.parameters or {},
        })
    return blocks


def _tool_result_block(message: Message, unanswered: list[tuple[str, str]]) -> dict[str, Any]:
    text = message.content or message.tool_result or ""
    if message.tool_call_id:
        tool_use_id = _wire_id(message.tool_call_id)
        unanswered[:] = [pair for pair in unanswered if pair[0] != tool_use_id]
    else:
        # A result without an id answers the first open call of its tool (or the first open).
        match = next((pair for pair in unanswered if pair[1] == message.tool_name),
                     unanswered[0] if unanswered else None)
        if match is None:
            raise ValueError(
                f"tool result for {message.tool_name!r} has no tool_call_id and follows no "
                "unanswered tool call; Anthropic needs every tool_result linked to a tool_use"
            )
        unanswered.remove(match)
        tool_use_id = match[0]
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id}
    if text:
        block["content"] = text
    return block


def _content_block(part: ContentPart) -> dict[str, Any] | None:
    if part.type == "text":
        return {"type": "text", "text": part.text} if part.text else None
    if part.type == "image_base64":
        return _image_block({"type": "base64", "media_type": part.media_type or "image/png",
                             "data": part.image_base64})
    url = part.image_url or ""
    inline = _split_data_url(url)
    if inline is not None:
        media_type, data = inline
        return _image_block({"type": "base64", "media_type": part.media_type or media_type,
                             "data": data})
    return _image_block({"type": "url", "url": url})


def _image_block(source: dict[str, Any]) -> dict[str, Any]:
    return {"type": "image", "source": source}


def _split_data_url(url: str) -> tuple[str, str] | None:
    """`(media_type, base64 data)` of a base64 `data:` URL, else None."""
    match = _DATA_URL.match(url)
    if match is None:
        return None
    if ";base64" not in match["params"]:
        raise ValueError("image data: URLs must be base64-encoded (data:<type>;base64,...)")
    return match["media"] or "image/png", match["data"]


def _wire_id(call_id: str) -> str:
    return _ID_UNSAFE.sub("_", call_id)


# ---------------------------------------------------------------------------------------
# Whole response
# ---------------------------------------------------------------------------------------

def parse_response(data: Any, model: str) -> tuple[Message, UsageStats]:
    """A whole Messages API response as our assistant message and its usage."""
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise ProviderError(f"unexpected response shape: {_preview(data)}", provider=PROVIDER)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in data["content"]:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use":
            arguments = block.get("input")
            if not isinstance(arguments, dict):
                _warn_dropped(block.get("name"), data.get("stop_reason"))
                continue
            calls.append(ToolCall(tool_name=block["name"], parameters=arguments,
                                  id=block.get("id")))
        # Other block types (thinking, server tool use and results) carry nothing for us.
    message = Message(role=Role.ASSISTANT, content="".join(texts), tool_calls=calls or None)
    usage = _Usage()
    usage.update(data.get("usage"))
    return message, usage.stats(data.get("model") or model)


# ---------------------------------------------------------------------------------------
# Stream
# ---------------------------------------------------------------------------------------

@dataclass
class _Usage:
    """Token counts as they grow over a stream. Anthropic's counts are cumulative."""

    input_tokens: int = 0
    output_tokens: int = 0

    def update(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        # Cache writes and reads are prompt tokens too; Anthropic counts them apart.
        prompt_keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        if any(usage.get(key) is not None for key in prompt_keys):
            self.input_tokens = sum(int(usage.get(key) or 0) for key in prompt_keys)
        if usage.get("output_tokens") is not None:
            self.output_tokens = int(usage["output_tokens"])

    def stats(self, model: str) -> UsageStats:
        return UsageStats.priced(model=model, provider=PROVIDER, prompt_tokens=self.input_tokens,
                                 completion_tokens=self.output_tokens)


@dataclass
class _ToolBlock:
    id: str
    name: str
    json_parts: list[str] = field(default_factory=list)

    def finish(self) -> ToolCall | None:
        raw = "".join(self.json_parts).strip()
        try:
            arguments = loads_json(raw) if raw else {}
        except json.JSONDecodeError:
            return None
        if not isinstance(arguments, dict):
            return None
        return ToolCall(tool_name=self.name, parameters=arguments, id=self.id)


async def decode_stream(events: AsyncIterator[SseEvent], model: str) -> AsyncIterator[StreamItem]:
    """Text deltas, complete tool calls and, last, the usage of a streamed response."""
    usage = _Usage()
    response_model = model
    stop_reason: str | None = None
    text_blocks: set[int] = set()
    tool_blocks: dict[int, _ToolBlock] = {}
    async for event in events:
        payload = _load_event(event)
        kind = payload.get("type") or event.event
        if kind == "error" or event.event == "error":
            raise error_from_stream_event(payload)
        if kind == "content_block_delta":
            index, delta = payload.get("index"), payload.get("delta") or {}
            if delta.get("type") == "text_delta" and index in text_blocks:
                if delta.get("text"):
                    yield delta["text"]
            elif delta.get("type") == "input_json_delta" and index in tool_blocks:
                tool_blocks[index].json_parts.append(delta.get("partial_json") or "")
        elif kind == "content_block_start":
            index, block = payload.get("index"), payload.get("content_block") or {}
            if block.get("type") == "text" and isinstance(index, int):
                text_blocks.add(index)
                if block.get("text"):
                    yield block["text"]
            elif block.get("type") == "tool_use" and isinstance(index, int):
                tool_blocks[index] = _ToolBlock(id=block.get("id") or "", name=block["name"])
                if block.get("input"):  # normally {} and filled by input_json_delta
                    tool_blocks[index].json_parts.append(json.dumps(block["input"]))
        elif kind == "content_block_stop":
            finished = tool_blocks.pop(payload.get("index", -1), None)
            if finished is not None:
                call = finished.finish()
                if call is None:
                    _warn_dropped(finished.name, "invalid JSON input")
                else:
                    yield call
        elif kind == "message_start":
            message = payload.get("message") or {}
            response_model = message.get("model") or response_model
            usage.update(message.get("usage"))
        elif kind == "message_delta":
            stop_reason = (payload.get("delta") or {}).get("stop_reason") or stop_reason
            usage.update(payload.get("usage"))
        # ping, message_stop and event types added later need nothing from us.
    for unfinished in tool_blocks.values():
        _warn_dropped(unfinished.name, stop_reason)
    yield usage.stats(response_model)


def _load_event(event: SseEvent) -> dict[str, Any]:
    try:
        payload = loads_json(event.data)
    except json.JSONDecodeError:
        raise ProviderError(f"malformed stream event: {event.data[:200]!r}",
                            provider=PROVIDER) from None
    return payload if isinstance(payload, dict) else {}


def _warn_dropped(tool_name: Any, reason: str | None) -> None:
    logger.warning("anthropic: dropped the call of tool %r: its input was incomplete or not "
                   "a JSON object (stop reason: %s)", tool_name, reason or "unknown")


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------

# Error `type`s documented by Anthropic, for errors that come without a telling status.
_ERROR_CLASSES: dict[str, type[ProviderError]] = {
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "request_too_large": InvalidRequestError,
    "rate_limit_error": RateLimitError,
    "api_error": ServerError,
    "timeout_error": ProviderTimeoutError,
    "overloaded_error": OverloadedError,
}


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """The typed error for a non-2xx answer of the Messages API."""
    error_type, message, request_id = _error_fields(body)
    return error_for_status(
        provider=PROVIDER, status=status, message=message or f"HTTP {status}",
        headers=headers, error_type=error_type,
        request_id=request_id,
        context_length=_is_context_length(message),
    )


def error_from_stream_event(payload: Mapping[str, Any]) -> ProviderError:
    """The typed error for an `event: error` that arrived inside a 200 stream."""
    error = payload.get("error")
    if not isinstance(error, dict):
        error = {}
    error_type = error.get("type") or "error"
    message = str(error.get("message") or "error event in stream")
    cls = _ERROR_CLASSES.get(error_type, ServerError)
    return cls(message, provider=PROVIDER, error_type=error_type,
               request_id=payload.get("request_id"))


def _error_fields(body: bytes) -> tuple[str | None, str, str | None]:
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, body.decode("utf-8", "replace")[:500].strip(), None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None, _preview(payload), None
    return error.get("type"), str(error.get("message") or ""), payload.get("request_id")


def _is_context_length(message: str) -> bool:
    lowered = message.lower()
    return any(hint in lowered for hint in _CONTEXT_LENGTH_HINTS)


def _preview(data: Any) -> str:
    return json.dumps(data)[:300] if data is not None else "empty body"


# ---------------------------------------------------------------------------------------
# Provider
# ---------------------------------------------------------------------------------------

class AnthropicProvider(HttpProvider):
    """Claude models through the Messages API.

    The key comes from `api_key` or `ANTHROPIC_API_KEY`, the server from `base_url` or
    `ANTHROPIC_BASE_URL` (default https://api.anthropic.com; `/v1/messages` is appended).
    """

    name = PROVIDER
    default_model = DEFAULT_MODEL

    def __init__(self, model: str | None = None, api_key: str | None = None,
                 base_url: str | None = None, timeout: float | None = 60.0,
                 max_retries: int = 2) -> None:
        api_key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
        if not api_key and base_url.rstrip("/") == DEFAULT_BASE_URL:
            raise ValueError(
                "AnthropicProvider needs an API key: pass api_key=... or set ANTHROPIC_API_KEY")
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout,
                         max_retries=max_retries, model=model,
                         headers={"anthropic-version": API_VERSION})

    def _auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"x-api-key": api_key} if api_key else {}

    def _build_request(self, *, model: str, system_prompt: str, messages: list[Message],
                       tools: Sequence[Tool] | None, temperature: float, max_tokens: int,
                       stream: bool) -> tuple[str, dict[str, Any], dict[str, str] | None]:
        body = build_request_body(model=model, system_prompt=system_prompt, messages=messages,
                                  tools=tools, temperature=temperature, max_tokens=max_tokens,
                                  stream=stream)
        return MESSAGES_PATH, body, None

    _parse_response = staticmethod(parse_response)
    _decode_stream = staticmethod(decode_stream)
    _error_from_response = staticmethod(error_from_response)
