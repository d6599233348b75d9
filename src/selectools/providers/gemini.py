"""Google's Gemini API (generativelanguage v1beta), spoken directly over HTTP.

`POST /v1beta/models/{model}:generateContent`, and `:streamGenerateContent?alt=sse` for
streams. The API key travels in the `x-goog-api-key` header, never in the URL, so it cannot
leak into an error message or a log line that quotes the URL.

The three pure parts, tested on recorded transcripts without a network:

- `build_request_body`: the system prompt goes in `systemInstruction`; roles are `user` and
  `model`; tools are `functionDeclarations` whose JSON Schema is cut down to the OpenAPI
  subset Gemini accepts (`_gemini_schema.py`); tool calls are `functionCall` parts and tool
  results `functionResponse` parts (name plus a `{"result": text}` object). Consecutive
  messages of one role are merged, so the results of parallel calls share one turn. A typed
  answer is `responseJsonSchema` (where the model cannot take it beside function
  declarations, Gemini 2.5, it is asked for in the system prompt instead); the reasoning
  setting is `thinkingConfig` (what each model takes: `_gemini_models.py`).
  A tool's images (the tool message's `content_parts`) go, for Gemini 3 and later, inside
  its function response (`functionResponse.parts`, the multimodal function response: the
  model reads them as the tool's output); older models do not take that, so for them the
  images go as `inlineData` parts in the same user turn as the function responses, after
  the turn's last one, each tool's behind a text part naming its call. (An image by URL,
  a `fileData` part, goes the second way on every model: the Gemini API takes no file
  reference in a function response.)
- `parse_response` and `decode_stream`: Gemini sends each `functionCall` whole. Its
  `thoughtSignature` (Gemini 3 refuses the next turn without it) is kept on
  `ToolCall.provider_data["thoughtSignature"]` and sent back in the same part; calls that
  Gemini 3 did not sign (another provider's) get Google's documented sentinel. Gemini's own
  call id is kept when it gives one; otherwise an id is made, because our tool results are
  linked to calls by id. Usage comes from `usageMetadata` (in a stream, the last one seen);
  thinking tokens count as completion tokens, as Google bills them, and as
  `reasoning_tokens`. `finishReason` becomes the turn's stop reason (`FINISH_REASONS`;
  MALFORMED_FUNCTION_CALL and the like: "error").

Reasoning. Parts marked `thought: true` are thought summaries: in a stream each is a
`ReasoningDelta`, and a block of them (ended by the part that carries its signature, or by
the answer's first text or call) one `ReasoningPart(text, signature, protocol="gemini")`;
never answer text. Gemini also signs text parts (a Gemini 3 text answer's signature comes
on its last part, in a stream often an empty text part of its own): such a signature is
kept, in its place among the blocks, as a `ReasoningPart` with no text. On the next turn
the model turn is rebuilt as Gemini sent it: the thought parts with their signatures, then
the text (one part: the stream's pieces are joined, as every client library does) with the
text signature, then the calls with theirs.

They are described once as `PROTOCOL`; `GeminiProvider` glues it to HTTP.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ..types import (
    ContentPart,
    Message,
    OutputFormat,
    ReasoningDelta,
    ReasoningPart,
    Role,
    StopReason,
    ToolCall,
    ToolDefinition,
    TurnEnd,
)
from ..usage import UsageStats
from . import _wire
from ._framing import SseEvent, WholeJson
from ._gemini_models import (
    is_gemini_3,
    json_output_with_tools,
    takes_thinking,
    thinking_config,
)
from ._gemini_schema import gemini_schema
from ._http import MAX_EVENT_BYTES, MAX_RESPONSE_BYTES, MAX_STREAM_BYTES, POOL_SIZE
from ._http_provider import HttpProvider
from ._status import body_snippet, error_for_status, json_or_none, reported_error
from .base import StreamItem, with_instructions
from .errors import ProviderError
from .protocol import ModelRequest, WireProtocol, WireRequest, key_header

PROVIDER = "gemini"
DEFAULT_MODEL = "gemini-2.5-flash"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
THOUGHT_SIGNATURE = "thoughtSignature"
SKIP_SIGNATURE_VALIDATION = "skip_thought_signature_validator"

_CONTEXT_LENGTH_HINTS = ("input token count", "exceeds the maximum number of tokens",
                         "context window")
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")

FINISH_REASONS: dict[str, StopReason] = {
    "STOP": "completed", "MAX_TOKENS": "length",
    "SAFETY": "content_filter", "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error", "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error", "LANGUAGE": "error", "OTHER": "error",
    "FINISH_REASON_UNSPECIFIED": "error",
}



def model_path(model: str, *, stream: bool) -> str:
    """The URL path of a call to `model` ("gemini-2.5-flash" or "models/gemini-2.5-flash")."""
    name = model.removeprefix("models/")
    method = "streamGenerateContent" if stream else "generateContent"
    return f"/v1beta/models/{quote(name, safe='-._~')}:{method}"


# ---------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------

def build_request_body(*, system_prompt: str | None, messages: Sequence[Message],
                       tools: Sequence[ToolDefinition] | None = None,
                       temperature: float | None = None, max_tokens: int = 1000,
                       model: str = "", output: OutputFormat | None = None,
                       reasoning: str | int | None = None) -> dict[str, Any]:
    """The JSON body of a generateContent / streamGenerateContent request
    (`temperature=None` sends none: the model's default; see `generation_config` for
    `output` and `reasoning`)."""
    if output is not None and tools and not json_output_with_tools(model):
        system_prompt, output = with_instructions(system_prompt or "", output), None
    body: dict[str, Any] = {
        "contents": _convert_messages(messages, gemini_3=is_gemini_3(model)),
        "generationConfig": generation_config(max_tokens=max_tokens, temperature=temperature,
                                              model=model, output=output,
                                              reasoning=reasoning),
    }
    system = _wire.system_text(system_prompt, messages)
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if tools:
        body["tools"] = encode_tools(tools)
    return body


def _request(request: ModelRequest) -> WireRequest:
    # (tools are added by the provider, encoded once per tool list; a model that refuses
    # JSON output beside them is asked for the typed answer in words)
    system_prompt, output = request.system_prompt, request.output
    if output is not None and request.has_tools and not json_output_with_tools(request.model):
        system_prompt, output = with_instructions(system_prompt, output), None
    body = build_request_body(system_prompt=system_prompt, messages=request.messages,
                              temperature=request.temperature, max_tokens=request.max_tokens,
                              model=request.model, output=output, reasoning=request.reasoning)
    return WireRequest(model_path(request.model, stream=request.stream), body,
                       {"alt": "sse"} if request.stream else None)


def generation_config(*, max_tokens: int, temperature: float | None = None, model: str = "",
                      output: OutputFormat | None = None,
                      reasoning: str | int | None = None) -> dict[str, Any]:
    """`generationConfig`: the output limit, the temperature when set, a typed answer as
    `responseJsonSchema` (the strict schema when there is one, else the schema: the one
    policy) and the reasoning setting as `thinkingConfig` (`thinking_config`).

    Gemini counts thinking tokens against `maxOutputTokens`, so a thinking budget is added
    to it: the answer keeps the `max_tokens` the user asked for."""
    config: dict[str, Any] = {"maxOutputTokens": max_tokens}
    if temperature is not None:
        config["temperature"] = temperature
    if output is not None:
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = (output.strict_schema if output.strict_schema is not None
                                        else output.schema)
    if reasoning is not None:
        thinking = thinking_config(reasoning, model)  # (a bad setting is refused anyway)
        if not takes_thinking(model):  # Gemini 2.0 and older answer 400 to thinkingConfig
            return config
        config["thinkingConfig"] = thinking
        config["maxOutputTokens"] = max_tokens + thinking.get("thinkingBudget", 0)
    return config


def encode_tools(tools: Sequence[ToolDefinition]) -> list[dict[str, Any]]:
    return [{"functionDeclarations": [function_declaration(tool) for tool in tools]}]


def function_declaration(tool: ToolDefinition) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": tool.name, "description": tool.description or ""}
    schema = gemini_schema(tool.parameters_schema or {})
    # A tool without parameters is declared without `parameters`; an empty OBJECT is refused.
    if schema.get("properties"):
        declaration["parameters"] = schema
    return declaration


def _convert_messages(messages: Sequence[Message], *,
                      gemini_3: bool = False) -> list[dict[str, Any]]:
    """`gemini_3`: the model needs its calls signed, and takes a tool's images in the
    function response itself."""
    contents: list[dict[str, Any]] = []
    names_by_id: dict[str, str] = {}
    images: list[dict[str, Any]] = []  # the tools' images, after the turn's last response
    for message in messages:
        if message.role is Role.SYSTEM:
            continue
        if images and message.role is not Role.TOOL:
            _wire.append_turn(contents, "user", images, "parts")
            images = []
        if message.role is Role.ASSISTANT:
            parts = _model_parts(message)
            calls = [_function_call_part(call) for call in message.tool_calls or ()]
            if gemini_3 and calls and not any(THOUGHT_SIGNATURE in c for c in calls):
                # Calls Gemini did not make (another provider's, before a fallback) have no
                # signature; Google documents this sentinel for them. The first call of a
                # turn is the one that carries it, as in Gemini's own answers.
                calls[0][THOUGHT_SIGNATURE] = SKIP_SIGNATURE_VALIDATION
            parts.extend(calls)
            for call in message.tool_calls or ():
                if call.id:
                    names_by_id[call.id] = call.tool_name
            _wire.append_turn(contents, "model", parts, "parts")
        elif message.role is Role.TOOL:
            response = _function_response_part(message, names_by_id)
            _wire.append_turn(contents, "user", [response], "parts")
            if message.content_parts:
                media = _tool_media(message)
                if gemini_3:
                    inline = [part for part in media if "inlineData" in part]
                    if inline:
                        response["functionResponse"]["parts"] = inline
                    media = [part for part in media if "inlineData" not in part]
                images.extend(_named_media(media, message,
                                           response["functionResponse"]["name"]))
        else:
            _wire.append_turn(contents, "user",
                              [p for p in map(_content_part, message.parts()) if p is not None],
                              "parts")
    if images:
        _wire.append_turn(contents, "user", images, "parts")
    return contents


def _tool_media(message: Message) -> list[dict[str, Any]]:
    """A tool's images as `inlineData` (or `fileData`) parts (its text is the response)."""
    return [p for p in map(_content_part, message.content_parts or ())
            if p is not None and "text" not in p]


