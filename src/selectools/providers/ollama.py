"""Ollama's native `/api/chat`, streamed as NDJSON (one JSON object per line).

Ollama sends each tool call whole, with its arguments as a JSON object (not a string), in
a `done: false` line; the last line (`done: true`) carries the token counts. Newer servers
add `id` and `function.index` to tool calls; we use the id when present and make one
otherwise. An error after the stream began is a line `{"error": "..."}`: it raises
`StreamError`. Images travel as a list of base64 strings, so an image URL (other than a
`data:` URL) is refused with a clear error before anything is sent.

Tool arguments that are not an object follow the convention of `openai.py`:
`parameters == {"__raw_arguments__": "<the text>"}`.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..types import RAW_ARGUMENTS_KEY, Message, Role, ToolCall
from ..usage import UsageStats
from ._framing import read_to_end
from ._http_provider import HttpProvider, make_call_id, parse_tool_arguments
from ._status import body_snippet, error_for_status, json_or_none
from .errors import ProviderError, StreamError

if TYPE_CHECKING:
    from ..tools import Tool

PROVIDER = "ollama"
DEFAULT_HOST = "http://localhost:11434"


# ---------------------------------------------------------------------------------------------
# Request


def build_request_body(*, model: str, system_prompt: str, messages: Sequence[Message],
                       tools: Sequence[Tool] | None = None, temperature: float = 0.0,
                       max_tokens: int = 1000, stream: bool = False) -> dict[str, Any]:
    """The JSON body of a `POST /api/chat`."""
    wire_messages: list[dict[str, Any]] = []
    if system_prompt:
        wire_messages.append({"role": "system", "content": system_prompt})
    wire_messages.extend(_wire_message(message) for message in messages)
    body: dict[str, Any] = {
        "model": model,
        "messages": wire_messages,
        "stream": stream,
        "options": {"temperature": temperature, "num_predict": max_tokens},
    }
    if tools:
        body["tools"] = [
            {"type": "function",
             "function": {"name": tool.name, "description": tool.description or "",
                          "parameters": tool.parameters_schema}}
            for tool in tools
        ]
    return body


def _wire_message(message: Message) -> dict[str, Any]:
    if message.role == Role.TOOL:
        result = message.tool_result if message.tool_result is not None else message.content
        wire: dict[str, Any] = {"role": "tool", "content": result}
        if message.tool_name:
            wire["tool_name"] = message.tool_name
        if message.tool_call_id:
            wire["tool_call_id"] = message.tool_call_id
        return wire
    if message.role == Role.ASSISTANT:
        wire = {"role": "assistant", "content": message.content}
        if message.tool_calls:
            wire["tool_calls"] = [_wire_tool_call(call) for call in message.tool_calls]
        return wire
    if message.role == Role.SYSTEM:
        return {"role": "system", "content": message.content}
    texts: list[str] = []
    images: list[str] = []
    for part in message.parts():
        if part.type == "text" and part.text:
            texts.append(part.text)
        elif part.type == "image_base64" and part.image_base64:
            images.append(part.image_base64)
        elif part.type == "image_url" and part.image_url:
            images.append(_base64_from_url(part.image_url))
    wire = {"role": "user", "content": "\n".join(texts) or message.content}
    if images:
        wire["images"] = images
    return wire


def _wire_tool_call(call: ToolCall) -> dict[str, Any]:
    arguments = call.parameters
    if set(arguments) == {RAW_ARGUMENTS_KEY}:
        arguments = {}  # Ollama needs an object; the unreadable text has no object form
    wire: dict[str, Any] = {"function": {"name": call.tool_name, "arguments": arguments}}
    if call.id:
        wire["id"] = call.id
    return wire


def _base64_from_url(url: str) -> str:
    if url.startswith("data:") and ";base64," in url:
        return url.split(";base64,", 1)[1]
    raise ValueError(
        f"Ollama accepts images only as base64 data, not URLs ({url[:80]!r}); download the "
        "image and pass it with Message(image_path=...) or ContentPart(type='image_base64')")


# ---------------------------------------------------------------------------------------------
# Whole response


def parse_response(data: Any, model: str) -> tuple[Message, UsageStats]:
    """A non-streamed `/api/chat` answer as our assistant Message and its usage."""
    if not isinstance(data, dict):
        raise ProviderError(f"expected a chat response object, got {type(data).__name__}",
                            provider=PROVIDER)
    if data.get("error"):
        raise ProviderError(str(data["error"]), provider=PROVIDER)
    wire = data.get("message") or {}
    calls = [_tool_call(call) for call in wire.get("tool_calls") or ()]
    message = Message(role=Role.ASSISTANT, content=wire.get("content") or "",
                      tool_calls=calls or None)
    return message, _usage(data, model)


def _tool_call(wire: Mapping[str, Any]) -> ToolCall:
    function = wire.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, dict):
        parameters = arguments
    elif isinstance(arguments, str):  # some model templates give a JSON string
        parameters = parse_tool_arguments(arguments)
    elif arguments is None:
        parameters = {}
    else:
        parameters = {RAW_ARGUMENTS_KEY: json.dumps(arguments)}
    return ToolCall(tool_name=str(function.get("name") or ""), parameters=parameters,
                    id=wire.get("id") or make_call_id())


def _usage(data: Mapping[str, Any], model: str) -> UsageStats:
    return UsageStats.priced(model=model, provider=PROVIDER,
                             prompt_tokens=int(data.get("prompt_eval_count") or 0),
                             completion_tokens=int(data.get("eval_count") or 0))


# ---------------------------------------------------------------------------------------------
# Stream


async def decode_stream(events: AsyncIterator[Any], model: str,
                        ) -> AsyncIterator[str | ToolCall | UsageStats]:
    """Turn NDJSON chat lines (already parsed) into text deltas, ToolCalls and usage."""
    async for line in events:
        if not isinstance(line, dict):
            raise StreamError(f"stream line is not an object: {line!r:.200}", provider=PROVIDER,
                              should_retry=False)
        if line.get("error"):
            raise StreamError(str(line["error"]), provider=PROVIDER)
        wire = line.get("message") or {}
        # `response` is /api/generate's text field; accepting it costs nothing.
        text = wire.get("content") or line.get("response")
        if text:
            yield text
        calls = sorted(wire.get("tool_calls") or (),
                       key=lambda call: (call.get("function") or {}).get("index", 0))
        for call in calls:
            yield _tool_call(call)
        if line.get("done"):
            yield _usage(line, model)
            await read_to_end(events)
            return


# ---------------------------------------------------------------------------------------------
# Errors


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """The typed error for a non-2xx answer; Ollama's body is `{"error": "text"}`."""
    payload = json_or_none(body)
    if isinstance(payload, dict) and payload.get("error"):
        message = str(payload["error"])
    else:
        message = body_snippet(body) or f"HTTP {status}"
    return error_for_status(provider=PROVIDER, status=status, headers=headers, message=message)


