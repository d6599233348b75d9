"""OpenAI Chat Completions, spoken directly: api.openai.com and every compatible server.

`base_url` points it at vLLM, llama.cpp's server, LM Studio, Groq, Together and the like.
The three pure parts (`build_request_body`, `parse_response`, `decode_stream`) plus
`error_from_response` are tested on recorded transcripts; `OpenAIProvider` glues them to HTTP.

Streaming: text deltas are yielded as they arrive. Tool calls arrive as fragments keyed by
`index` (the first fragment brings `id` and name, later ones pieces of the arguments text);
they are assembled and yielded whole when the choice finishes, or at `[DONE]` / the end of
the stream for servers that never send a `finish_reason`. The usage chunk (`choices: []`,
asked for with `stream_options.include_usage`) becomes one `UsageStats`, yielded last.

Malformed tool arguments: arguments that are not a JSON object never raise. The `ToolCall`
is yielded with `parameters == {"__raw_arguments__": "<the text as sent>"}`
(`RAW_ARGUMENTS_KEY`), and the agent answers the model with an error it can correct.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._json import loads as loads_json
from ..types import ContentPart, Message, Role, ToolCall
from ..usage import UsageStats
from ._framing import SseEvent, read_to_end
from ._http_provider import HttpProvider, make_call_id, tool_call_from_json
from ._status import body_snippet, error_for_status, json_or_none
from .errors import AuthenticationError, ProviderError, StreamError

if TYPE_CHECKING:
    from ..tools import Tool

PROVIDER = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
_CONTEXT_LENGTH_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error",
                                   "string_above_max_length"})
# Compatible servers without such a code (vLLM) say it only in words. Words only pick a
# subclass of an error that is neither retried nor failed over either way.
_CONTEXT_LENGTH_WORDS = ("maximum context length", "context length exceeded")
# Reasoning models refuse `temperature` other than the default.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


# ---------------------------------------------------------------------------------------------
# Request


def build_request_body(*, model: str, system_prompt: str, messages: Sequence[Message],
                       tools: Sequence[Tool] | None = None, temperature: float = 0.0,
                       max_tokens: int = 1000, stream: bool = False,
                       max_tokens_field: str = "max_tokens") -> dict[str, Any]:
    """The JSON body of a `POST /chat/completions`.

    `max_tokens_field` is `"max_completion_tokens"` for api.openai.com (its reasoning models
    refuse `max_tokens`) and `"max_tokens"` for compatible servers, which all know that one.
    """
    wire_messages: list[dict[str, Any]] = []
    if system_prompt:
        wire_messages.append({"role": "system", "content": system_prompt})
    wire_messages.extend(_wire_message(message) for message in messages)
    body: dict[str, Any] = {"model": model, "messages": wire_messages,
                            max_tokens_field: max_tokens}
    if not model.rsplit("/", 1)[-1].startswith(_REASONING_PREFIXES):
        body["temperature"] = temperature
    if tools:
        body["tools"] = [_wire_tool(tool) for tool in tools]
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _wire_tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters_schema}
    if tool.description:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def _wire_message(message: Message) -> dict[str, Any]:
    if message.role == Role.TOOL:
        result = message.tool_result if message.tool_result is not None else message.content
        if not message.tool_call_id:
            # Without an id OpenAI cannot link the result to a call; keep it as plain text.
            name = message.tool_name or "a tool"
            return {"role": "user", "content": f"Result of {name}: {result}"}
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": result}
    if message.role == Role.ASSISTANT:
        wire: dict[str, Any] = {"role": "assistant", "content": message.content or None}
        if message.tool_calls:
            wire["tool_calls"] = [_wire_tool_call(call) for call in message.tool_calls]
        elif wire["content"] is None:
            wire["content"] = ""
        return wire
    if message.role == Role.SYSTEM:
        return {"role": "system", "content": message.content}
    if message.content_parts:
        return {"role": "user", "content": [_wire_part(part) for part in message.content_parts]}
    return {"role": "user", "content": message.content}


def _wire_tool_call(call: ToolCall) -> dict[str, Any]:
    if not call.id:
        raise ValueError(f"assistant tool call {call.tool_name!r} has no id; OpenAI needs one "
                         "to link it to its result")
    return {"id": call.id, "type": "function",
            "function": {"name": call.tool_name, "arguments": call.arguments_json()}}


def _wire_part(part: ContentPart) -> dict[str, Any]:
    if part.type == "text":
        return {"type": "text", "text": part.text}
    if part.type == "image_url":
        return {"type": "image_url", "image_url": {"url": part.image_url}}
    url = f"data:{part.media_type};base64,{part.image_base64}"
    return {"type": "image_url", "image_url": {"url": url}}


# ---------------------------------------------------------------------------------------------
# Whole response


def parse_response(data: Any, model: str) -> tuple[Message, UsageStats]:
    """A `chat.completion` object as our assistant Message and its usage."""
    if not isinstance(data, dict):
        raise ProviderError(f"expected a chat.completion object, got {type(data).__name__}",
                            provider=PROVIDER)
    if data.get("error"):  # some compatible servers report errors inside a 200
        raise _error_from_payload(data, status=None)
    choices = data.get("choices") or []
    if not choices:
        raise ProviderError("the answer holds no choices", provider=PROVIDER)
    wire = choices[0].get("message") or {}
    calls = [
        tool_call_from_json(call["function"]["name"], call["function"].get("arguments"),
                            call.get("id") or make_call_id())
        for call in wire.get("tool_calls") or ()
        if call.get("function")
    ]
    text = wire.get("content") or wire.get("refusal") or ""
    message = Message(role=Role.ASSISTANT, content=text, tool_calls=calls or None)
    return message, _usage(data.get("usage"), model)


def _usage(wire: Any, model: str) -> UsageStats:
    wire = wire if isinstance(wire, dict) else {}
    return UsageStats.priced(model=model, provider=PROVIDER,
                             prompt_tokens=int(wire.get("prompt_tokens") or 0),
                             completion_tokens=int(wire.get("completion_tokens") or 0))


# ---------------------------------------------------------------------------------------------
# Stream


@dataclass
class _PendingCall:
    id: str | None
    name: str
    arguments: str
    index: int | None = None  # the server's `index`, which may repeat across calls


async def decode_stream(events: AsyncIterator[SseEvent], model: str,
                        ) -> AsyncIterator[str | ToolCall | UsageStats]:
    """Turn `chat.completion.chunk` events into text deltas, whole ToolCalls and usage."""
    calls: dict[int, _PendingCall] = {}
    usage: UsageStats | None = None
    async for event in events:
        data = event.data
        # Chunks are JSON objects; only something else can be the end marker, so the payload
        # is not copied by strip() on every event.
        if not data.startswith("{") and data.strip() == "[DONE]":
            break
        chunk = _chunk_json(data)
        if chunk.get("error"):
            raise _error_from_payload(chunk, status=None, mid_stream=True)
        if chunk.get("usage"):
            usage = _usage(chunk["usage"], model)
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue  # we ask for one choice (n=1)
            delta = choice.get("delta") or {}
            text = delta.get("content") or delta.get("refusal")
            if text:
                yield text
            for fragment in delta.get("tool_calls") or ():
                _merge_fragment(calls, fragment)
            if choice.get("finish_reason"):
                for call in _flush(calls):
                    yield call
    for call in _flush(calls):  # no finish_reason came: the calls are complete anyway
        yield call
    if usage is not None:
        yield usage
    await read_to_end(events)


def _chunk_json(data: str) -> dict[str, Any]:
    try:
        chunk = loads_json(data)
    except ValueError:
        raise StreamError(f"stream event is not JSON: {data[:200]!r}", provider=PROVIDER,
                          should_retry=False) from None
    if not isinstance(chunk, dict):
        raise StreamError(f"stream event is not an object: {data[:200]!r}", provider=PROVIDER,
                          should_retry=False)
    return chunk


def _merge_fragment(calls: dict[int, _PendingCall], fragment: Mapping[str, Any]) -> None:
    """Add one `tool_calls` delta to the calls being assembled (keyed in arrival order)."""
    function = fragment.get("function") or {}
    index, call_id = fragment.get("index"), fragment.get("id")
    if index is None:
        # Some servers omit `index`: a new id opens a new call, anything else continues
        # the last one.
        known_ids = {call.id for call in calls.values()}
        pending = None if not calls or (call_id and call_id not in known_ids) else \
            calls[max(calls)]
    else:
        pending = next((c for c in reversed(calls.values()) if c.index == index), None)
        if pending is not None and call_id and pending.id and call_id != pending.id:
            # Some servers (Ollama's /v1, gateways) send parallel calls all at index 0,
            # each with its own id: a new id is a new call, never more of the last one.
            pending = None
    if pending is None:
        calls[len(calls)] = _PendingCall(call_id, function.get("name") or "",
                                         function.get("arguments") or "", index)
        return
    if call_id and not pending.id:
        pending.id = call_id
    name = function.get("name")
    if name and name != pending.name:
        # OpenAI sends the name once; some servers repeat it whole, others send it in pieces.
        pending.name = name if not pending.name else pending.name + name
    pending.arguments += function.get("arguments") or ""


def _flush(calls: dict[int, _PendingCall]) -> list[ToolCall]:
    done = [tool_call_from_json(call.name, call.arguments, call.id or make_call_id())
            for _, call in sorted(calls.items())]
    calls.clear()
    return done


# ---------------------------------------------------------------------------------------------
# Errors


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """The typed error for a non-2xx answer, carrying the server's own message."""
    payload = json_or_none(body)
    if isinstance(payload, dict):
        return _error_from_payload(payload, status=status, headers=headers)
    return error_for_status(provider=PROVIDER, status=status, headers=headers,
                            message=body_snippet(body) or f"HTTP {status}")


