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

A tool's images (the tool message's `content_parts`): a `tool` message takes text only, and
the tool messages must follow their assistant message directly, so the images of a turn's
tools go in ONE user message right after its last tool message, each tool's behind a text
part naming it and its call, as `image_url` parts (base64 images as `data:` URLs).

Tool-call deltas (`tool_deltas=True`): each non-empty `function.arguments` fragment is also
yielded as a `ToolCallDelta` the moment it arrives, indexed by the call's ordinal in the turn.

Reasoning. Compatible servers stream the model's reasoning beside `content`: as
`reasoning_content` (DeepSeek, llama.cpp's server, older vLLM, Qwen on DashScope) or
`reasoning` (Groq, OpenRouter, newer vLLM), OpenRouter also as `reasoning_details` (typed
items that may carry an Anthropic `signature` or OpenAI's encrypted `data`). Each fragment
is a `ReasoningDelta`; the block is one `ReasoningPart` (protocol "openai") yielded when the
first text or tool-call delta arrives, or when the turn ends. It never reaches `content`.
A server without a reasoning parser leaves it in the content as `<think>...</think>`: a
block opening the answer is read as reasoning the same way (`_think.py`), never sent back.
api.openai.com's Chat Completions shows no reasoning, only `reasoning_tokens` in the usage.

Sending it back (the one rule): every assistant message whose reasoning came from this
protocol, from the model now asked, carries it back in later requests, in the field it
came in: `reasoning_content` or `reasoning` with its text, or OpenRouter's
`reasoning_details` unchanged (instead of the text). Another model's reasoning is not sent:
every compatible server speaks this protocol, and one server's field is another's 400
(after a fallback from DeepSeek to Groq, say, or `agent.provider = ...`). Why, per API:
- DeepSeek thinking mode (deepseek-reasoner, V3.2, V4) answers 400 "The
  `reasoning_content` in the thinking mode must be passed back to the API" when an
  assistant message that called tools lacks it, in every later request
  (api-docs.deepseek.com/guides/thinking_mode); on other turns it is ignored, so those
  carry theirs too (one rule, and vercel/ai#14739 found V4 wanting it on every turn).
- OpenRouter asks for `reasoning_details` back unmodified, which carries the signature
  that Anthropic models verify on a tool-use turn (openrouter.ai/docs, reasoning tokens).
- Groq and Cerebras refuse an unknown field ("property 'reasoning_content' is
  unsupported"), and Groq takes `reasoning` back (vercel/ai#7860): hence the field it came
  in, never both. llama.cpp's server and vLLM read it into the chat template, which keeps
  what the model needs.
- api.openai.com refuses unknown message fields and has no reasoning text: nothing is sent
  there, whatever a message holds (from a fallback, say).
The part keeps what goes back in `ReasoningPart.signature`, the JSON text of `{"model":
<the model asked>}` with `"field": "reasoning"` and/or `"reasoning_details": [...]`
(a part without a model, saved by an earlier version, goes back to any).

Settings: `ModelRequest.reasoning` becomes `reasoning_effort` (on api.openai.com only for its
reasoning models, o1, o3, o4 and gpt-5: the others answer 400 to it, and the setting may be
meant for another provider of a fallback chain); a token budget is sent as the
least effort whose budget covers it, after Google's published mapping of those efforts to
thinking budgets on its OpenAI-compatible endpoint (low 1,024, medium 8,192, high 24,576
tokens): up to 1,024 "low", up to 8,192 "medium", more "high". A typed answer
(`ModelRequest.output`) becomes `response_format` `json_schema` with the strict schema and
`strict: true` when it has one, else the plain schema and `strict: false`; tools go in the
same request. api.openai.com's models older than Structured Outputs (gpt-3.5, gpt-4,
gpt-4-turbo) refuse it: they are asked in the system prompt instead.
Usage: `completion_tokens_details.reasoning_tokens` (or a top-level `reasoning_tokens`, as
Azure's DeepSeek sends) is `UsageStats.reasoning_tokens`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._dataclass import new_tuple
from .._json import scan as scan_json
from ..types import (
    RAW_ARGUMENTS_KEY,
    REASONING_EFFORTS,
    ContentPart,
    Message,
    OutputFormat,
    ReasoningDelta,
    ReasoningPart,
    Role,
    StopReason,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    made_message,
)
from ..usage import UsageStats
from . import _wire
from ._framing import SseEvent, WholeJson, event_batches, read_to_end
from ._http import MAX_EVENT_BYTES, MAX_RESPONSE_BYTES, MAX_STREAM_BYTES, POOL_SIZE
from ._http_provider import HttpProvider
from ._status import body_snippet, error_for_status, json_or_none, reported_error
from ._think import ThinkSplitter, split_think
from ._wire import MAX_COUNT
from .base import StreamItem, with_instructions
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
#: A reasoning budget (tokens) up to which each effort is sent (see the module doc).
EFFORT_BUDGETS: tuple[tuple[int, str], ...] = ((1024, "low"), (8192, "medium"))
# The reasoning field most servers use.
_REASONING_CONTENT = "reasoning_content"
# The keys of an OpenRouter reasoning_details item whose streamed fragments continue it.
_DETAIL_TEXTS = frozenset({"text", "summary", "data"})
#: The fields of a whole answer's message that `_message_reasoning` reads.
_REASONING_FIELDS = frozenset({_REASONING_CONTENT, "reasoning", "reasoning_details"})
# The roles, read per message of every request: in Python 3.11 `Role.TOOL` costs a
# descriptor call each time (about 4 dict reads), a module constant one read.
_TOOL, _ASSISTANT, _SYSTEM, _USER = Role.TOOL, Role.ASSISTANT, Role.SYSTEM, Role.USER


# ---------------------------------------------------------------------------------------------
# Request


def build_request_body(*, model: str, system_prompt: str, messages: Sequence[Message],
                       tools: Sequence[ToolDefinition] | None = None,
                       temperature: float | None = None, max_tokens: int = 1000,
                       stream: bool = False, hosted: bool = False,
                       output: OutputFormat | None = None,
                       reasoning: str | int | None = None) -> dict[str, Any]:
    """The JSON body of a `POST /chat/completions`, built as the provider builds it: for
    api.openai.com when `hosted`, else for a compatible server. `temperature=None` sends
    none: the model's default."""
    body = _request(ModelRequest(model, system_prompt, messages, temperature, max_tokens,
                                 stream, hosted, output, reasoning)).body
    if tools:
        body["tools"] = encode_tools(tools)
    return body


def _request(request: ModelRequest) -> WireRequest:
    """The request without tools (the provider adds those, encoded once per tool list)."""
    model = request.model
    # api.openai.com's reasoning models refuse `max_tokens`; compatible servers all know it.
    max_tokens_field = "max_completion_tokens" if request.hosted else "max_tokens"
    hosted, output, system_prompt = request.hosted, request.output, request.system_prompt
    if output is not None and hosted and _without_json_schema(model):
        # api.openai.com refuses a json_schema response_format for these: asked in words.
        system_prompt, output = with_instructions(system_prompt, output), None
    wire_messages = _wire_messages(request.messages, hosted, model)  # (a list of its own)
    if system_prompt:
        wire_messages.insert(0, {"role": "system", "content": system_prompt})
    body: dict[str, Any] = {"model": model, "messages": wire_messages,
                            max_tokens_field: request.max_tokens}
    temperature = request.temperature
    if temperature is not None and not _reasons(model):
        body["temperature"] = temperature
    if request.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if output is not None:
        body["response_format"] = response_format(output)
    if request.reasoning is not None:
        effort = reasoning_effort(request.reasoning)  # (a bad setting is refused everywhere)
        if not hosted or _reasons(model):  # api.openai.com's other models refuse it
            body["reasoning_effort"] = effort
    # (made by tuple.__new__, every field given: no call of the NamedTuple's own __new__)
    return new_tuple(WireRequest, ("/chat/completions", body, None))


def _reasons(model: str) -> bool:
    """Whether `model` is one of OpenAI's reasoning models (which refuse `temperature`
    other than the default); asked only of a request that sets either."""
    return model.rsplit("/", 1)[-1].startswith(_REASONING_PREFIXES)


def _without_json_schema(model: str) -> bool:
    """Whether a model of api.openai.com predates Structured Outputs, which came with
    gpt-4o-2024-08-06 and gpt-4o-mini (platform.openai.com/docs/guides/structured-outputs):
    gpt-3.5, gpt-4 and gpt-4-turbo, and the first gpt-4o snapshot."""
    return model.startswith(("gpt-3.5", "gpt-4-")) or model in ("gpt-4", "gpt-4o-2024-05-13")


def response_format(output: OutputFormat) -> dict[str, Any]:
    """The `response_format` that constrains the answer to `output`'s schema: the strict
    variant with `strict: true` when there is one (OpenAI then guarantees the schema),
    else the plain schema, best effort."""
    strict = output.strict_schema
    return {"type": "json_schema", "json_schema": {
        "name": output.name, "schema": output.schema if strict is None else strict,
        "strict": strict is not None}}


def reasoning_effort(reasoning: str | int) -> str:
    """`reasoning_effort` for an effort or a token budget (see EFFORT_BUDGETS)."""
    if type(reasoning) is int:
        if reasoning < 1:
            raise ValueError(f"a reasoning budget must be a positive number of tokens, got "
                             f"{reasoning}")
        return next((effort for most, effort in EFFORT_BUDGETS if reasoning <= most), "high")
    if reasoning in REASONING_EFFORTS:
        return str(reasoning)
    raise ValueError(f"reasoning must be one of {list(REASONING_EFFORTS)} or a token budget "
                     f"(an int), got {reasoning!r}")


def encode_tools(tools: Sequence[ToolDefinition]) -> list[dict[str, Any]]:
    return [_wire_tool(tool) for tool in tools]


def _wire_tool(tool: ToolDefinition) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters_schema}
    if tool.description:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def _wire_messages(messages: Sequence[Message], hosted: bool, model: str
                   ) -> list[dict[str, Any]]:
    """Each message's wire form (`_wire_message`'s), the tools' images after their turn.

    Most of a history is tool results with their call's id and user text: those two are
    written here, in the one loop, with no call per message; every other message (and a
    role given as its plain string) takes `_wire_message`. tests/test_s9_provider_wire.py
    holds the two to the same output."""
    wire: list[dict[str, Any]] = []
    images = False
    for message in messages:
        role = message.role
        if role is _TOOL and message.tool_call_id:
            result = message.tool_result
            wire.append({"role": "tool", "tool_call_id": message.tool_call_id,
                         "content": message.content if result is None else result})
            if message.content_parts:
                images = True
        elif role is _USER and not message.content_parts:
            wire.append({"role": "user", "content": message.content})
        else:
            wire.append(_wire_message(message, hosted, model))
            if message.content_parts and role is _TOOL:
                images = True
    return _with_tool_images(messages, wire) if images else wire


def _with_tool_images(messages: Sequence[Message], wire: list[dict[str, Any]]
                      ) -> list[dict[str, Any]]:
    """`wire` with the tools' images as one user message after each turn's last tool
    message: a `tool` message takes text only, and the tool messages must follow their
    assistant message directly. A text part names the call each image came from."""
    out: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    for message, wired in zip(messages, wire, strict=True):
        if images and message.role is not _TOOL:
            out.append({"role": "user", "content": images})
            images = []
        out.append(wired)
        if message.role is _TOOL and message.content_parts:
            images.extend(_tool_image_parts(message))
    if images:
        out.append({"role": "user", "content": images})
    return out


def _tool_image_parts(message: Message) -> list[dict[str, Any]]:
    parts = [_wire_part(p) for p in message.content_parts or () if p.type != "text"]
    if not parts:
        return []
    call = f" (call {message.tool_call_id})" if message.tool_call_id else ""
    label = f"Images from tool {message.tool_name or 'a tool'}{call}:"
    return [{"type": "text", "text": label}, *parts]


def _wire_message(message: Message, hosted: bool = False, model: str = "") -> dict[str, Any]:
    role = message.role
    if role == _TOOL:
        result = _wire.tool_result_text(message)
        if not message.tool_call_id:
            # Without an id OpenAI cannot link the result to a call; keep it as plain text.
            name = message.tool_name or "a tool"
            return {"role": "user", "content": f"Result of {name}: {result}"}
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": result}
    if role == _ASSISTANT:
        wire: dict[str, Any] = {"role": "assistant", "content": message.content or None}
        if message.tool_calls:
            # (a call with its id written here, without a call of _wire_tool_call each)
            wire["tool_calls"] = [
                {"id": call.id, "type": "function", "function": {
                    "name": call.tool_name, "arguments": call.arguments_json()}}
                if call.id else _wire_tool_call(call) for call in message.tool_calls]
        elif wire["content"] is None:
            wire["content"] = ""
        if message.reasoning and not hosted:  # (api.openai.com refuses the fields)
            _add_reasoning(wire, message.reasoning, model)
        return wire
    if role == _SYSTEM:
        return {"role": "system", "content": message.content}
    if message.content_parts:  # the question text too, not only the parts
        return {"role": "user", "content": [_wire_part(part) for part in message.parts()]}
    return {"role": "user", "content": message.content}


def _add_reasoning(wire: dict[str, Any], parts: Sequence[ReasoningPart], model: str) -> None:
    """Put this protocol's reasoning parts made by `model` back on an assistant message,
    each in the field it came in (see the module doc); other protocols' and other models'
    parts mean nothing here."""
    texts: dict[str, list[str]] = {}
    details: list[Any] = []
    for part in parts:
        if part.protocol != PROVIDER:
            continue
        field, part_details, made_by = _sent_back_as(part)
        if made_by is not None and made_by != model:
            continue
        if part_details is not None:
            details.extend(part_details)  # OpenRouter's items stand for the text
        else:
            texts.setdefault(field, []).append(part.text)
    for field, pieces in texts.items():
        wire[field] = "".join(pieces)
    if details:
        wire["reasoning_details"] = details


def _sent_back_as(part: ReasoningPart) -> tuple[str, list[Any] | None, str | None]:
    """The field a part's text goes back in, OpenRouter's details when it has them, and
    the model that made it (None when the part does not say)."""
    if part.signature is None:
        return _REASONING_CONTENT, None, None
    try:
        saved = json.loads(part.signature)
    except ValueError:
        saved = None
    field = saved.get("field", _REASONING_CONTENT) if type(saved) is dict else None
    details = saved.get("reasoning_details") if type(saved) is dict else None
    model = saved.get("model") if type(saved) is dict else None
    if field not in (_REASONING_CONTENT, "reasoning") or not (
            details is None or type(details) is list) or not (model is None or type(model) is str):
        raise ValueError("an assistant message's reasoning part (protocol 'openai') has a "
                         "signature that is not what this protocol saved: "
                         f"{body_snippet(part.signature)!r}")
    return field, details, model


def _reasoning_part(text: str, field: str, details: list[Any] | None,
                    model: str) -> ReasoningPart:
    """A whole reasoning block of `model`'s, with what it needs to go back (see
    `_sent_back_as`)."""
    saved: dict[str, Any] = {"model": model}
    if field != _REASONING_CONTENT:
        saved["field"] = field
    if details:
        saved["reasoning_details"] = details
    return ReasoningPart(text, json.dumps(saved, ensure_ascii=False), None, PROVIDER)


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
            # The usual call, read inline: a function with its name, JSON-object arguments
            # as text, and an id (_wire.tool_call's reading of them, without its call).
            # Any other shape or kind takes _tool_call's checks, which decide it and name
            # the place. (A fragment or function that is no object fails a subscript.)
            try:
                function = fragment["function"]
                name, arguments, call_id = function["name"], function["arguments"], \
                    fragment["id"]
            except (TypeError, KeyError, IndexError):
                name = None
            if type(name) is str and name and type(arguments) is str \
                    and type(call_id) is str and call_id \
                    and fragment.get("type", "function") == "function":
                try:
                    parameters, end = scan_json(arguments, 0)
                except (StopIteration, ValueError, RecursionError):
                    end = None
                if end == len(arguments) and type(parameters) is dict \
                        and RAW_ARGUMENTS_KEY not in parameters:
                    made = ToolCall(name, parameters, call_id)
                    made.keep_json_text(arguments)
                    calls.append(made)
                    continue
            call = _tool_call(fragment, index)
            if call is not None:
                calls.append(call)
    text = wire.get("content") or wire.get("refusal") or ""
    if type(text) is not str:
        _wire.as_text(text, "choices[0].message.content" if wire.get("content")
                      else "choices[0].message.refusal")
    # (_wire.stop_reason's mapping, inline: the one call per answer it cost)
    raw = choice.get("finish_reason")
    reason: StopReason = FINISH_REASONS.get(raw, "completed") if type(raw) is str else "completed"
    if reason == "completed" and calls:
        reason = "tool_calls"
    # (most answers have none of the fields: no call for them)
    reasoning = None if _REASONING_FIELDS.isdisjoint(wire) else _message_reasoning(wire, model)
    tagged, text = split_think(text)
    if tagged is not None:
        reasoning = [*(reasoning or ()), tagged]
    # (made without Message's checks: the role is ours, the text a str checked above)
    message = made_message(_ASSISTANT, text, None, None, calls or None, None, None, reason,
                           reasoning)
    return message, _usage(data.get("usage"), model)


def _message_reasoning(wire: dict[str, Any], model: str) -> list[ReasoningPart] | None:
    """The reasoning of a whole answer's message, as one part (None when it has none)."""
    field, thought = _REASONING_CONTENT, wire.get(_REASONING_CONTENT)
    if thought is None:
        field, thought = "reasoning", wire.get("reasoning")
    details = wire.get("reasoning_details")
    if not (thought or details):
        return None
    text = thought if type(thought) is str else _wire.as_text(thought,
                                                              f"choices[0].message.{field}")
    if details:
        where = "choices[0].message.reasoning_details"
        details = _wire.as_list(details, where)
        for index, item in enumerate(details):  # (objects only, as in a stream: sent back)
            _wire.as_object(item, f"{where}[{index}]")
    return [_reasoning_part(text, field, details or None, model)]


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
    if type(prompt) is not int or not 0 <= prompt <= MAX_COUNT:
        prompt = _wire.as_count(prompt, "usage.prompt_tokens", stream=stream)
    if type(completion) is not int or not 0 <= completion <= MAX_COUNT:
        completion = _wire.as_count(completion, "usage.completion_tokens", stream=stream)
    details = wire.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if type(details) is dict else None
    if reasoning is None:  # Azure's DeepSeek puts it beside the other counts
        reasoning = wire.get("reasoning_tokens")
    if type(reasoning) is not int or not 0 <= reasoning <= MAX_COUNT:
        reasoning = _wire.as_count(reasoning, "usage.completion_tokens_details.reasoning_tokens",
                                   stream=stream)
    return UsageStats.priced(model=model, provider=PROVIDER, prompt_tokens=prompt,
                             completion_tokens=completion, reasoning_tokens=reasoning)


# ---------------------------------------------------------------------------------------------
# Stream


@dataclass
class _PendingCall:
    id: str | None
    name: str
    #: The arguments' fragments, joined once the call is whole (adding each to a string
    #: would copy the arguments so far per fragment: quadratic in a long argument).
    arguments: list[str]
    index: int | None = None  # the server's `index`, which may repeat across calls
    key: int = 0  # its place in arrival order (its key in the calls being assembled)


@dataclass(slots=True)
class _Thinking:
    """A reasoning block as it streams: the model asked, the field it comes in, its text
    so far, and OpenRouter's `reasoning_details` items merged by their `index`."""

    model: str
    field: str
    texts: list[str]
    details: dict[int, dict[str, Any]] | None = None
    #: The text fragments of each detail item's text keys, joined into it at the end (not
    #: added up as they come, which is quadratic in a long reasoning).
    detail_texts: dict[tuple[int, str], list[str]] | None = None

    def add_details(self, items: Any) -> None:
        # A streamed item is a fragment of the item with its `index`: its text (or summary,
        # or encrypted data) continues that item's, any other key is set once it is not empty.
        merged = self.details if self.details is not None else {}
        pieces = self.detail_texts if self.detail_texts is not None else {}
        self.details, self.detail_texts = merged, pieces
        for item in _wire.as_list(items, "choices[0].delta.reasoning_details", stream=True):
            if type(item) is not dict:
                item = _wire.as_object(item, "choices[0].delta.reasoning_details[]",
                                       stream=True)
            at = item.get("index")
            if type(at) is not int:  # (an item without its number stands alone)
                at = -1 - len(merged)
            whole = merged.get(at)
            if whole is None:
                merged[at] = dict(item)  # (a copy: the fragments after it are added to it)
                continue
            for key, value in item.items():
                if key in _DETAIL_TEXTS and type(value) is str:
                    texts = pieces.get((at, key))
                    if texts is None:
                        first = whole.get(key)
                        pieces[at, key] = texts = [first] if type(first) is str else []
                    texts.append(value)
                elif value not in (None, "") and key != "index":
                    whole[key] = value

    def part(self) -> ReasoningPart:
        if self.details and self.detail_texts:
            for (at, key), texts in self.detail_texts.items():
                self.details[at][key] = "".join(texts)
        details = list(self.details.values()) if self.details else None
        return _reasoning_part("".join(self.texts), self.field, details, self.model)


async def decode_stream(events: AsyncIterator[SseEvent | WholeJson], model: str, *,
                        tool_deltas: bool = False) -> AsyncGenerator[StreamItem, None]:
    """Turn `chat.completion.chunk` events into text deltas, whole ToolCalls, the turn's end
    and usage (or a whole answer sent where a stream was asked for into the same); the
    model's reasoning as ReasoningDeltas and ReasoningParts, and with `tool_deltas` a
    ToolCallDelta per fragment of a call's arguments."""
    event: SseEvent | WholeJson | None = None
    calls: dict[int, _PendingCall] = {}
    flushed = 0  # calls already yielded this turn (the next call's ordinal starts there)
    thinking: _Thinking | None = None  # the reasoning block being streamed
    tags: ThinkSplitter | None = ThinkSplitter()  # None once the text shows no <think> block
    usage: UsageStats | None = None
    finish_reason: Any = None  # the first one: its TurnEnd comes once the stream ends
    has_calls = False
    done = False
    # Read by the batch each read of the body brought: no generator step per event.
    async for batch in event_batches(events):
        for event in batch:
            data = event.data
            # A chunk is one JSON object, taken straight from json's scanner (what
            # _json.loads does, one call fewer per event). Anything else takes the slow
            # path: the end marker, a WholeJson's parsed answer (not a str: TypeError),
            # whitespace around the object, what is not JSON or not an object.
            try:
                chunk, end = scan_json(data, 0)
            except (StopIteration, ValueError, RecursionError, TypeError):
                chunk = end = None
            if type(chunk) is not dict or end != len(data):
                if type(data) is not str:  # a WholeJson's parsed answer
                    for item in _wire.whole_answer_items(data, parse_response, model):
                        yield item
                    return
                if data.strip() == "[DONE]":
                    done = True
                    break
                chunk = _wire.stream_object(data)  # the object, or the error naming the data
            if "error" in chunk and chunk["error"]:
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
                if choice.get("index") or finish_reason:
                    # Another choice (we ask for one, n=1; a null index is the one), or
                    # anything for it after its finish_reason: the turn has ended, and
                    # a call sent after that is no call the model made in it.
                    continue
                delta = choice.get("delta")
                if type(delta) is not dict:
                    delta = _wire.as_object(delta, "choices[0].delta", stream=True, optional=True)
                text = delta.get("content")
                if len(delta) == 1 and type(text) is str and text and thinking is None \
                        and tags is None:
                    # The usual delta once the answer has begun: the next piece of its text
                    # and nothing else (no refusal, calls or reasoning beside it, no block
                    # open, no <think> tag to look for).
                    yield text
                else:
                    text = text or delta.get("refusal")
                    fragments = delta.get("tool_calls")
                    # OpenAI's own deltas hold text alone or calls alone: only another delta can
                    # carry reasoning, so those pay one len() for it.
                    if len(delta) > 1 or not (text or fragments):
                        field, thought = _REASONING_CONTENT, delta.get(_REASONING_CONTENT)
                        if thought is None:
                            field, thought = "reasoning", delta.get("reasoning")
                        details = delta.get("reasoning_details")
                        # (an empty field opens no block: some servers send "" beside every token)
                        if thought or details:
                            if thinking is None:
                                thinking = _Thinking(model, field, [])
                            if thought:
                                if type(thought) is not str:
                                    thought = _wire.as_text(thought, f"choices[0].delta.{field}",
                                                            stream=True)
                                thinking.texts.append(thought)
                                yield ReasoningDelta(thought)
                            if details:
                                thinking.add_details(details)
                    if text:
                        if thinking is not None:  # the answer begins: the reasoning block is whole
                            yield thinking.part()
                            thinking = None
                        if type(text) is not str:
                            text = _wire.as_text(text, "choices[0].delta.content", stream=True)
                        if tags is None:
                            yield text
                        else:  # the answer's first characters: a <think> block or not
                            for piece in tags.feed(text):
                                yield piece
                            if tags.plain:
                                tags = None
                    if fragments:
                        if thinking is not None:
                            yield thinking.part()
                            thinking = None
                        if tags is not None:  # the text ends here: what it held is due now
                            for piece in tags.close():
                                yield piece
                            tags = None
                        if type(fragments) is not list:
                            fragments = _wire.as_list(fragments, "choices[0].delta.tool_calls",
                                                      stream=True)
                        for fragment in fragments:
                            key = _merge_fragment(calls, fragment)
                            if tool_deltas:
                                arguments = _fragment_arguments(fragment)
                                if arguments:
                                    pending = calls[key]
                                    yield ToolCallDelta(flushed + key, pending.id, pending.name,
                                                        arguments)
                reason = choice.get("finish_reason")
                if reason:
                    finish_reason = reason
                    if thinking is not None:
                        yield thinking.part()
                        thinking = None
                    if tags is not None:
                        for piece in tags.close():
                            yield piece
                        tags = None
                    for call in _flush(calls):
                        has_calls = True
                        flushed += 1
                        yield call
        if done:
            break
    if event is None:  # the loop never ran: not one event came
        raise _wire.empty_stream()
    # Either end marker will do: some compatible servers send [DONE] without a
    # finish_reason, or a finish_reason and no [DONE]. Neither: the stream was cut.
    if not (done or finish_reason):
        raise _wire.unfinished_stream("a finish_reason or [DONE]")
    if thinking is not None:
        yield thinking.part()
    if tags is not None:
        for piece in tags.close():
            yield piece
    for call in _flush(calls):  # [DONE] without a finish_reason: the calls are complete
        has_calls = True
        yield call
    if finish_reason:
        yield _wire.turn_end(finish_reason, FINISH_REASONS, has_calls=has_calls)
    if usage is not None:
        yield usage
    await read_to_end(events)


def _fragment_arguments(fragment: dict[str, Any]) -> str:
    """The piece of arguments text one (already checked) fragment brings."""
    arguments = (fragment.get("function") or {}).get("arguments")
    if type(arguments) is str:
        return arguments
    return "" if arguments is None else json.dumps(arguments)


def _merge_fragment(calls: dict[int, _PendingCall], fragment: Any) -> int:
    """Add one `tool_calls` delta to the calls being assembled (keyed in arrival order);
    the key of the call it belongs to."""
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
    if type(name) is not str:  # (None in every fragment after a call's first)
        name = "" if name is None else _wire.as_text(name, f"{where}.function.name",
                                                     stream=True)
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
        # The last call with this index: most often the last call (its next fragment).
        pending = calls[len(calls) - 1] if calls else None  # (keys: 0, 1, ... in order)
        if pending is not None and pending.index != index:
            pending = next((c for c in reversed(calls.values()) if c.index == index), None)
        if pending is not None and call_id and pending.id and call_id != pending.id:
            # Some servers (Ollama's /v1, gateways) send parallel calls all at index 0,
            # each with its own id: a new id is a new call, never more of the last one.
            pending = None
    if pending is None:
        key = len(calls)
        calls[key] = _PendingCall(call_id, name, [arguments], index if type(index) is int else None,
                                  key)
        return key
    if call_id and not pending.id:
        pending.id = call_id
    if name and name != pending.name:
        # OpenAI sends the name once; some servers repeat it whole, others send it in pieces.
        pending.name = name if not pending.name else pending.name + name
    pending.arguments.append(arguments)
    return pending.key


def _flush(calls: dict[int, _PendingCall]) -> list[ToolCall]:
    done = [_wire.tool_call(_wire.as_name(call.name, f"tool call {position}", stream=True),
                            "".join(call.arguments), call.id)
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
    base_url_env=("OPENAI_BASE_URL",), native_output=True, reasoning=True,
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
                 name: str | None = None, max_response_bytes: int | None = MAX_RESPONSE_BYTES,
                 max_event_bytes: int | None = MAX_EVENT_BYTES,
                 max_stream_bytes: int | None = MAX_STREAM_BYTES,
                 max_connections: int = POOL_SIZE) -> None:
        headers = {"OpenAI-Organization": organization} if organization else None
        super().__init__(PROTOCOL, api_key=api_key, base_url=base_url, model=model,
                         timeout=timeout, max_retries=max_retries, headers=headers, name=name,
                         max_response_bytes=max_response_bytes,
                         max_event_bytes=max_event_bytes,
                         max_stream_bytes=max_stream_bytes, max_connections=max_connections)
