"""Anthropic's Messages API (`POST /v1/messages`), spoken directly over HTTP.

The pure parts, tested on recorded transcripts without a network, and described once as
`PROTOCOL` (see `protocol.py`):

- `build_request_body` turns our messages into Anthropic's: the system text goes in the
  top-level `system` field, tool calls become `tool_use` blocks and tool results become
  `tool_result` blocks linked by id. Anthropic wants strictly alternating roles and all the
  results of one turn's parallel calls in ONE user message, so consecutive messages that map
  to the same role are merged into one message with several blocks. `temperature` is sent
  only when set: newer models refuse sampling parameters, and the API version (the
  `anthropic-version` header, `AnthropicProvider(api_version=...)`) decides what is valid.
  A tool's images (the tool message's `content_parts`) go inside its `tool_result`, whose
  `content` is then an array: the text block, then an `image` block per picture (a
  `base64` source, or a `url` one for an image URL), as the API's tool_result takes them.
- `parse_response` reads a whole response into `(Message, UsageStats)`, with its stop reason.
- `decode_stream` turns the server-sent events of a streamed response into text deltas
  (yielded the moment they arrive), complete `ToolCall`s (at each `content_block_stop`),
  one `TurnEnd` (from `message_delta`'s stop_reason) and one `UsageStats` at the end; with
  `tool_deltas=True`, also a `ToolCallDelta` per `input_json_delta` fragment (its `index` is
  the call's ordinal among this turn's tool_use blocks, not the content block's index).
  Block types we do not know (server tools, ...) are skipped. An `event: error` inside the
  stream raises the matching typed `ProviderError`.

Thinking (extended or adaptive): each `thinking_delta` is a `ReasoningDelta`, and each
`thinking` block, at its end, one `ReasoningPart(text, signature, protocol="anthropic")`; a
`redacted_thinking` block (encrypted, no text) is a `ReasoningPart(redacted=data)`. They are
kept on `Message.reasoning`, never in its content, and sent back on the next turn first in
the assistant message, unchanged, before its text and tool_use blocks: Anthropic refuses a
tool-use turn whose thinking was dropped or altered. Parts made by another protocol, and a
thinking block without its signature (one cut by max_tokens), are not sent. With
interleaved thinking (adaptive thinking on the newest models turns it on) one answer may
hold thinking between its tool calls: every block is kept, in order among the reasoning,
and each call records how many of the answer's reasoning parts came before it
(`ToolCall.provider_data["reasoning_before"]`), so the turn goes back in its order:
the reasoning before the first call, the text, then each call after the reasoning that
preceded it (the API refuses thinking blocks moved from their place, "cannot be
modified"). The text's own place is not kept (a Message joins it): it goes before the
first call, where Claude writes it. `usage.output_tokens_details.thinking_tokens`,
where the API reports it, is `UsageStats.reasoning_tokens` (a part of the output tokens).

The reasoning setting (`ModelRequest.reasoning`, from `AgentConfig.reasoning`), by model:
- an effort ("low", "medium", "high") on a model with adaptive thinking (Claude 4.6 and
  later, and Claude names this module does not know, taken as newer) is
  `thinking: {"type": "adaptive", "display": "summarized"}` with `output_config.effort`
  (summarized: the newest models otherwise stream no thinking text at all);
- an effort on an older model (Claude 3.7 to 4.5), or on a server's own model that is not
  named claude-*, is a budget: low 1024, medium 4096, high 16384 tokens
  (`_anthropic_models.EFFORT_BUDGETS`);
- a budget (an int, at least 1024) is `thinking: {"type": "enabled", "budget_tokens": N}`.
  Claude 4.7 and later refuse budgets: a ValueError says to use an effort instead.
  The budget must be below `max_tokens`, which counts thinking and answer together: when
  it is not, `max_tokens` is raised to budget + max_tokens, so the answer keeps the
  allowance it was given. In adaptive mode `max_tokens` bounds thinking and answer alike.
- Claude 3.5 and older cannot think: they are sent no thinking (the API would answer 400,
  and the setting may be meant for another provider of a fallback chain).
- Within a tool loop whose assistant turn began without a thinking block (another
  provider's, before a fallback, or one begun without thinking) the API refuses thinking:
  that request goes without it (`thinking_may_continue`), as the API's own error advises.
- Thinking takes no sampling parameters: a `temperature` other than 1 (the only one the API
  accepts with thinking) with a reasoning setting is a ValueError naming both; 1 is not sent.

Typed output (`ModelRequest.output`) is constrained natively with Anthropic's structured
outputs, generally available without a beta header as `output_config.format: {"type":
"json_schema", "schema": ...}` (the older `output_format` parameter and its beta header
`structured-outputs-2025-11-13` are deprecated), on Claude Opus 4.1, the 4.5 models and
later. The schema sent is `strict_schema` (Anthropic, like OpenAI's strict mode, takes only
closed objects), with the keywords its constrained decoding refuses (numeric bounds, string
lengths, item counts other than minItems 0 or 1, unknown formats) moved into the
description as hints; the answer is still validated against the whole schema afterwards.
A request that cannot be constrained (an older or unknown model, a type with no strict
form, such as a map with free keys, or a recursive one, which the API refuses) gets
`output.instructions` in its system prompt instead.

Cut-off tool calls: when generation stops at `max_tokens` in the middle of a `tool_use`
block, the call is still yielded, with the JSON received so far as `{RAW_ARGUMENTS_KEY:
text}`, followed by `TurnEnd("length")`: the agent does not run it, and says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..types import (
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
)
from ..usage import UsageStats
from . import _wire, errors
from ._anthropic_models import (
    refuse_sampling,
    structured_output,
    takes_thinking,
    thinking_may_continue,
    thinking_settings,
)
from ._framing import SseEvent, WholeJson, read_to_end
from ._http import MAX_EVENT_BYTES, MAX_RESPONSE_BYTES, MAX_STREAM_BYTES, POOL_SIZE
from ._http_provider import HttpProvider
from ._status import body_snippet, error_for_status, json_or_none, reported_error
from .base import StreamItem, with_instructions
from .protocol import ModelRequest, WireProtocol, WireRequest, key_header

PROVIDER = "anthropic"
API_VERSION = "2023-06-01"
DEFAULT_MODEL = "claude-haiku-4-5"
DEFAULT_BASE_URL = "https://api.anthropic.com"
MESSAGES_PATH = "/v1/messages"

# Anthropic ids must match this; ids made by other providers are cleaned to fit.
_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
# Anthropic has no error type of its own for an over-long prompt; these are its wordings.
_CONTEXT_LENGTH_HINTS = ("prompt is too long", "exceed context limit", "context window")
STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "completed", "stop_sequence": "completed", "pause_turn": "completed",
    "tool_use": "tool_calls", "max_tokens": "length",
    "model_context_window_exceeded": "length", "refusal": "content_filter",
}


# ---------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------

def build_request_body(*, model: str, system_prompt: str | None, messages: Sequence[Message],
                       tools: Sequence[ToolDefinition] | None = None,
                       temperature: float | None = None, max_tokens: int = 1000,
                       stream: bool = False, output: OutputFormat | None = None,
                       reasoning: str | int | None = None) -> dict[str, Any]:
    """The JSON body of a Messages API request (`temperature=None` sends none; see the
    module's doc for `output` and `reasoning`)."""
    converted = _convert_messages(messages)
    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": converted}
    config: dict[str, Any] = {}
    if reasoning is not None and not takes_thinking(model):
        thinking_settings(model, reasoning, max_tokens)  # (a bad setting is refused anyway)
        reasoning = None  # the API answers 400 to thinking on these models
    if reasoning is not None:
        refuse_sampling(temperature)
        temperature = None  # (1, the only one accepted, is the default)
        thinking, effort, thinking_max_tokens = thinking_settings(model, reasoning, max_tokens)
        if thinking_may_continue(converted):
            body["thinking"], body["max_tokens"] = thinking, thinking_max_tokens
            if effort is not None:
                config["effort"] = effort
    if temperature is not None:
        body["temperature"] = temperature
    if output is not None:
        output_format = structured_output(model, output)
        if output_format is not None:
            config["format"] = output_format
        else:  # this request cannot be constrained: the answer is asked for in words
            system_prompt = with_instructions(system_prompt or "", output)
    if config:
        body["output_config"] = config
    system = _wire.system_text(system_prompt, messages)
    if system:
        body["system"] = system
    if tools:
        body["tools"] = encode_tools(tools)
    if stream:
        body["stream"] = True
    return body


def _request(request: ModelRequest) -> WireRequest:
    return WireRequest(MESSAGES_PATH, build_request_body(
        model=request.model, system_prompt=request.system_prompt, messages=request.messages,
        temperature=request.temperature, max_tokens=request.max_tokens, stream=request.stream,
        output=request.output, reasoning=request.reasoning))


def encode_tools(tools: Sequence[ToolDefinition]) -> list[dict[str, Any]]:
    return [tool_definition(tool) for tool in tools]


def tool_definition(tool: ToolDefinition) -> dict[str, Any]:
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
            blocks = _assistant_blocks(message, index)
            unanswered = [(b["id"], b["name"]) for b in blocks if b["type"] == "tool_use"]
            _wire.append_turn(converted, "assistant", blocks, "content")
        elif message.role is Role.TOOL:
            _wire.append_turn(converted, "user", [_tool_result_block(message, unanswered)],
                              "content")
        else:
            blocks = [b for b in map(_content_block, message.parts()) if b is not None]
            _wire.append_turn(converted, "user", blocks, "content")
    return converted


def _assistant_blocks(message: Message, index: int) -> list[dict[str, Any]]:
    # Thinking first, unchanged: a tool-use turn whose thinking was dropped is refused. With
    # interleaved thinking, each call goes back after the reasoning that preceded it (the
    # API refuses thinking blocks moved from their place: "cannot be modified").
    parts = message.reasoning or []
    calls = message.tool_calls or []
    places = [_reasoning_before(call, len(parts)) for call in calls]
    # The reasoning parts sent so far: those before the first call (a call's place is kept
    # only when reasoning came before it), or all of them when no call kept one.
    shown = (places[0] or 0) if any(place is not None for place in places) else len(parts)
    blocks = _reasoning_blocks(parts[:shown])
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for position, (call, place) in enumerate(zip(calls, places, strict=True)):
        if place is not None and place > shown:
            blocks.extend(_reasoning_blocks(parts[shown:place]))
            shown = place
        blocks.append({
            "type": "tool_use",
            "id": _wire_id(call.id) if call.id else f"toolu_m{index}_{position}",
            "name": call.tool_name,
            "input": _wire.arguments_object(call),
        })
    blocks.extend(_reasoning_blocks(parts[shown:]))
    return blocks


#: Where a call of an answer with interleaved thinking came: the number of the answer's
#: reasoning parts before it (kept in `ToolCall.provider_data`).
REASONING_BEFORE = "reasoning_before"


def _reasoning_before(call: ToolCall, parts: int) -> int | None:
    """The number of reasoning parts that came before `call`, when recorded (and possible)."""
    place = (call.provider_data or {}).get(REASONING_BEFORE)
    return place if type(place) is int and 0 <= place <= parts else None


def _reasoning_blocks(parts: Sequence[ReasoningPart]) -> list[dict[str, Any]]:
    """The thinking blocks Anthropic made, as it sent them; another protocol's reasoning
    means nothing here, and a thinking block without its signature (cut off) is refused."""
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if part.protocol != PROVIDER:
            continue
        if part.redacted:  # (an empty one, of the user's making, would be refused)
            blocks.append({"type": "redacted_thinking", "data": part.redacted})
        elif part.signature:
            blocks.append({"type": "thinking", "thinking": part.text,
                           "signature": part.signature})
    return blocks


def _tool_result_block(message: Message, unanswered: list[tuple[str, str]]) -> dict[str, Any]:
    text = _wire.tool_result_text(message)
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
    images = [b for b in map(_content_block, message.content_parts)
              if b is not None and b["type"] == "image"] if message.content_parts else None
    if images:  # a tool's images: the text block, then the image blocks
        block["content"] = [{"type": "text", "text": text}, *images] if text else images
    elif text:
        block["content"] = text
    return block


def _content_block(part: ContentPart) -> dict[str, Any] | None:
    if part.type == "text":
        return {"type": "text", "text": part.text} if part.text else None
    if part.type == "image_base64":
        return _image_block({"type": "base64", "media_type": part.media_type or "image/png",
                             "data": part.image_base64})
    url = part.image_url or ""
    inline = _wire.split_data_url(url)
    if inline is not None:
        media_type, data = inline
        return _image_block({"type": "base64", "media_type": part.media_type or media_type,
                             "data": data})
    return _image_block({"type": "url", "url": url})


def _image_block(source: dict[str, Any]) -> dict[str, Any]:
    return {"type": "image", "source": source}


def _wire_id(call_id: str) -> str:
    return _ID_UNSAFE.sub("_", call_id)


# ---------------------------------------------------------------------------------------
# Whole response
# ---------------------------------------------------------------------------------------

def parse_response(data: Any, model: str) -> tuple[Message, UsageStats]:
    """A whole Messages API response as our assistant message (with its stop reason) and
    its usage."""
    data = _wire.as_object(data, "the answer")
    if data.get("type") == "error" or data.get("error"):  # inside a 200, as gateways send
        raise error_from_stream_event(data, stream=False)
    texts: list[str] = []
    calls: list[ToolCall] = []
    reasoning: list[ReasoningPart] = []
    content = data.get("content")
    if content is None:  # `{}`, another API's answer: not an empty message
        raise _wire.malformed("the answer has no content")
    for index, block in enumerate(_wire.as_list(content, "content")):
        where = f"content[{index}]"
        block = _wire.as_object(block, where)
        kind = block.get("type")
        if kind == "text":
            texts.append(_wire.as_text(block.get("text"), f"{where}.text"))
        elif kind == "tool_use":
            name = _wire.as_name(block.get("name"), where)
            calls.append(_wire.tool_call(name, block.get("input"), block.get("id"),
                                         provider_data=_place(len(reasoning))))
        elif kind == "thinking":
            signature = _wire.as_text(block.get("signature"), f"{where}.signature")
            reasoning.append(ReasoningPart(
                _wire.as_text(block.get("thinking"), f"{where}.thinking"), signature or None,
                None, PROVIDER))
        elif kind == "redacted_thinking":
            reasoning.append(_redacted(block.get("data"), f"{where}.data"))
        # Other block types (server tool use and results) carry nothing for us.
    reason = _wire.stop_reason(data.get("stop_reason"), STOP_REASONS, has_calls=bool(calls))
    message = Message(role=Role.ASSISTANT, content="".join(texts), tool_calls=calls or None,
                      stop_reason=reason, reasoning=reasoning or None)
    usage = _Usage()
    usage.update(data.get("usage"), stream=False)
    model_name = data.get("model")
    return message, usage.stats(model_name if type(model_name) is str and model_name else model)


# ---------------------------------------------------------------------------------------
# Stream
# ---------------------------------------------------------------------------------------

_PROMPT_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


@dataclass
class _Usage:
    """Token counts as they grow over a stream. Anthropic's counts are cumulative."""

    input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0

    def update(self, usage: Any, *, stream: bool = True) -> None:
        usage = _wire.as_object(usage, "usage", stream=stream, optional=True)
        # Cache writes and reads are prompt tokens too; Anthropic counts them apart.
        if any(usage.get(key) is not None for key in _PROMPT_KEYS):
            self.input_tokens = sum(_wire.as_count(usage.get(key), f"usage.{key}", stream=stream)
                                    for key in _PROMPT_KEYS)
        if usage.get("output_tokens") is not None:
            self.output_tokens = _wire.as_count(usage["output_tokens"], "usage.output_tokens",
                                                stream=stream)
        details = usage.get("output_tokens_details")  # where the API reports thinking apart
        if details is not None:
            details = _wire.as_object(details, "usage.output_tokens_details", stream=stream)
            if details.get("thinking_tokens") is not None:
                self.thinking_tokens = _wire.as_count(
                    details["thinking_tokens"], "usage.output_tokens_details.thinking_tokens",
                    stream=stream)

    def stats(self, model: str) -> UsageStats:
        return UsageStats.priced(model=model, provider=PROVIDER, prompt_tokens=self.input_tokens,
                                 completion_tokens=self.output_tokens,
                                 reasoning_tokens=self.thinking_tokens)


def _place(reasoning_before: int) -> dict[str, Any] | None:
    """A call's provider_data: where it came among the answer's reasoning (see
    `_assistant_blocks`), when reasoning came before it."""
    return {REASONING_BEFORE: reasoning_before} if reasoning_before else None


@dataclass
class _ToolBlock:
    id: str
    name: str
    #: Its place among this turn's tool_use blocks (a ToolCallDelta's index).
    ordinal: int
    json_parts: list[str] = field(default_factory=list)
    #: The reasoning parts of the answer that came before it.
    reasoning_before: int = 0

    def finish(self) -> ToolCall:
        # Input not an object: {RAW_ARGUMENTS_KEY: text}.
        return _wire.tool_call(self.name, "".join(self.json_parts), self.id,
                               provider_data=_place(self.reasoning_before))

    def cut(self) -> ToolCall:
        """The block never ended (the turn stopped first): never runnable."""
        return _wire.cut_tool_call(self.name, "".join(self.json_parts), self.id)


@dataclass
class _ThinkingBlock:
    parts: list[str]
    #: The signature's fragments (joined at the end: adding each up is quadratic).
    signature: list[str]

    def finish(self) -> ReasoningPart:
        return ReasoningPart("".join(self.parts), "".join(self.signature) or None, None,
                             PROVIDER)


def _redacted(data: Any, where: str, *, stream: bool = False) -> ReasoningPart:
    """A redacted_thinking block: its encrypted `data` is all it is, and goes back as it
    came; a block without it could never be sent back (the API refuses an empty one, and
    a tool-use turn without its blocks), so the answer is malformed."""
    if type(data) is not str or not data:
        if data is None or data == "":
            raise _wire.malformed(f"{where} is missing: a redacted_thinking block without its "
                                  "data cannot be sent back", stream=stream)
        _wire.as_text(data, where, stream=stream)
    return ReasoningPart("", None, data, PROVIDER)


async def decode_stream(events: AsyncIterator[SseEvent | WholeJson], model: str, *,
                        tool_deltas: bool = False) -> AsyncGenerator[StreamItem, None]:
    """Text deltas, reasoning, complete tool calls (and with `tool_deltas`, each fragment
    of their arguments), the turn's end and, last, the usage of a streamed response (or of
    a whole one sent where a stream was asked for)."""
    event: SseEvent | WholeJson | None = None
    usage = _Usage()
    response_model = model
    raw_reason: Any = None  # its TurnEnd comes once the stream ends
    stopped = False  # message_stop came
    has_calls = False
    tool_blocks: dict[int, _ToolBlock] = {}
    thinking_blocks: dict[int, _ThinkingBlock] = {}
    tool_uses = 0  # tool_use blocks started this turn
    reasoned = 0  # reasoning parts yielded this turn (a call's place among them)
    async for event in events:
        if isinstance(event, WholeJson):
            for item in _wire.whole_answer_items(event.data, parse_response, model):
                yield item
            return
        payload = _wire.stream_object(event.data, event.event)
        kind = payload.get("type") or event.event
        if kind == "content_block_delta":
            index, delta = payload.get("index"), payload.get("delta")
            if type(delta) is not dict:
                delta = _wire.as_object(delta, "content_block_delta.delta", stream=True)
            if type(index) is not int:
                _not_an_index(index, "content_block_delta.index")
            delta_type = delta.get("type")
            if delta_type == "text_delta":  # the common case first
                # (Text whatever its block: one never started is still the model's.)
                text = delta.get("text")
                if text:
                    yield text if type(text) is str else _wire.as_text(
                        text, "content_block_delta.delta.text", stream=True)
            elif delta_type == "input_json_delta":
                tool = tool_blocks.get(index)
                if tool is not None:
                    fragment = _wire.as_text(delta.get("partial_json"),
                                             "input_json_delta.partial_json", stream=True)
                    tool.json_parts.append(fragment)
                    if tool_deltas and fragment:
                        yield ToolCallDelta(tool.ordinal, tool.id, tool.name, fragment)
            elif delta_type == "thinking_delta":
                thinking = thinking_blocks.get(index)
                if thinking is not None:
                    text = _wire.as_text(delta.get("thinking"), "thinking_delta.thinking",
                                         stream=True)
                    if text:
                        thinking.parts.append(text)
                        yield ReasoningDelta(text)
            elif delta_type == "signature_delta":
                thinking = thinking_blocks.get(index)
                if thinking is not None:
                    thinking.signature.append(_wire.as_text(
                        delta.get("signature"), "signature_delta.signature", stream=True))
        elif kind == "error" or event.event == "error" or payload.get("error"):
            raise error_from_stream_event(payload)
        elif kind == "content_block_start":
            index = payload.get("index")
            block = _wire.as_object(payload.get("content_block"),
                                    "content_block_start.content_block", stream=True)
            if block.get("type") == "text":
                text = _wire.as_text(block.get("text"), "content_block_start.content_block.text",
                                     stream=True)
                if text:
                    yield text
            elif block.get("type") == "tool_use" and type(index) is int:
                if tool_blocks:  # (blocks stream one after another; see _open_tool_block)
                    _open_tool_block(index, tool_blocks)
                name = _wire.as_name(block.get("name"), "content_block_start.content_block",
                                     stream=True)
                block_id = block.get("id")
                tool = tool_blocks[index] = _ToolBlock(
                    id=block_id if type(block_id) is str and block_id else _wire.make_call_id(),
                    name=name, ordinal=tool_uses, reasoning_before=reasoned)
                tool_uses += 1
                if block.get("input"):  # normally {} and filled by input_json_delta
                    tool.json_parts.append(_json_of(block["input"]))
                    if tool_deltas:
                        yield ToolCallDelta(tool.ordinal, tool.id, name, tool.json_parts[0])
            elif block.get("type") == "thinking" and type(index) is int:
                text = _wire.as_text(block.get("thinking"),
                                     "content_block_start.content_block.thinking", stream=True)
                thinking_blocks[index] = _ThinkingBlock([text] if text else [], [_wire.as_text(
                    block.get("signature"), "content_block_start.content_block.signature",
                    stream=True)])
                if text:
                    yield ReasoningDelta(text)
            elif block.get("type") == "redacted_thinking" and type(index) is int:
                # Encrypted and whole from its start: nothing to show, all to send back.
                yield _redacted(block.get("data"), "content_block_start.content_block.data",
                                stream=True)
                reasoned += 1
        elif kind == "content_block_stop":
            index = payload.get("index")
            if type(index) is not int:
                _not_an_index(index, "content_block_stop.index")
            finished = tool_blocks.pop(index, None)
            if finished is not None:
                has_calls = True
                yield finished.finish()
            elif thinking_blocks:
                thought = thinking_blocks.pop(index, None)
                if thought is not None:
                    yield thought.finish()
                    reasoned += 1
        elif kind == "message_start":
            message = _wire.as_object(payload.get("message"), "message_start.message", stream=True)
            model_name = message.get("model")
            if type(model_name) is str and model_name:
                response_model = model_name
            usage.update(message.get("usage"))
        elif kind == "message_delta":
            delta = _wire.as_object(payload.get("delta"), "message_delta.delta", stream=True,
                                    optional=True)
            usage.update(payload.get("usage"))
            # The first reason holds: a turn cut by max_tokens stays cut (its calls never
            # run), whatever a later message_delta says.
            raw_reason = raw_reason or delta.get("stop_reason")
        elif kind == "message_stop":
            # The message is whole: what a server sends after it is no part of the turn
            # (a tool_use block there is no call the model made), and is only drained.
            stopped = True
            break
        # ping and event types added later need nothing from us.
    if event is None:  # the loop never ran: not one event came
        raise _wire.empty_stream()
    if not (stopped or raw_reason):
        raise _wire.unfinished_stream("message_stop or a stop_reason")
    # Tool blocks still open were cut (by max_tokens, usually): yielded with what arrived
    # of their input, never runnable (and the TurnEnd says "length"). A thinking block
    # still open has no signature: the API would refuse it back, so it is left out.
    for unfinished in tool_blocks.values():
        has_calls = True
        yield unfinished.cut()
    if raw_reason:
        yield _wire.turn_end(raw_reason, STOP_REASONS, has_calls=has_calls)
    yield usage.stats(response_model)
    await read_to_end(events)


def _open_tool_block(index: int, open_blocks: Mapping[int, _ToolBlock]) -> NoReturn:
    """A tool_use block that starts while another is still open: the API streams blocks one
    after another, and taken as it came the stream would lose a call whose argument
    fragments were already shown (its index reused) or yield calls out of their order."""
    other = next(iter(open_blocks))
    raise _wire.malformed(f"content_block_start of a tool_use block at index {index} while "
                          f"the tool_use block at index {other} is still open", stream=True)


def _not_an_index(value: Any, where: str) -> NoReturn:
    raise _wire.malformed(f"{where} is {_wire.describe(value)}, not a block index", stream=True)


def _json_of(value: Any) -> str:
    return value if type(value) is str else json.dumps(value)


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------

def error_from_response(status: int, headers: Mapping[str, str],
                        body: bytes) -> errors.ProviderError:
    """The typed error for a non-2xx answer of the Messages API."""
    error_type, message, request_id = _error_fields(body)
    return error_for_status(
        provider=PROVIDER, status=status, message=message or f"HTTP {status}",
        headers=headers, error_type=error_type,
        request_id=request_id,
        context_length=_is_context_length(message),
    )


def error_from_stream_event(payload: Mapping[str, Any], *,
                            stream: bool = True) -> errors.ProviderError:
    """The typed error for an `event: error` inside a 200 stream (or an error object
    inside a 200 answer, Anthropic's or a gateway's OpenAI-style one)."""
    return reported_error(payload.get("error") or "an error event without details",
                          provider=PROVIDER, stream=stream,
                          request_id=payload.get("request_id"),
                          context_length=_is_context_length)


def _error_fields(body: bytes) -> tuple[str | None, str, str | None]:
    payload = json_or_none(body)
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None, body_snippet(body), None
    kind, request_id = error.get("type"), payload.get("request_id")
    return (kind if isinstance(kind, str) else None, str(error.get("message") or ""),
            request_id if isinstance(request_id, str) else None)


_is_context_length = _wire.says_any(_CONTEXT_LENGTH_HINTS)


# ---------------------------------------------------------------------------------------
# Provider
# ---------------------------------------------------------------------------------------

PROTOCOL = WireProtocol(
    name=PROVIDER, framing="sse", build_request=_request, encode_tools=encode_tools,
    parse_response=parse_response, decode_stream=decode_stream,
    error_from_response=error_from_response, default_model=DEFAULT_MODEL,
    default_base_url=DEFAULT_BASE_URL, api_key_env=("ANTHROPIC_API_KEY",),
    base_url_env=("ANTHROPIC_BASE_URL",), auth_headers=key_header("x-api-key"),
    native_output=True, reasoning=True,
)


class AnthropicProvider(HttpProvider):
    """Claude models through the Messages API.

    The key comes from `api_key` or `ANTHROPIC_API_KEY` (api.anthropic.com refuses calls
    without one: `AuthenticationError` is raised here), the server from `base_url` or
    `ANTHROPIC_BASE_URL` (default https://api.anthropic.com; `/v1/messages` is appended).
    `api_version` is the `anthropic-version` header, the pinned "2023-06-01" by default.
    """

    name = PROVIDER
    default_model = DEFAULT_MODEL

    def __init__(self, model: str | None = None, api_key: str | None = None,
                 base_url: str | None = None, timeout: float | None = 60.0,
                 max_retries: int = 2, api_version: str = API_VERSION,
                 name: str | None = None, max_response_bytes: int | None = MAX_RESPONSE_BYTES,
                 max_event_bytes: int | None = MAX_EVENT_BYTES,
                 max_stream_bytes: int | None = MAX_STREAM_BYTES,
                 max_connections: int = POOL_SIZE) -> None:
        if not isinstance(api_version, str) or not api_version.strip():
            raise ValueError(f"api_version must be a version string such as {API_VERSION!r}, "
                             f"got {api_version!r}")
        self.api_version = api_version
        super().__init__(PROTOCOL, api_key=api_key, base_url=base_url, model=model,
                         timeout=timeout, max_retries=max_retries,
                         headers={"anthropic-version": api_version}, name=name,
                         max_response_bytes=max_response_bytes,
                         max_event_bytes=max_event_bytes,
                         max_stream_bytes=max_stream_bytes, max_connections=max_connections)