def _named_media(media: list[dict[str, Any]], message: Message,
                 name: str) -> list[dict[str, Any]]:
    """Media parts outside the function response, after a text part naming the call they
    came from (the model cannot otherwise tell whose they are)."""
    if not media:
        return []
    call = f" (call {message.tool_call_id})" if message.tool_call_id else ""
    return [{"text": f"Images from tool {name}{call}:"}, *media]


def _model_parts(message: Message) -> list[dict[str, Any]]:
    """The thought and text parts of a model turn as Gemini sent them: each thought block
    back as a `thought: true` part with its signature, then the answer's text with the
    signature that came on a text part (an empty text part when the text was empty). Only
    Gemini's reasoning goes back: another protocol's means nothing here."""
    parts: list[dict[str, Any]] = []
    text_signature: str | None = None
    for block in message.reasoning or ():
        if block.protocol != PROVIDER:
            continue
        if block.text:
            part: dict[str, Any] = {"text": block.text, "thought": True}
            if block.signature:
                part[THOUGHT_SIGNATURE] = block.signature
            parts.append(part)
        elif block.signature and text_signature is None:
            text_signature = block.signature
    if message.content or text_signature:
        part = {"text": message.content}
        if text_signature:
            part[THOUGHT_SIGNATURE] = text_signature
        parts.append(part)
    return parts


