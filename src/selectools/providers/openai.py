"""OpenAI Chat Completions, spoken directly: api.openai.com and every compatible server.

`base_url` points it at vLLM, llama.cpp's server, LM Studio, Groq, Together and the like.
The three pure parts (`build_request_body`, `parse_response`, `decode_stream`) plus
`error_from_response` are tested on recorded transcripts; `OpenAIProvider` glues them to HTTP.

Streaming: text deltas are yielded as they arrive. Tool calls arrive as fragments keyed by
`index` (the first fragment brings `id` and name, later ones pieces of the arguments text);
they are assembled and yielded whole when the choice finishes, or at `[DONE]` / the end of
the stream for servers that never send a `finish_reason`. The usage chunk (`choices: []`,
asked for with `stream_options.include_usage`) becomes one `UsageStats`, yielded last.

The finish reason becomes one `TurnEnd` (see `FINISH_REASONS`), yielded when the stream
ends, after the calls and before the usage. Edge cases follow the one policy of
`_wire.py`: arguments that are not a JSON object (cut by max_tokens, malformed) give
`{RAW_ARGUMENTS_KEY: text}`, arguments sent as an object are taken as they are, a chunk of
the wrong shape or an empty stream is a `MalformedStreamError`, and a whole
`chat.completion` sent where a stream was asked for is decoded as that answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..types import ContentPart, Message, Role, StopReason, ToolCall, ToolDefinition
from ..usage import UsageStats
from . import _wire
from ._framing import SseEvent, WholeJson, read_to_end
from ._http_provider import HttpProvider
from ._status import body_snippet, error_for_status, json_or_none, reported_error
from .base import StreamItem
from .errors import ProviderError
from .protocol import ModelRequest, WireProtocol, WireRequest

PROVIDER = "openai"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
_CONTEXT_LENGTH_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error",
                                   "string_above_max_length"})
# Compatible servers without such a code (vLLM) say it only in words. Words only pick a
# subclass of an error that is neither retried nor failed over either way.
_CONTEXT_LENGTH_WORDS = ("maximum context length", "context length exceeded")
# Reasoning models refuse `temperature` other than the default.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
FINISH_REASONS: dict[str, StopReason] = {
    "stop": "completed", "tool_calls": "tool_calls", "function_call": "tool_calls",
    "length": "length", "content_filter": "content_filter", "error": "error",
}


# ---------------------------------------------------------------------------------------------
# Request


def build_request_body(*, model: str, system_prompt: str, messages: Sequence[Message],
                       tools: Sequence[ToolDefinition] | None = None,
                       temperature: float | None = None, max_tokens: int = 1000,
                       stream: bool = False, hosted: bool = False) -> dict[str, Any]:
    """The JSON body of a `POST /chat/completions`, built as the provider builds it: for
    api.openai.com when `hosted`, else for a compatible server. `temperature=None` sends
    none: the model's default."""
    body = _body(ModelRequest(model, system_prompt, messages, temperature, max_tokens, stream,
                              hosted))
    if tools:
        body["tools"] = encode_tools(tools)
    return body


def _request(request: ModelRequest) -> WireRequest:
    return WireRequest("/chat/completions", _body(request))


def _body(request: ModelRequest) -> dict[str, Any]:
    """The body without tools (the provider adds those, encoded once per tool list)."""
    model = request.model
    # api.openai.com's reasoning models refuse `max_tokens`; compatible servers all know it.
    max_tokens_field = "max_completion_tokens" if request.hosted else "max_tokens"
    wire_messages: list[dict[str, Any]] = []
    if request.system_prompt:
        wire_messages.append({"role": "system", "content": request.system_prompt})
    wire_messages.extend([_wire_message(message) for message in request.messages])
    body: dict[str, Any] = {"model": model, "messages": wire_messages,
                            max_tokens_field: request.max_tokens}
    temperature = request.temperature
    if temperature is not None and not model.rsplit("/", 1)[-1].startswith(_REASONING_PREFIXES):
        body["temperature"] = temperature
    if request.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def encode_tools(tools: Sequence[ToolDefinition]) -> list[dict[str, Any]]:
    return [_wire_tool(tool) for tool in tools]