# ---------------------------------------------------------------------------------------------
# Provider


def normalize_host(host: str) -> str:
    """`OLLAMA_HOST` as a base URL: it is often written without scheme or port
    ("localhost", "0.0.0.0:11434"); those default to http and port 11434."""
    host = host.strip().rstrip("/")
    if "://" in host:
        return host
    parts = urlsplit(f"http://{host}")
    hostname = parts.hostname or "localhost"
    if hostname == "0.0.0.0":  # the server's "listen everywhere", not an address to call
        hostname = "127.0.0.1"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    return f"http://{hostname}:{parts.port or 11434}{parts.path}"


class OllamaProvider(HttpProvider):
    """Ollama's `/api/chat`. The server comes from `host`, else `OLLAMA_HOST`, else
    http://localhost:11434; no key is needed."""

    name = PROVIDER
    default_model = "llama3.2"
    _framing = "ndjson"

    def __init__(self, model: str | None = None, host: str | None = None,
                 timeout: float | None = 120.0, max_retries: int = 2,
                 api_key: str | None = None) -> None:
        # api_key is for Ollama behind an authenticating proxy (or ollama.com); usually None.
        base_url = normalize_host(host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST)
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout,
                         max_retries=max_retries, model=model)

    @property
    def host(self) -> str:
        return self.base_url

    def _build_request(self, *, model: str, system_prompt: str, messages: list[Message],
                       tools: Sequence[Tool] | None, temperature: float, max_tokens: int,
                       stream: bool) -> tuple[str, dict[str, Any], dict[str, str] | None]:
        body = build_request_body(model=model, system_prompt=system_prompt, messages=messages,
                                  tools=tools, temperature=temperature, max_tokens=max_tokens,
                                  stream=stream)
        return "/api/chat", body, None

    _parse_response = staticmethod(parse_response)
    _decode_stream = staticmethod(decode_stream)
    _error_from_response = staticmethod(error_from_response)