def _function_call_part(call: ToolCall) -> dict[str, Any]:
    function_call: dict[str, Any] = {"name": call.tool_name, "args": _wire.arguments_object(call)}
    if call.id:
        function_call["id"] = call.id
    part: dict[str, Any] = {"functionCall": function_call}
    signature = (call.provider_data or {}).get(THOUGHT_SIGNATURE)
    if signature:
        part[THOUGHT_SIGNATURE] = signature
    return part


def _function_response_part(message: Message, names_by_id: Mapping[str, str]) -> dict[str, Any]:
    name = message.tool_name or names_by_id.get(message.tool_call_id or "")
    if not name:
        raise ValueError(
            "a tool result message needs tool_name (or a tool_call_id of an earlier call): "
            "Gemini links function responses by name"
        )
    response: dict[str, Any] = {
        "name": name, "response": {"result": _wire.tool_result_text(message)},
    }
    if message.tool_call_id:
        response["id"] = message.tool_call_id
    return {"functionResponse": response}


def _content_part(part: ContentPart) -> dict[str, Any] | None:
    if part.type == "text":
        return {"text": part.text} if part.text else None
    if part.type == "image_base64":
        return {"inlineData": {"mimeType": part.media_type or "image/png",
                               "data": part.image_base64}}
    url = part.image_url or ""
    inline = _wire.split_data_url(url)
    if inline is not None:
        media_type, data = inline
        return {"inlineData": {"mimeType": part.media_type or media_type, "data": data}}
    file_data: dict[str, Any] = {"fileUri": url}
    guessed = part.media_type or mimetypes.guess_type(url.split("?", 1)[0])[0]
    if guessed:
        file_data["mimeType"] = guessed
    return {"fileData": file_data}


