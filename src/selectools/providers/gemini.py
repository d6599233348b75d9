"""Google's Gemini API (generativelanguage v1beta), spoken directly over HTTP.

`POST /v1beta/models/{model}:generateContent`, and `:streamGenerateContent?alt=sse` for
streams. The API key travels in the `x-goog-api-key` header, never in the URL, so it cannot
leak into an error message or a log line that quotes the URL.

The three pure parts, tested on recorded transcripts without a network:

- `build_request_body`: the system prompt goes in `systemInstruction`; roles are `user` and
  `model`; tools are `functionDeclarations` whose JSON Schema is cut down to the OpenAPI
  subset Gemini accepts (`gemini_schema`); tool calls are `functionCall` parts and tool
  results `functionResponse` parts (name plus a `{"result": text}` object). Consecutive
  messages of one role are merged, so the results of parallel calls share one turn.
- `parse_response` and `decode_stream`: Gemini sends each `functionCall` whole. Its
  `thoughtSignature` (Gemini 3 refuses the next turn without it) is kept on
  `ToolCall.provider_data["thoughtSignature"]` and sent back in the same part; calls that
  Gemini 3 did not sign (another provider's) get Google's documented sentinel. Gemini's own
  call id is kept when it gives one; otherwise an id is made, because our tool results are
  linked to calls by id. Usage comes from `usageMetadata` (in a stream, the last one seen);
  thinking tokens count as completion tokens, as Google bills them.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .._json import loads as loads_json
from ..types import ContentPart, Message, Role, ToolCall
from ..usage import UsageStats
from ._framing import SseEvent
from ._http_provider import HttpProvider
from ._status import error_for_status
from .errors import InvalidRequestError, ProviderError

if TYPE_CHECKING:
    from ..tools import Tool
    from .base import StreamItem

PROVIDER = "gemini"
DEFAULT_MODEL = "gemini-2.5-flash"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
THOUGHT_SIGNATURE = "thoughtSignature"
SKIP_SIGNATURE_VALIDATION = "skip_thought_signature_validator"

_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*),(?P<data>.*)$",
                       re.DOTALL)
_CONTEXT_LENGTH_HINTS = ("input token count", "exceeds the maximum number of tokens",
                         "context window")
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")

# The parts of JSON Schema that Gemini's `Schema` object understands; the rest is dropped.
_SCHEMA_KEYS = frozenset({
    "type", "format", "description", "nullable", "enum", "items", "properties", "required",
    "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern",
    "minProperties", "maxProperties", "propertyOrdering",
})
# Gemini refuses any other `format` with a 400.
_FORMATS = {"STRING": {"enum", "date-time"}, "NUMBER": {"float", "double"},
            "INTEGER": {"int32", "int64"}}



def model_path(model: str, *, stream: bool) -> str:
    """The URL path of a call to `model` ("gemini-2.5-flash" or "models/gemini-2.5-flash")."""
    name = model.removeprefix("models/")
    method = "streamGenerateContent" if stream else "generateContent"
    return f"/v1beta/models/{quote(name, safe='-._~')}:{method}"


# ---------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------

def build_request_body(*, system_prompt: str | None, messages: Sequence[Message],
                       tools: Sequence[Tool] | None = None, temperature: float = 0.0,
                       max_tokens: int = 1000, model: str = "") -> dict[str, Any]:
    """The JSON body of a generateContent / streamGenerateContent request."""
    system_texts = [system_prompt] if system_prompt else []
    system_texts += [m.content for m in messages if m.role is Role.SYSTEM and m.content]
    body: dict[str, Any] = {
        "contents": _convert_messages(messages, needs_signatures=_needs_signatures(model)),
        "generationConfig": {"temperature": temperature, "maxOutputTokens": max_tokens},
    }
    if system_texts:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system_texts)}]}
    if tools:
        body["tools"] = [{"functionDeclarations": [function_declaration(t) for t in tools]}]
    return body


def function_declaration(tool: Tool) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": tool.name, "description": tool.description or ""}
    schema = gemini_schema(tool.parameters_schema or {})
    # A tool without parameters is declared without `parameters`; an empty OBJECT is refused.
    if schema.get("properties"):
        declaration["parameters"] = schema
    return declaration


def gemini_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` in the OpenAPI subset Gemini accepts: `$ref`s inlined, `allOf` of one merged,
    `["x", "null"]` and `anyOf [..., null]` as `nullable`, types in upper case, unknown keys
    (additionalProperties, $defs, title, default, ...) dropped, non-string enums moved into
    the description. A recursive `$ref` is cut to a bare OBJECT."""
    definitions = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    return _convert_schema(schema, definitions, ())