def _error_from_payload(payload: Mapping[str, Any], *, status: int | None,
                        headers: Mapping[str, str] | None = None,
                        mid_stream: bool = False) -> ProviderError:
    # OpenAI: {"error": {"message", "type", "code", "param"}}; compatible servers also send
    # {"error": "text"}, {"detail": ...} (FastAPI) or {"message": ...}.
    error = payload.get("error", payload)
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("detail") or json.dumps(error))
        code = error.get("code")
        kind = error.get("type")
    else:
        message, code, kind = str(error), None, None
    code = code if isinstance(code, str) else None
    kind = kind if isinstance(kind, str) else None
    context_length = bool({code, kind} & _CONTEXT_LENGTH_CODES) or any(
        words in message.lower() for words in _CONTEXT_LENGTH_WORDS)
    if status is None:
        cls = StreamError if mid_stream else ProviderError
        return cls(message, provider=PROVIDER, error_type=code or kind)
    return error_for_status(provider=PROVIDER, status=status, headers=headers or {},
                            message=message, error_type=code or kind,
                            context_length=context_length)


# ---------------------------------------------------------------------------------------------
# Provider


class OpenAIProvider(HttpProvider):
    """Chat Completions over HTTP, for OpenAI and any OpenAI-compatible server.

    The key comes from `api_key` or `OPENAI_API_KEY`, the server from `base_url` or
    `OPENAI_BASE_URL`. A local server usually needs no key; api.openai.com does, and a call
    without one fails with `AuthenticationError` before anything is sent.
    """

    name = PROVIDER
    default_model = "gpt-4o-mini"
    _framing = "sse"

    def __init__(self, model: str | None = None, api_key: str | None = None,
                 base_url: str | None = None, organization: str | None = None,
                 timeout: float | None = 60.0, max_retries: int = 2) -> None:
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
        self._is_openai = urlsplit(base_url).hostname == "api.openai.com"
        self._has_key = api_key is not None
        headers = {"OpenAI-Organization": organization} if organization else None
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout,
                         max_retries=max_retries, model=model, headers=headers)

    def _build_request(self, *, model: str, system_prompt: str, messages: list[Message],
                       tools: Sequence[Tool] | None, temperature: float, max_tokens: int,
                       stream: bool) -> tuple[str, dict[str, Any], dict[str, str] | None]:
        if self._is_openai and not self._has_key:
            raise AuthenticationError(
                "no OpenAI API key: pass OpenAIProvider(api_key=...) or set OPENAI_API_KEY "
                "(or point base_url at a local OpenAI-compatible server)",
                provider=PROVIDER)
        body = build_request_body(
            model=model, system_prompt=system_prompt, messages=messages, tools=tools,
            temperature=temperature, max_tokens=max_tokens, stream=stream,
            max_tokens_field="max_completion_tokens" if self._is_openai else "max_tokens")
        return "/chat/completions", body, None

    _parse_response = staticmethod(parse_response)
    _decode_stream = staticmethod(decode_stream)
    _error_from_response = staticmethod(error_from_response)