# ---------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------

def parse_response(data: Any, model: str) -> tuple[Message, UsageStats]:
    """A whole generateContent response as our assistant message (with its stop reason,
    and its thoughts and signatures as `reasoning`) and its usage."""
    data = _wire.as_object(data, "the answer")
    _raise_if_error(data, stream=False)
    texts: list[str] = []
    calls: list[ToolCall] = []
    reasoning: list[ReasoningPart] = []
    thoughts = _Thoughts()
    items, raw_reason, blocked = _response_parts(data, thoughts, stream=False)
    thoughts.close_into(items)
    for item in items:
        if type(item) is str:
            texts.append(item)
        elif type(item) is ToolCall:
            calls.append(item)
        elif type(item) is ReasoningPart:
            reasoning.append(item)
    reason = "content_filter" if blocked else _wire.stop_reason(
        raw_reason, FINISH_REASONS, has_calls=bool(calls))
    message = Message(role=Role.ASSISTANT, content="".join(texts), tool_calls=calls or None,
                      stop_reason=reason, reasoning=reasoning or None)
    return message, _usage(data.get("usageMetadata"), _model_of(data, model), stream=False)


async def decode_stream(events: AsyncIterator[SseEvent | WholeJson], model: str, *,
                        tool_deltas: bool = False) -> AsyncGenerator[StreamItem, None]:
    """Text deltas, thought fragments (a `ReasoningDelta` each, then the block as a
    `ReasoningPart` when it ends) and whole tool calls as each chunk arrives, the turn's
    end, then the usage (or the same from a whole answer sent where a stream was asked
    for). Gemini sends calls whole, so there are no argument fragments to yield: the agent
    makes one delta per call itself (`tool_deltas` is accepted for the protocol's sake)."""
    event: SseEvent | WholeJson | None = None
    has_calls = False
    usage_metadata: Any = None
    response_model = model
    finish_reason: Any = None  # its TurnEnd comes once the stream ends
    blocked = False
    thoughts = _Thoughts()  # a thought block may span chunks
    async for event in events:
        if isinstance(event, WholeJson):
            for item in _wire.whole_answer_items(event.data, parse_response, model):
                yield item
            return
        chunk = _wire.stream_object(event.data)
        _raise_if_error(chunk, stream=True)
        if not (finish_reason or blocked):
            items, raw_reason, prompt_blocked = _response_parts(chunk, thoughts, stream=True)
            blocked = prompt_blocked
            for item in items:
                if type(item) is ToolCall:
                    has_calls = True
                yield item
            finish_reason = raw_reason
        # (else the turn has ended: a later chunk's parts are no part of it, and a call
        # there is no call the model made; its usage and model still count)
        usage_metadata = chunk.get("usageMetadata") or usage_metadata
        response_model = _model_of(chunk, response_model)
    if event is None:  # the loop never ran: not one event came
        raise _wire.empty_stream()
    if not (finish_reason or blocked):
        raise _wire.unfinished_stream("a finishReason")
    if thoughts.texts:  # a turn that ended while thinking (cut by max_tokens, say)
        yield thoughts.close(None)
    if blocked:
        yield TurnEnd("content_filter", finish_reason)
    elif finish_reason:
        yield _wire.turn_end(finish_reason, FINISH_REASONS, has_calls=has_calls)
    yield _usage(usage_metadata, response_model, stream=True)


def _model_of(data: Mapping[str, Any], model: str) -> str:
    version = data.get("modelVersion")
    return version if type(version) is str and version else model