def _convert_schema(schema: Mapping[str, Any], definitions: Mapping[str, Any],
                    seen: tuple[str, ...]) -> dict[str, Any]:
    node = dict(schema)
    ref = node.pop("$ref", None)
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in definitions:
            return {"type": "OBJECT", **_description(node)}
        return _convert_schema({**definitions[name], **node}, definitions, (*seen, name))
    all_of = node.pop("allOf", None)
    if isinstance(all_of, list) and all_of:
        merged: dict[str, Any] = {}
        for piece in all_of:
            merged.update(piece)
        return _convert_schema({**merged, **node}, definitions, seen)

    out: dict[str, Any] = {}
    nullable = False
    options = node.pop("anyOf", None) or node.pop("oneOf", None)
    if isinstance(options, list):
        rest = [o for o in options if o.get("type") != "null"]
        nullable = len(rest) < len(options)
        if len(rest) == 1:
            out = _convert_schema({**rest[0], **node}, definitions, seen)
            if nullable:
                out["nullable"] = True
            return out
        out["anyOf"] = [_convert_schema(o, definitions, seen) for o in rest]

    kind = node.get("type")
    if isinstance(kind, list):
        real = [k for k in kind if k != "null"]
        nullable = nullable or len(real) < len(kind)
        kind = real[0] if real else None
    if "const" in node and "enum" not in node:
        node["enum"] = [node["const"]]
    if isinstance(kind, str):
        out["type"] = kind.upper()
    elif "enum" in node:
        out["type"] = "STRING"

    for key, value in node.items():
        if key not in _SCHEMA_KEYS or key == "type":
            continue
        if key == "properties":
            out[key] = {name: _convert_schema(sub, definitions, seen)
                        for name, sub in value.items()}
        elif key == "items" and isinstance(value, dict):
            out[key] = _convert_schema(value, definitions, seen)
        elif key == "enum":
            if all(isinstance(v, str) for v in value):
                out["enum"] = list(value)
                out["type"] = "STRING"
            else:
                allowed = ", ".join(json.dumps(v) for v in value)
                out["description"] = f"{node.get('description') or ''} (one of: {allowed})"
                out["description"] = out["description"].strip()
        elif key == "format":
            if value in _FORMATS.get(out.get("type", ""), ()):
                out[key] = value
        elif key == "description" and "description" in out:
            continue  # already written with the allowed values
        else:
            out[key] = value
    if nullable:
        out["nullable"] = True
    return out


def _description(node: Mapping[str, Any]) -> dict[str, Any]:
    return {"description": node["description"]} if node.get("description") else {}


def _needs_signatures(model: str) -> bool:
    """Gemini 3 refuses a replayed model turn whose function calls carry no signature."""
    return model.rsplit("/", 1)[-1].startswith("gemini-3")