def _wire_tool(tool: ToolDefinition) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters_schema}
    if tool.description:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def _wire_message(message: Message) -> dict[str, Any]:
    if message.role == Role.TOOL:
        result = _wire.tool_result_text(message)
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
    if message.content_parts:  # the question text too, not only the parts
        return {"role": "user", "content": [_wire_part(part) for part in message.parts()]}
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
    """A `chat.completion` object as our assistant Message (with its stop_reason) and usage.

    Every value is checked before it is used; each check is inline (`x if type(x) is dict
    else ...`), so a well-formed answer pays no call for it and a wrong one is named."""
    if type(data) is not dict:
        data = _wire.as_object(data, "the answer")
    if data.get("error"):  # some compatible servers report errors inside a 200
        raise reported_error(data["error"], provider=PROVIDER, stream=False,
                             context_length=_too_long)
    choices = data.get("choices")
    if type(choices) is not list or not choices:
        raise _wire.malformed("choices is empty") if choices == [] or choices is None else \
            _wire.malformed(f"choices is {_wire.describe(choices)}, not an array")
    choice = choices[0]
    if type(choice) is not dict:
        choice = _wire.as_object(choice, "choices[0]")
    wire = choice.get("message")
    if type(wire) is not dict:
        wire = _wire.as_object(wire, "choices[0].message", optional=True)
    fragments = wire.get("tool_calls")
    calls: list[ToolCall] = []
    if fragments:
        if type(fragments) is not list:
            fragments = _wire.as_list(fragments, "choices[0].message.tool_calls")
        for index, fragment in enumerate(fragments):
            call = _tool_call(fragment, index)
            if call is not None:
                calls.append(call)
    text = wire.get("content") or wire.get("refusal") or ""
    if type(text) is not str:
        _wire.as_text(text, "choices[0].message.content" if wire.get("content")
                      else "choices[0].message.refusal")
    reason = _wire.stop_reason(choice.get("finish_reason"), FINISH_REASONS, has_calls=bool(calls))
    message = Message(role=Role.ASSISTANT, content=text, tool_calls=calls or None,
                      stop_reason=reason)
    return message, _usage(data.get("usage"), model)


def _tool_call(wire: Any, index: int) -> ToolCall | None:
    if type(wire) is not dict:
        wire = _wire.as_object(wire, f"choices[0].message.tool_calls[{index}]")
    kind = wire.get("type")
    if kind is not None and kind != "function":
        return None  # a kind of tool call we never offer (custom tools)
    function = wire.get("function")
    if type(function) is not dict:
        function = _wire.as_object(function, f"choices[0].message.tool_calls[{index}].function")
    name = function.get("name")
    if type(name) is not str or not name:
        _wire.as_name(name, f"choices[0].message.tool_calls[{index}]")
    return _wire.tool_call(name, function.get("arguments"), wire.get("id"))


def _usage(wire: Any, model: str, *, stream: bool = False) -> UsageStats:
    if type(wire) is not dict:
        wire = _wire.as_object(wire, "usage", stream=stream, optional=True)
    prompt, completion = wire.get("prompt_tokens"), wire.get("completion_tokens")
    if type(prompt) is not int or prompt < 0:
        prompt = _wire.as_count(prompt, "usage.prompt_tokens", stream=stream)
    if type(completion) is not int or completion < 0:
        completion = _wire.as_count(completion, "usage.completion_tokens", stream=stream)
    return UsageStats.priced(model=model, provider=PROVIDER, prompt_tokens=prompt,
                             completion_tokens=completion)


# ---------------------------------------------------------------------------------------------
# Stream


@dataclass
class _PendingCall:
    id: str | None
    name: str
    arguments: str
    index: int | None = None  # the server's `index`, which may repeat across calls


async def decode_stream(events: AsyncIterator[SseEvent | WholeJson], model: str, *,
                        tool_deltas: bool = False) -> AsyncGenerator[StreamItem, None]:
    """Turn `chat.completion.chunk` events into text deltas, whole ToolCalls, the turn's end
    and usage (or a whole answer sent where a stream was asked for into the same)."""
    event: SseEvent | WholeJson | None = None
    calls: dict[int, _PendingCall] = {}
    usage: UsageStats | None = None
    finish_reason: Any = None  # the first one: its TurnEnd comes once the stream ends
    has_calls = False
    done = False
    async for event in events:
        data = event.data
        if type(data) is not str:  # a WholeJson's parsed answer (one test per event, cheap)
            for item in _wire.whole_answer_items(data, parse_response, model):
                yield item
            return
        # Chunks are JSON objects; only something else can be the end marker, so the payload
        # is not copied by strip() on every event.
        if not data.startswith("{") and data.strip() == "[DONE]":
            done = True
            break
        chunk = _wire.stream_object(data)
        if chunk.get("error"):
            raise reported_error(chunk["error"], provider=PROVIDER, stream=True,
                                 context_length=_too_long)
        if chunk.get("usage"):
            usage = _usage(chunk["usage"], model, stream=True)
        choices = chunk.get("choices")
        if type(choices) is not list:
            choices = _wire.as_list(choices, "choices", stream=True)
        for choice in choices:
            if type(choice) is not dict:
                choice = _wire.as_object(choice, "choices[0]", stream=True)
            if choice.get("index", 0) != 0:
                continue  # we ask for one choice (n=1)
            delta = choice.get("delta")
            if type(delta) is not dict:
                delta = _wire.as_object(delta, "choices[0].delta", stream=True, optional=True)
            text = delta.get("content") or delta.get("refusal")
            if text:
                yield text if type(text) is str else _wire.as_text(text, "choices[0].delta.content",
                                                                   stream=True)
            fragments = delta.get("tool_calls")
            if fragments:
                where = "choices[0].delta.tool_calls"
                for fragment in _wire.as_list(fragments, where, stream=True):
                    _merge_fragment(calls, fragment)
            reason = choice.get("finish_reason")
            if reason:
                finish_reason = finish_reason or reason
                for call in _flush(calls):
                    has_calls = True
                    yield call
    if event is None:  # the loop never ran: not one event came
        raise _wire.empty_stream()
    # Either end marker will do: some compatible servers send [DONE] without a
    # finish_reason, or a finish_reason and no [DONE]. Neither: the stream was cut.
    if not (done or finish_reason):
        raise _wire.unfinished_stream("a finish_reason or [DONE]")
    for call in _flush(calls):  # [DONE] without a finish_reason: the calls are complete
        has_calls = True
        yield call
    if finish_reason:
        yield _wire.turn_end(finish_reason, FINISH_REASONS, has_calls=has_calls)
    if usage is not None:
        yield usage
    await read_to_end(events)