class _Thoughts:
    """The thought block being read: the text of its `thought: true` parts so far. A block
    ends with the part that carries its signature, or where the answer (text, a call)
    begins, and becomes one ReasoningPart."""

    __slots__ = ("texts",)

    def __init__(self) -> None:
        self.texts: list[str] = []

    def close(self, signature: str | None) -> ReasoningPart:
        block = ReasoningPart("".join(self.texts), signature, None, PROVIDER)
        self.texts = []
        return block

    def close_into(self, items: list[StreamItem]) -> None:
        if self.texts:
            items.append(self.close(None))


def _response_parts(data: Mapping[str, Any], thoughts: _Thoughts, *,
                    stream: bool) -> tuple[list[StreamItem], Any, bool]:
    """The answer's items: text pieces, tool calls and reasoning (see `_Thoughts`; a
    signature on a text part, or on an empty one as a stream's last chunk brings it, is
    kept as a ReasoningPart with no text, in its place); the raw finishReason (None until
    the chunk that ends the turn) and whether the prompt was blocked (then the raw reason
    is the `promptFeedback.blockReason`, and the turn ends "content_filter", whatever its
    word)."""
    candidates = _wire.as_list(data.get("candidates"), "candidates", stream=stream)
    if not candidates:
        feedback = data.get("promptFeedback")
        if feedback is None and not stream:  # `{}`, another API's answer: not an empty one
            raise _wire.malformed("the answer has no candidates and no promptFeedback")
        feedback = _wire.as_object(feedback, "promptFeedback", stream=stream, optional=True)
        blocked = feedback.get("blockReason")
        return [], str(blocked) if blocked else None, bool(blocked)
    candidate = _wire.as_object(candidates[0], "candidates[0]", stream=stream)
    content = _wire.as_object(candidate.get("content"), "candidates[0].content", stream=stream,
                              optional=True)
    items: list[StreamItem] = []
    for index, part in enumerate(_wire.as_list(content.get("parts"), "candidates[0].content.parts",
                                               stream=stream)):
        where = f"candidates[0].content.parts[{index}]"
        if type(part) is not dict:
            part = _wire.as_object(part, where, stream=stream)
        text = part.get("text")
        if part.get("thought"):  # a thought summary: reasoning, never the answer
            _read_thought(part, text, thoughts, items, where, stream=stream)
            continue
        if thoughts.texts:  # the answer begins: the thought block before it ends
            items.append(thoughts.close(None))
        if text:
            items.append(text if type(text) is str
                         else _wire.as_text(text, f"{where}.text", stream=stream))
            if part.get(THOUGHT_SIGNATURE):
                items.append(_text_signature(part, where, stream=stream))
        if part.get("functionCall") is not None:  # (beside text too: neither is lost)
            items.append(_tool_call(part, f"{where}.functionCall", stream=stream))
        elif not text and part.get(THOUGHT_SIGNATURE):
            items.append(_text_signature(part, where, stream=stream))
    return items, candidate.get("finishReason"), False


def _read_thought(part: Mapping[str, Any], text: Any, thoughts: _Thoughts,
                  items: list[StreamItem], where: str, *, stream: bool) -> None:
    if text:
        if type(text) is not str:
            text = _wire.as_text(text, f"{where}.text", stream=stream)
        thoughts.texts.append(text)
        items.append(ReasoningDelta(text))
    signature = _signature(part, where, stream=stream)
    if signature:
        items.append(thoughts.close(signature) if thoughts.texts
                     else ReasoningPart("", signature, None, PROVIDER))


def _text_signature(part: Mapping[str, Any], where: str, *, stream: bool) -> ReasoningPart:
    return ReasoningPart("", _signature(part, where, stream=stream), None, PROVIDER)


def _signature(part: Mapping[str, Any], where: str, *, stream: bool) -> str | None:
    signature = part.get(THOUGHT_SIGNATURE)
    if signature is None or type(signature) is str:
        return signature
    return _wire.as_text(signature, f"{where}.{THOUGHT_SIGNATURE}", stream=stream)


def _tool_call(part: Mapping[str, Any], where: str, *, stream: bool) -> ToolCall:
    function_call = _wire.as_object(part["functionCall"], where, stream=stream)
    # (checked like every signature: it goes back on the next turn as it came)
    signature = _signature(part, where.removesuffix(".functionCall"), stream=stream)
    return _wire.tool_call(_wire.as_name(function_call.get("name"), where, stream=stream),
                           function_call.get("args"), function_call.get("id"),
                           provider_data={THOUGHT_SIGNATURE: signature} if signature else None)