def _convert_messages(messages: Sequence[Message], *,
                      needs_signatures: bool = False) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = []
    names_by_id: dict[str, str] = {}
    for message in messages:
        if message.role is Role.SYSTEM:
            continue
        if message.role is Role.ASSISTANT:
            role = "model"
            parts = [{"text": message.content}] if message.content else []
            calls = [_function_call_part(call) for call in message.tool_calls or ()]
            if needs_signatures and calls and not any(THOUGHT_SIGNATURE in c for c in calls):
                # Calls Gemini did not make (another provider's, before a fallback) have no
                # signature; Google documents this sentinel for them. The first call of a
                # turn is the one that carries it, as in Gemini's own answers.
                calls[0][THOUGHT_SIGNATURE] = SKIP_SIGNATURE_VALIDATION
            parts.extend(calls)
            for call in message.tool_calls or ():
                if call.id:
                    names_by_id[call.id] = call.tool_name
        elif message.role is Role.TOOL:
            role = "user"
            parts = [_function_response_part(message, names_by_id)]
        else:
            role = "user"
            parts = [p for p in map(_content_part, message.parts()) if p is not None]
        if not parts:
            continue  # Gemini refuses a turn without parts.
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return contents


def _function_call_part(call: ToolCall) -> dict[str, Any]:
    function_call: dict[str, Any] = {"name": call.tool_name, "args": call.parameters or {}}
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
        "name": name, "response": {"result": message.content or message.tool_result or ""},
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
    match = _DATA_URL.match(url)
    if match is not None:
        if ";base64" not in match["params"]:
            raise ValueError("image data: URLs must be base64-encoded (data:<type>;base64,...)")
        return {"inlineData": {"mimeType": part.media_type or match["media"] or "image/png",
                               "data": match["data"]}}
    file_data: dict[str, Any] = {"fileUri": url}
    media_type = part.media_type or mimetypes.guess_type(url.split("?", 1)[0])[0]
    if media_type:
        file_data["mimeType"] = media_type
    return {"fileData": file_data}


# ---------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------

def parse_response(data: Any, model: str) -> tuple[Message, UsageStats]:
    """A whole generateContent response as our assistant message and its usage."""
    if not isinstance(data, dict):
        raise ProviderError(f"unexpected response shape: {_preview(data)}", provider=PROVIDER)
    _raise_if_error(data)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for item in _response_parts(data):
        if isinstance(item, str):
            texts.append(item)
        else:
            calls.append(item)
    message = Message(role=Role.ASSISTANT, content="".join(texts), tool_calls=calls or None)
    return message, _usage(data.get("usageMetadata"), data.get("modelVersion") or model)


async def decode_stream(events: AsyncIterator[SseEvent], model: str) -> AsyncIterator[StreamItem]:
    """Text deltas and whole tool calls as each chunk arrives, then the usage."""
    usage_metadata: Any = None
    response_model = model
    async for event in events:
        try:
            chunk = loads_json(event.data)
        except json.JSONDecodeError:
            raise ProviderError(f"malformed stream chunk: {event.data[:200]!r}",
                                provider=PROVIDER) from None
        if not isinstance(chunk, dict):
            continue
        _raise_if_error(chunk)
        for item in _response_parts(chunk):
            yield item
        usage_metadata = chunk.get("usageMetadata") or usage_metadata
        response_model = chunk.get("modelVersion") or response_model
    yield _usage(usage_metadata, response_model)


def _response_parts(data: Mapping[str, Any]) -> list[str | ToolCall]:
    candidates = data.get("candidates") or []
    if not candidates:
        blocked = (data.get("promptFeedback") or {}).get("blockReason")
        if blocked:
            raise InvalidRequestError(f"Gemini blocked the prompt ({blocked})",
                                      provider=PROVIDER, error_type=blocked)
        return []
    items: list[str | ToolCall] = []
    for part in (candidates[0].get("content") or {}).get("parts") or ():
        if part.get("thought"):
            continue  # a thought summary, not part of the answer
        if part.get("text"):
            items.append(part["text"])
        elif isinstance(part.get("functionCall"), dict):
            items.append(_tool_call(part))
    return items


def _tool_call(part: Mapping[str, Any]) -> ToolCall:
    function_call = part["functionCall"]
    signature = part.get(THOUGHT_SIGNATURE)
    return ToolCall(
        tool_name=function_call["name"],
        parameters=dict(function_call.get("args") or {}),
        id=function_call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
        provider_data={THOUGHT_SIGNATURE: signature} if signature else None,
    )


