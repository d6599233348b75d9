"""Ollama's native `/api/chat`, streamed as NDJSON (one JSON object per line).

Ollama sends each tool call whole, with its arguments as a JSON object (not a string), in
a `done: false` line; the last line (`done: true`) carries the token counts. Newer servers
add `id` and `function.index` to tool calls; we use the id when present and make one
otherwise. An error after the stream began is a line `{"error": "..."}`: it raises
`StreamError`. Images travel as a list of base64 strings, so an image URL (other than a
`data:` URL) is refused with a clear error before anything is sent. A tool's images (the
tool message's `content_parts`) go in the `tool` message's own `images`, as the chat API
takes them on any message.

Tool arguments follow the one policy of `_wire.py` (an object as it is, JSON text parsed,
anything else `{RAW_ARGUMENTS_KEY: text}`); `done_reason` becomes the turn's `TurnEnd`.

Reasoning: a thinking model's `message.thinking` (in stream lines and whole answers) is the
model's reasoning, never its content: each streamed piece is a `ReasoningDelta`, and the
whole block one `ReasoningPart(protocol="ollama")` once the thinking ends (at the first
text, tool call or the last line). It goes back on the assistant message's `thinking`
field, as the chat API takes it. A model that writes its reasoning into the content as
`<think>...</think>` instead (older servers) is read the same way (see _think.py); that
block is not sent back. `ModelRequest.reasoning` sets `think`: an effort
("low", "medium", "high") is sent as that string, which gpt-oss reads as its level and
every other thinking model as `true` (Ollama enables thinking for any level); a token
budget (an int) sends `true`, since Ollama has no budget to give.

Typed output: `format` is the JSON schema (the strict variant when there is one), with the
schema's instructions in the system prompt too, as Ollama's docs advise (the grammar alone
does not tell the model what the fields mean). With tools, `format` is not sent: the
grammar would keep the model from calling them (ollama/ollama#8095), so the answer is
asked for in words only.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..types import (
    REASONING_EFFORTS,
    ContentPart,
    Message,
    OutputFormat,
    ReasoningDelta,
    ReasoningPart,
    Role,
    StopReason,
    ToolCall,
    ToolDefinition,
)
from ..usage import UsageStats
from . import _wire
from ._framing import WholeJson, read_to_end
from ._http import MAX_EVENT_BYTES, MAX_RESPONSE_BYTES, MAX_STREAM_BYTES, POOL_SIZE
from ._http_provider import HttpProvider
from ._status import body_snippet, error_for_status, json_or_none, reported_error
from ._think import ThinkSplitter, split_think
from .base import StreamItem, with_instructions
from .errors import ProviderError
from .protocol import ModelRequest, WireProtocol, WireRequest

PROVIDER = "ollama"
DEFAULT_MODEL = "llama3.2"
DEFAULT_HOST = "http://localhost:11434"
DONE_REASONS: dict[str, StopReason] = {"stop": "completed", "length": "length"}


# ---------------------------------------------------------------------------------------------
# Request


def build_request_body(*, model: str, system_prompt: str, messages: Sequence[Message],
                       tools: Sequence[ToolDefinition] | None = None,
                       temperature: float | None = None, max_tokens: int = 1000,
                       stream: bool = False, output: OutputFormat | None = None,
                       reasoning: str | int | None = None) -> dict[str, Any]:
    """The JSON body of a `POST /api/chat` (`temperature=None` sends none; `output` and
    `reasoning` as the module docstring says)."""
    if output is not None:
        system_prompt = with_instructions(system_prompt, output)
    wire_messages: list[dict[str, Any]] = []
    if system_prompt:
        wire_messages.append({"role": "system", "content": system_prompt})
    wire_messages.extend(_wire_message(message) for message in messages)
    options: dict[str, Any] = {"num_predict": max_tokens}
    if temperature is not None:
        options["temperature"] = temperature
    body: dict[str, Any] = {"model": model, "messages": wire_messages, "stream": stream,
                            "options": options}
    if tools:
        body["tools"] = encode_tools(tools)
    elif output is not None:
        body["format"] = output.strict_schema if output.strict_schema is not None \
            else output.schema
    if reasoning is not None:
        body["think"] = think_value(reasoning)
    return body


def think_value(reasoning: str | int) -> str | bool:
    """`think` for an effort (sent as it is) or a token budget (`true`: no budget exists)."""
    if isinstance(reasoning, str):
        if reasoning in REASONING_EFFORTS:
            return reasoning
    elif type(reasoning) is int and reasoning > 0:
        return True
    raise ValueError(f"reasoning must be one of {list(REASONING_EFFORTS)} or a positive token "
                     f"budget (an int), got {reasoning!r}")


def _request(request: ModelRequest) -> WireRequest:
    body = build_request_body(
        model=request.model, system_prompt=request.system_prompt, messages=request.messages,
        temperature=request.temperature, max_tokens=request.max_tokens, stream=request.stream,
        output=request.output, reasoning=request.reasoning)
    # The provider adds the tools; a grammar for the answer beside them would keep the model
    # from calling any (ollama/ollama#8095): the answer is then asked for in words only.
    if request.has_tools:
        body.pop("format", None)
    return WireRequest("/api/chat", body)


def encode_tools(tools: Sequence[ToolDefinition]) -> list[dict[str, Any]]:
    return [{"type": "function",
             "function": {"name": tool.name, "description": tool.description or "",
                          "parameters": tool.parameters_schema}}
            for tool in tools]


def _wire_message(message: Message) -> dict[str, Any]:
    if message.role == Role.TOOL:
        wire: dict[str, Any] = {"role": "tool", "content": _wire.tool_result_text(message)}
        if message.tool_name:
            wire["tool_name"] = message.tool_name
        if message.tool_call_id:
            wire["tool_call_id"] = message.tool_call_id
        if message.content_parts:  # a tool's images, on its own message
            images = _images(message.content_parts)
            if images:
                wire["images"] = images
        return wire
    if message.role == Role.ASSISTANT:
        wire = {"role": "assistant", "content": message.content}
        if message.reasoning:
            thinking = "".join(part.text for part in message.reasoning
                               if part.protocol == PROVIDER)
            if thinking:
                wire["thinking"] = thinking
        if message.tool_calls:
            wire["tool_calls"] = [_wire_tool_call(call) for call in message.tool_calls]
        return wire
    if message.role == Role.SYSTEM:
        return {"role": "system", "content": message.content}
    parts = message.parts()
    texts = [part.text for part in parts if part.type == "text" and part.text]
    wire = {"role": "user", "content": "\n".join(texts) or message.content}
    images = _images(parts)
    if images:
        wire["images"] = images
    return wire


def _images(parts: Sequence[ContentPart]) -> list[str]:
    """The image parts as Ollama takes them: base64 strings, no `data:` prefix."""
    images: list[str] = []
    for part in parts:
        if part.type == "image_base64" and part.image_base64:
            images.append(part.image_base64)
        elif part.type == "image_url" and part.image_url:
            images.append(_base64_from_url(part.image_url))
    return images


def _wire_tool_call(call: ToolCall) -> dict[str, Any]:
    wire: dict[str, Any] = {"function": {"name": call.tool_name,
                                         "arguments": _wire.arguments_object(call)}}
    if call.id:
        wire["id"] = call.id
    return wire


def _base64_from_url(url: str) -> str:
    inline = _wire.split_data_url(url)
    if inline is not None:
        return inline[1]
    raise ValueError(
        f"Ollama accepts images only as base64 data, not URLs ({url[:80]!r}); download the "
        "image and pass it with Message(image_path=...) or ContentPart(type='image_base64')")


# ---------------------------------------------------------------------------------------------
# Whole response


def parse_response(data: Any, model: str) -> tuple[Message, UsageStats]:
    """A non-streamed `/api/chat` answer as our assistant Message (with its stop reason)
    and its usage."""
    data = _wire.as_object(data, "the answer")
    if data.get("error"):
        raise reported_error(data["error"], provider=PROVIDER, stream=False)
    if data.get("message") is None:  # `{}`, another API's answer: not an empty message
        raise _wire.malformed("the answer has no message")
    wire = _wire.as_object(data["message"], "message")
    calls = _tool_calls(wire, stream=False)
    reason = _wire.stop_reason(data.get("done_reason"), DONE_REASONS, has_calls=bool(calls))
    tagged, text = split_think(_wire.as_text(wire.get("content"), "message.content"))
    thinking = _wire.as_text(wire.get("thinking"), "message.thinking")
    reasoning = [ReasoningPart(thinking, protocol=PROVIDER)] if thinking else []
    if tagged is not None:
        reasoning.append(tagged)
    message = Message(role=Role.ASSISTANT, content=text, tool_calls=calls or None,
                      stop_reason=reason, reasoning=reasoning or None)
    return message, _usage(data, model, stream=False)


def _tool_calls(wire: Mapping[str, Any], *, stream: bool) -> list[ToolCall]:
    found = _wire.as_list(wire.get("tool_calls"), "message.tool_calls", stream=stream)
    calls: list[tuple[Any, ToolCall]] = []
    for position, call in enumerate(found):
        where = f"message.tool_calls[{position}]"
        call = _wire.as_object(call, where, stream=stream)
        function = _wire.as_object(call.get("function"), f"{where}.function", stream=stream)
        name = _wire.as_name(function.get("name"), where, stream=stream)
        index = function.get("index")
        calls.append((index if type(index) is int else position,
                      _wire.tool_call(name, function.get("arguments"), call.get("id"))))
    calls.sort(key=lambda pair: pair[0])  # newer servers number parallel calls
    return [call for _, call in calls]


def _usage(data: Mapping[str, Any], model: str, *, stream: bool) -> UsageStats:
    return UsageStats.priced(
        model=model, provider=PROVIDER,
        prompt_tokens=_wire.as_count(data.get("prompt_eval_count"), "prompt_eval_count",
                                     stream=stream),
        completion_tokens=_wire.as_count(data.get("eval_count"), "eval_count", stream=stream))


# ---------------------------------------------------------------------------------------------
# Stream


async def decode_stream(events: AsyncIterator[Any], model: str, *,
                        tool_deltas: bool = False) -> AsyncGenerator[StreamItem, None]:
    """Turn NDJSON chat lines (already parsed) into text deltas, ToolCalls, the turn's end
    and usage (or the same from a whole answer sent where a stream was asked for)."""
    line: Any = None
    has_calls = False
    thought: list[str] = []  # the reasoning block under way
    tags: ThinkSplitter | None = ThinkSplitter()  # None once the text shows no <think> block
    async for line in events:
        if type(line) is not dict:
            if isinstance(line, WholeJson):
                for item in _wire.whole_answer_items(line.data, parse_response, model):
                    yield item
                return
            _wire.as_object(line, "the stream line", stream=True)
        if line.get("error"):
            raise reported_error(line["error"], provider=PROVIDER, stream=True)
        wire = line.get("message")
        if type(wire) is not dict:
            wire = _wire.as_object(wire, "message", stream=True, optional=True)
        if "thinking" in wire:  # (`in`, not .get: the cheapest test for the common line)
            thinking = wire["thinking"]
            if thinking:
                thinking = _wire.as_text(thinking, "message.thinking", stream=True)
                thought.append(thinking)
                yield ReasoningDelta(thinking)
        # `response` is /api/generate's text field; accepting it costs nothing.
        text = wire.get("content") or line.get("response")
        if thought and (text or wire.get("tool_calls") or line.get("done")):
            yield ReasoningPart("".join(thought), protocol=PROVIDER)  # the thinking ended
            thought = []
        if text:
            if type(text) is not str:
                text = _wire.as_text(text, "message.content", stream=True)
            if tags is None:
                yield text
            else:
                for piece in tags.feed(text):
                    yield piece
                if tags.plain:
                    tags = None
        if tags is not None and (wire.get("tool_calls") or line.get("done")):
            for piece in tags.close():  # the text ends here: what it held is due now
                yield piece
            tags = None
        if wire.get("tool_calls"):
            for call in _tool_calls(wire, stream=True):
                has_calls = True
                yield call
        if line.get("done"):
            yield _wire.turn_end(line.get("done_reason"), DONE_REASONS, has_calls=has_calls)
            yield _usage(line, model, stream=True)
            await read_to_end(events)
            return
    if line is None:  # the loop never ran: not one event came
        raise _wire.empty_stream()
    raise _wire.unfinished_stream('"done": true')


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


PROTOCOL = WireProtocol(
    name=PROVIDER, framing="ndjson", build_request=_request, encode_tools=encode_tools,
    parse_response=parse_response, decode_stream=decode_stream,
    error_from_response=error_from_response, default_model=DEFAULT_MODEL,
    default_base_url=DEFAULT_HOST, hosted_needs_key=False, native_output=True, reasoning=True,
)


class OllamaProvider(HttpProvider):
    """Ollama's `/api/chat`. The server comes from `host`, else `OLLAMA_HOST`, else
    http://localhost:11434; no key is needed."""

    name = PROVIDER
    default_model = DEFAULT_MODEL

    def __init__(self, model: str | None = None, host: str | None = None,
                 timeout: float | None = 120.0, max_retries: int = 2,
                 api_key: str | None = None, name: str | None = None,
                 max_response_bytes: int | None = MAX_RESPONSE_BYTES,
                 max_event_bytes: int | None = MAX_EVENT_BYTES,
                 max_stream_bytes: int | None = MAX_STREAM_BYTES,
                 max_connections: int = POOL_SIZE) -> None:
        # api_key is for Ollama behind an authenticating proxy (or ollama.com); usually None.
        base_url = normalize_host(host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST)
        super().__init__(PROTOCOL, api_key=api_key, base_url=base_url, model=model,
                         timeout=timeout, max_retries=max_retries, name=name,
                         max_response_bytes=max_response_bytes,
                         max_event_bytes=max_event_bytes,
                         max_stream_bytes=max_stream_bytes, max_connections=max_connections)

    @property
    def host(self) -> str:
        return self.base_url