def _usage(metadata: Any, model: str, *, stream: bool) -> UsageStats:
    metadata = _wire.as_object(metadata, "usageMetadata", stream=stream, optional=True)

    def count(key: str) -> int:
        return _wire.as_count(metadata.get(key), f"usageMetadata.{key}", stream=stream)

    # candidatesTokenCount leaves the thoughts out (prompt + candidates + thoughts make
    # totalTokenCount); they are billed as output, so completion tokens include them.
    thoughts = count("thoughtsTokenCount")
    return UsageStats.priced(model=model, provider=PROVIDER,
                             prompt_tokens=count("promptTokenCount"),
                             completion_tokens=count("candidatesTokenCount") + thoughts,
                             reasoning_tokens=thoughts)


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------

def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """The typed error for a non-2xx answer of the Gemini API."""
    payload = json_or_none(body)
    if isinstance(payload, list) and payload:  # streamed errors may come as a JSON array
        payload = payload[0]
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return _error(payload["error"], status=status, headers=headers)
    message = body_snippet(body) or f"HTTP {status}"
    return error_for_status(provider=PROVIDER, status=status, message=message, headers=headers)


def _raise_if_error(payload: Mapping[str, Any], *, stream: bool) -> None:
    """Gemini may put an error object inside a 200 answer or stream; raise it as a typed
    error (by its code, else its status word: `reported_error`)."""
    error = payload.get("error")
    if error:
        result = reported_error(error, provider=PROVIDER, stream=stream,
                                context_length=_too_long)
        if result.retry_after is None and isinstance(error, dict):
            result.retry_after = retry_delay(error)
        raise result


def _error(error: Mapping[str, Any], *, status: int, headers: Mapping[str, str]) -> ProviderError:
    message = str(error.get("message") or f"HTTP {status}")
    result = error_for_status(
        provider=PROVIDER, status=status, message=message, headers=headers,
        error_type=str(error["status"]) if error.get("status") else None,
        context_length=_too_long(message),
    )
    if result.retry_after is None:
        result.retry_after = retry_delay(error)
    return result


_too_long = _wire.says_any(_CONTEXT_LENGTH_HINTS)


def retry_delay(error: Mapping[str, Any]) -> float | None:
    """Seconds from a `google.rpc.RetryInfo` detail (`"retryDelay": "20s"`), if any."""
    details = error.get("details")
    for detail in details if type(details) is list else ():  # (any other shape: no delay)
        if isinstance(detail, dict) and detail.get("@type") == _RETRY_INFO:
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match[1])
    return None


# ---------------------------------------------------------------------------------------
# Provider
# ---------------------------------------------------------------------------------------

PROTOCOL = WireProtocol(
    name=PROVIDER, framing="sse", build_request=_request, encode_tools=encode_tools,
    parse_response=parse_response, decode_stream=decode_stream,
    error_from_response=error_from_response, default_model=DEFAULT_MODEL,
    default_base_url=DEFAULT_BASE_URL, api_key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    auth_headers=key_header("x-goog-api-key"), native_output=True, reasoning=True,
)


class GeminiProvider(HttpProvider):
    """Gemini models through the generativelanguage v1beta API.

    The key comes from `api_key`, `GEMINI_API_KEY` or `GOOGLE_API_KEY` and is sent in the
    `x-goog-api-key` header (the hosted API refuses calls without one: `AuthenticationError`
    is raised here); `base_url` defaults to https://generativelanguage.googleapis.com.
    """

    name = PROVIDER
    default_model = DEFAULT_MODEL

    def __init__(self, model: str | None = None, api_key: str | None = None,
                 base_url: str | None = None, timeout: float | None = 60.0,
                 max_retries: int = 2, name: str | None = None,
                 max_response_bytes: int | None = MAX_RESPONSE_BYTES,
                 max_event_bytes: int | None = MAX_EVENT_BYTES,
                 max_stream_bytes: int | None = MAX_STREAM_BYTES,
                 max_connections: int = POOL_SIZE) -> None:
        super().__init__(PROTOCOL, api_key=api_key, base_url=base_url, model=model,
                         timeout=timeout, max_retries=max_retries, name=name,
                         max_response_bytes=max_response_bytes,
                         max_event_bytes=max_event_bytes,
                         max_stream_bytes=max_stream_bytes, max_connections=max_connections)