def _usage(metadata: Any, model: str) -> UsageStats:
    metadata = metadata if isinstance(metadata, dict) else {}
    completion = int(metadata.get("candidatesTokenCount") or 0)
    completion += int(metadata.get("thoughtsTokenCount") or 0)
    return UsageStats.priced(model=model, provider=PROVIDER,
                             prompt_tokens=int(metadata.get("promptTokenCount") or 0),
                             completion_tokens=completion)


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------

def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """The typed error for a non-2xx answer of the Gemini API."""
    try:
        payload: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        payload = None
    if isinstance(payload, list) and payload:  # streamed errors may come as a JSON array
        payload = payload[0]
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return _error(payload["error"], status=status, headers=headers)
    message = body.decode("utf-8", "replace")[:500].strip() or f"HTTP {status}"
    return error_for_status(provider=PROVIDER, status=status, message=message, headers=headers)


def _raise_if_error(payload: Mapping[str, Any]) -> None:
    """Gemini may put an error object inside a 200 stream; raise it as a typed error."""
    error = payload.get("error")
    if isinstance(error, dict):
        raise _error(error, status=int(error.get("code") or 500), headers={})


def _error(error: Mapping[str, Any], *, status: int, headers: Mapping[str, str]) -> ProviderError:
    message = str(error.get("message") or f"HTTP {status}")
    result = error_for_status(
        provider=PROVIDER, status=status, message=message, headers=headers,
        error_type=error.get("status"),
        context_length=any(hint in message.lower() for hint in _CONTEXT_LENGTH_HINTS),
    )
    if result.retry_after is None:
        result.retry_after = retry_delay(error)
    return result


def retry_delay(error: Mapping[str, Any]) -> float | None:
    """Seconds from a `google.rpc.RetryInfo` detail (`"retryDelay": "20s"`), if any."""
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and detail.get("@type") == _RETRY_INFO:
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match[1])
    return None


def _preview(data: Any) -> str:
    return json.dumps(data)[:300] if data is not None else "empty body"


# ---------------------------------------------------------------------------------------
# Provider
# ---------------------------------------------------------------------------------------

class GeminiProvider(HttpProvider):
    """Gemini models through the generativelanguage v1beta API.

    The key comes from `api_key`, `GEMINI_API_KEY` or `GOOGLE_API_KEY` and is sent in the
    `x-goog-api-key` header; `base_url` defaults to https://generativelanguage.googleapis.com.
    """

    name = PROVIDER
    default_model = DEFAULT_MODEL

    def __init__(self, model: str | None = None, api_key: str | None = None,
                 base_url: str | None = None, timeout: float | None = 60.0,
                 max_retries: int = 2) -> None:
        api_key = api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        base_url = base_url or DEFAULT_BASE_URL
        if not api_key and base_url.rstrip("/") == DEFAULT_BASE_URL:
            raise ValueError("GeminiProvider needs an API key: pass api_key=... or set "
                             "GEMINI_API_KEY (or GOOGLE_API_KEY)")
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout,
                         max_retries=max_retries, model=model)

    def _auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"x-goog-api-key": api_key} if api_key else {}

    def _build_request(self, *, model: str, system_prompt: str, messages: list[Message],
                       tools: Sequence[Tool] | None, temperature: float, max_tokens: int,
                       stream: bool) -> tuple[str, dict[str, Any], dict[str, str] | None]:
        body = build_request_body(system_prompt=system_prompt, messages=messages, tools=tools,
                                  temperature=temperature, max_tokens=max_tokens, model=model)
        return model_path(model, stream=stream), body, {"alt": "sse"} if stream else None

    _parse_response = staticmethod(parse_response)
    _decode_stream = staticmethod(decode_stream)
    _error_from_response = staticmethod(error_from_response)