def _merge_fragment(calls: dict[int, _PendingCall], fragment: Any) -> None:
    """Add one `tool_calls` delta to the calls being assembled (keyed in arrival order)."""
    # Types are checked inline (a fragment may come per token); the checks name the place.
    where = "choices[0].delta.tool_calls[]"
    if type(fragment) is not dict:
        fragment = _wire.as_object(fragment, where, stream=True)
    function = fragment.get("function")
    if type(function) is not dict:
        function = _wire.as_object(function, f"{where}.function", stream=True, optional=True)
    index, call_id, name = fragment.get("index"), fragment.get("id"), function.get("name")
    if call_id is not None and type(call_id) is not str:
        _wire.as_text(call_id, f"{where}.id", stream=True)
    if type(name) is not str:
        name = _wire.as_text(name, f"{where}.function.name", stream=True)
    arguments = function.get("arguments")
    if type(arguments) is not str:
        # Some servers send the arguments as an object, whole: kept as its JSON text.
        arguments = "" if arguments is None else json.dumps(arguments)
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
        calls[len(calls)] = _PendingCall(call_id, name, arguments,
                                         index if type(index) is int else None)
        return
    if call_id and not pending.id:
        pending.id = call_id
    if name and name != pending.name:
        # OpenAI sends the name once; some servers repeat it whole, others send it in pieces.
        pending.name = name if not pending.name else pending.name + name
    pending.arguments += arguments


def _flush(calls: dict[int, _PendingCall]) -> list[ToolCall]:
    done = [_wire.tool_call(_wire.as_name(call.name, f"tool call {position}", stream=True),
                            call.arguments, call.id)
            for position, (_, call) in enumerate(sorted(calls.items()))]
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


def _error_from_payload(payload: Mapping[str, Any], *, status: int,
                        headers: Mapping[str, str]) -> ProviderError:
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
    context_length = bool({code, kind} & _CONTEXT_LENGTH_CODES) or _too_long(message)
    return error_for_status(provider=PROVIDER, status=status, headers=headers,
                            message=message, error_type=code or kind,
                            context_length=context_length)


_too_long = _wire.says_any(_CONTEXT_LENGTH_WORDS)


# ---------------------------------------------------------------------------------------------
# Provider

PROTOCOL = WireProtocol(
    name=PROVIDER, framing="sse", build_request=_request, encode_tools=encode_tools,
    parse_response=parse_response, decode_stream=decode_stream,
    error_from_response=error_from_response, default_model=DEFAULT_MODEL,
    default_base_url=DEFAULT_BASE_URL, api_key_env=("OPENAI_API_KEY",),
    base_url_env=("OPENAI_BASE_URL",),
)


class OpenAIProvider(HttpProvider):
    """Chat Completions over HTTP, for OpenAI and any OpenAI-compatible server.

    The key comes from `api_key` or `OPENAI_API_KEY`, the server from `base_url` or
    `OPENAI_BASE_URL`. A local server usually needs no key; api.openai.com does, and
    making the provider for it without one raises `AuthenticationError`.
    """

    name = PROVIDER
    default_model = DEFAULT_MODEL

    def __init__(self, model: str | None = None, api_key: str | None = None,
                 base_url: str | None = None, organization: str | None = None,
                 timeout: float | None = 60.0, max_retries: int = 2,
                 name: str | None = None) -> None:
        headers = {"OpenAI-Organization": organization} if organization else None
        super().__init__(PROTOCOL, api_key=api_key, base_url=base_url, model=model,
                         timeout=timeout, max_retries=max_retries, headers=headers, name=name)
