"""The data that flows between a user, the agent and a provider.

The dataclasses take their repr and eq from `_dataclass.DataclassMethods`: none is
compiled at every import (dataclass compiles each method it generates).
"""

from __future__ import annotations

import errno
import json
import json.scanner
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from itertools import compress
from operator import attrgetter
from sys import intern
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ._dataclass import DataclassMethods
from ._dataclass import new_object as _new_object

if TYPE_CHECKING:
    from .results import Artifact
    from .trace import AgentTrace
    from .usage import AgentUsage


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


ContentType = Literal["text", "image_url", "image_base64"]
_CONTENT_TYPES = ("text", "image_url", "image_base64")
# Magic numbers let us reject a file that merely has an image's name.
_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


# __init__ written out (the one dataclass generates: the fields, then __post_init__), repr
# and eq from DataclassMethods: none compiled at every import.
@dataclass(slots=True, init=False, repr=False, eq=False)
class ContentPart(DataclassMethods):
    """One part of a multimodal message: text, an image URL, or base64 image data."""

    type: ContentType
    text: str | None = None
    image_url: str | None = None
    image_base64: str | None = None
    media_type: str | None = None

    def __init__(self, type: ContentType, text: str | None = None,
                 image_url: str | None = None, image_base64: str | None = None,
                 media_type: str | None = None) -> None:
        self.type = type
        self.text = text
        self.image_url = image_url
        self.image_base64 = image_base64
        self.media_type = media_type
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.type not in _CONTENT_TYPES:
            raise ValueError(
                f"ContentPart.type must be one of {_CONTENT_TYPES}, got {self.type!r}"
            )
        needed = {"text": self.text, "image_url": self.image_url,
                  "image_base64": self.image_base64}[self.type]
        if needed is None:
            raise ValueError(f"ContentPart(type={self.type!r}) needs the {self.type} field")
        if self.type == "image_base64" and not self.media_type:
            self.media_type = "image/png"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the type and the fields it uses."""
        return _without_none({"type": self.type, "text": self.text, "image_url": self.image_url,
                              "image_base64": self.image_base64, "media_type": self.media_type})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContentPart:
        data = _mapping("ContentPart", data)
        return cls(type=_required("ContentPart", data, "type"), text=data.get("text"),
                   image_url=data.get("image_url"), image_base64=data.get("image_base64"),
                   media_type=data.get("media_type"))


#: Why a model turn ended, in one vocabulary for every protocol (each protocol module maps
#: its own finish reason to these): "completed" (a final answer), "tool_calls" (it asks for
#: tools), "length" (cut by max_tokens or the context window), "content_filter" (refused or
#: blocked by the provider's safety system), "error" (the provider says the turn failed,
#: e.g. Gemini's MALFORMED_FUNCTION_CALL). `AgentResult.stop_reason` uses the same words for
#: the run, plus "max_iterations", "routing" and "approval_required" (tool calls wait for
#: a person: `AgentResult.pending`).
StopReason = Literal["completed", "tool_calls", "length", "content_filter", "error"]

#: How a run asked for a typed answer ended (`AgentResult.structured_status`).
StructuredStatus = Literal["ok", "validation_failed", "not_attempted"]


class TurnEnd(NamedTuple):
    """The last item of a provider's stream of a turn (before its usage): why the turn
    ended, in our vocabulary, and the protocol's own word for it (`raw`, for logs)."""

    reason: StopReason
    raw: str | None = None


class ReasoningDelta(NamedTuple):
    """A provider's stream item: a fragment of the model's reasoning as it streams (shown
    with `astream(..., events=True)` as `StreamChunk(event="reasoning", content=text)`).
    The whole block follows as a `ReasoningPart` when it ends."""

    text: str


# __init__ written out (a provider makes one per fragment), repr and eq: DataclassMethods
@dataclass(slots=True, init=False, repr=False, eq=False)
class ToolCallDelta(DataclassMethods):
    """A provider's stream item, when asked for (`tool_deltas=True`): a fragment of a tool
    call's arguments as it arrives. `index` is the call's position among this turn's calls
    (0, 1, ...); `call_id` and `tool_name` are known from its first fragment on, where the
    protocol sends them. The whole `ToolCall` still follows."""

    index: int
    call_id: str | None
    tool_name: str
    arguments_delta: str

    def __init__(self, index: int, call_id: str | None, tool_name: str,
                 arguments_delta: str) -> None:
        self.index = index
        self.call_id = call_id
        self.tool_name = tool_name
        self.arguments_delta = arguments_delta


class OutputFormat(NamedTuple):
    """A typed answer asked of a provider that constrains its output natively: the schema's
    `name`, its JSON `schema`, the strict variant (None when it has none) and the
    `instructions` a model without native constraints gets in its system prompt instead.
    Every protocol sends `strict_schema` when there is one, else `schema`."""

    name: str
    schema: dict[str, Any]
    strict_schema: dict[str, Any] | None
    instructions: str


#: What `AgentConfig.reasoning` takes besides a token budget (an int).
ReasoningEffort = Literal["low", "medium", "high"]
REASONING_EFFORTS: tuple[ReasoningEffort, ...] = ("low", "medium", "high")


# __init__ written out, repr and eq from DataclassMethods: none compiled at every import
@dataclass(slots=True, init=False, repr=False, eq=False)
class ReasoningPart(DataclassMethods):
    """One block of a model's reasoning, kept on the assistant Message that it preceded.

    `text` is the reasoning as the API showed it (it may be a summary, or empty); a
    `signature` (Anthropic's, Gemini's thoughtSignature) or `redacted` data (Anthropic's
    redacted_thinking, an encrypted block) are opaque and go back unchanged. `protocol`
    names the wire protocol that produced it: only that protocol is sent it back (a
    signature means nothing to another API), and each does so as its API requires.
    """

    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    protocol: str = ""

    def __init__(self, text: str = "", signature: str | None = None,
                 redacted: str | None = None, protocol: str = "") -> None:
        self.text = text
        self.signature = signature
        self.redacted = redacted
        self.protocol = protocol

    def to_dict(self) -> dict[str, Any]:
        return _without_none({"text": self.text, "signature": self.signature,
                              "redacted": self.redacted, "protocol": self.protocol})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReasoningPart:
        data = _mapping("ReasoningPart", data)
        values = {name: data.get(name) for name in ("text", "signature", "redacted", "protocol")}
        for name, value in values.items():
            if value is not None and not isinstance(value, str):
                raise ValueError(f"ReasoningPart.from_dict: {name!r} must be a str, got "
                                 f"{type(value).__name__}")
        return cls(text=values["text"] or "", signature=values["signature"],
                   redacted=values["redacted"], protocol=values["protocol"] or "")


class ToolDefinition(NamedTuple):
    """A tool as providers see it: data only, no code. The agent hands these to a
    provider's `tools=`; `providers/` never imports `tools/`. (Immutable; a NamedTuple
    because it costs a fraction of a frozen dataclass at `import selectools`.)"""

    name: str
    description: str
    parameters_schema: dict[str, Any]

    def schema(self) -> dict[str, Any]:
        """`{"name", "description", "parameters"}`, as selectools 1.x's `Tool.schema()`."""
        return {"name": self.name, "description": self.description,
                "parameters": self.parameters_schema}


#: Where a tool call's unreadable arguments travel: a provider that receives arguments that
#: are not a JSON object still yields the ToolCall, with `{RAW_ARGUMENTS_KEY: text}` as its
#: parameters, and the agent answers the model with an error it can correct.
RAW_ARGUMENTS_KEY = "__raw_arguments__"


# __init__ below, repr and eq from DataclassMethods: none compiled at every import
@dataclass(slots=True, init=False, repr=False, eq=False)
class ToolCall(DataclassMethods):
    """A model's request to run one tool.

    `provider_data` carries protocol details that must travel back to the same provider
    on the next turn (Gemini's `thoughtSignature`); it plays no part in equality.
    """

    tool_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    provider_data: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    # The JSON text the model wrote (see keep_json_text).
    _json_source: str | None = field(default=None, init=False, compare=False, repr=False)

    def __init__(self, tool_name: str, parameters: dict[str, Any] | None = None,
                 id: str | None = None, provider_data: dict[str, Any] | None = None) -> None:
        self.tool_name = tool_name
        self.parameters = {} if parameters is None else parameters  # (a new one each)
        self.id = id
        self.provider_data = provider_data
        self._json_source = None

    def keep_json_text(self, text: str) -> None:
        """Remember `text`, the JSON `parameters` were parsed from, so `arguments_json` can
        send it back as it came instead of encoding it again every turn.

        `parameters` becomes a copy (an equal dict) whose names are the shared strings
        (`sys.intern`'s: those of the tool's own parameters, as its code spells them): each
        parse made new strings for the names, a fifth of what a held result's calls held.
        Only the text is kept, not the dict parsed: `arguments_json` parses the text again
        to compare (a call in flight held that dict, its names and a tuple besides)."""
        parsed = self.parameters
        try:
            # (the keys and the values of one dict: no strict= needed, or paid for)
            self.parameters = dict(zip(map(intern, parsed), parsed.values()))  # noqa: B905
        except TypeError:  # a name that is not exactly a str (not from JSON): as it is
            self.parameters = dict(parsed)
        self._json_source = text

    def drop_json_text(self) -> None:
        """Forget the text kept by `keep_json_text` (the engine does, for calls that no
        later call of the library sends again: held by a result, it was a third of it)."""
        self._json_source = None

    def arguments_json(self) -> str:
        """`parameters` as JSON text: the model's own text while they still equal what it
        reads as (a value changed in place, at any depth, shows), else freshly encoded."""
        text = self._json_source
        if text is not None:
            try:  # the usual text, exactly one JSON object: json's C scanner, directly
                value, end = _scan_json(text, 0)
            except (StopIteration, ValueError, RecursionError):
                value = end = None
            if end != len(text):  # padded, blank, or not JSON: read as json.loads reads it
                value = _read_back(text)
            # (== alone is blind to JSON's types: True == 1, 0 == False; a repr, C code,
            # tells them apart: a value changed from the model's 1 to True is sent anew)
            if value == self.parameters and repr(value) == repr(self.parameters):
                return text
        return json.dumps(self.parameters)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, `provider_data` (Gemini's thoughtSignature) included."""
        return _without_none({"tool_name": self.tool_name, "parameters": self.parameters,
                              "id": self.id, "provider_data": self.provider_data})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        """The inverse of `to_dict`; also reads selectools 1.x's `name` and
        `thought_signature` keys."""
        data = _mapping("ToolCall", data)
        name = data.get("tool_name", data.get("name"))
        if not isinstance(name, str) or not name:
            raise ValueError(f"ToolCall.from_dict: 'tool_name' must be a non-empty str, "
                             f"got {name!r}")
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ValueError(f"ToolCall.from_dict: 'parameters' must be an object, got "
                             f"{type(parameters).__name__}")
        provider_data = data.get("provider_data")
        if provider_data is None and data.get("thought_signature"):
            provider_data = {"thoughtSignature": data["thought_signature"]}
        return cls(tool_name=name, parameters=dict(parameters), id=data.get("id"),
                   provider_data=dict(provider_data) if provider_data else None)


# The scanner json.loads ends up in (the C one), with the default options: a kept text is
# read again with no Python layer (ToolCall.arguments_json).
_scan_json = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_UNREAD = object()


def _read_back(text: str) -> Any:
    """What a provider read `text` as (providers._wire.parse_tool_arguments): its JSON
    value, `{}` for blank text; `_UNREAD` (equal to nothing) for text that is not JSON,
    which only a caller of keep_json_text can have given."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _UNREAD if text.strip() else {}


# __init__ below (every message of every run is made there); repr and eq: DataclassMethods
@dataclass(slots=True, init=False, repr=False, eq=False)
class Message(DataclassMethods):
    role: Role
    content: str = ""
    image_path: str | None = None
    tool_name: str | None = None
    tool_result: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    content_parts: list[ContentPart] | None = None
    #: Set on assistant messages from a provider: why that turn ended (see StopReason).
    stop_reason: StopReason | None = field(default=None, compare=False)
    #: Set on assistant messages from a model that reasons: its reasoning blocks, in order
    #: (never part of `content`; sent back to the protocol that made them).
    reasoning: list[ReasoningPart] | None = field(default=None, compare=False)

    def __init__(self, role: Role | str, content: str = "", image_path: str | None = None,
                 tool_name: str | None = None, tool_result: str | None = None,
                 tool_calls: list[ToolCall] | None = None, tool_call_id: str | None = None,
                 content_parts: list[ContentPart] | None = None,
                 stop_reason: StopReason | None = None,
                 reasoning: list[ReasoningPart] | None = None) -> None:
        if type(self) is not Message and type(self).__post_init__ is not Message.__post_init__:
            # A subclass with a __post_init__ of its own but no dataclass __init__ (1.x's
            # Message was a plain dataclass: its __init__ stored the fields as given, then
            # called __post_init__, whose checks the subclass's extends): the same here.
            for name, value in zip(_MESSAGE_FIELDS, (
                    role, content, image_path, tool_name, tool_result, tool_calls,
                    tool_call_id, content_parts, stop_reason, reasoning), strict=True):
                setattr(self, name, value)
            self.__post_init__()
            return
        # The dataclass's __init__ and __post_init__ in one: the checks read the arguments,
        # exact types first (the usual case: one comparison each), before any is stored.
        if type(role) is not Role:
            role = _role(role)
        if type(content) is not str:
            content = _content(content)
        if content_parts is not None:
            _check_parts(content_parts)
        self.role = role
        self.content = content
        self.image_path = image_path
        self.tool_name = tool_name
        self.tool_result = tool_result
        self.tool_calls = tool_calls
        self.tool_call_id = tool_call_id
        self.content_parts = content_parts
        self.stop_reason = stop_reason
        self.reasoning = reasoning
        if image_path is not None:
            self.content_parts = _with_image(image_path, content_parts, content)

    def __post_init__(self) -> None:
        """The checks of `__init__` on the stored fields, for a subclass: a dataclass one's
        generated __init__ stores the fields and calls this (as selectools 1.x's Message
        had one), and so does ours for a subclass with a __post_init__ of its own."""
        if type(self.role) is not Role:
            self.role = _role(self.role)
        if type(self.content) is not str:
            self.content = _content(self.content)
        if self.content_parts is not None:
            _check_parts(self.content_parts)
        if self.image_path is not None:
            self.content_parts = _with_image(self.image_path, self.content_parts, self.content)

    def parts(self) -> list[ContentPart]:
        """The message as content parts: its `content_parts` (with `content` as a leading
        text part when the parts carry no text of their own), or its text as one part."""
        if self.content_parts:
            parts = list(self.content_parts)
            if self.content and not any(p.type == "text" for p in parts):
                parts.insert(0, ContentPart(type="text", text=self.content))
            return parts
        return [ContentPart(type="text", text=self.content)] if self.content else []

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (images as base64 with their media type); `from_dict` gives back an
        equal Message without reading any file again."""
        return _without_none({
            "role": self.role.value, "content": self.content, "image_path": self.image_path,
            "tool_name": self.tool_name, "tool_result": self.tool_result,
            "tool_calls": [c.to_dict() for c in self.tool_calls] if self.tool_calls is not None
            else None,
            "tool_call_id": self.tool_call_id,
            "content_parts": [p.to_dict() for p in self.content_parts]
            if self.content_parts is not None else None,
            "stop_reason": self.stop_reason,
            "reasoning": [r.to_dict() for r in self.reasoning] if self.reasoning else None})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """The inverse of `to_dict`. The image of an `image_path` message was saved in its
        content parts: the file is not read again (it may be gone)."""
        data = _mapping("Message", data)
        calls, parts = data.get("tool_calls"), data.get("content_parts")
        reasoning = data.get("reasoning")
        if parts is None and data.get("image_base64"):  # selectools 1.x kept it here
            parts = [{"type": "text", "text": data.get("content") or ""},
                     {"type": "image_base64", "image_base64": data["image_base64"]}]
        message = cls(
            role=_required("Message", data, "role"), content=data.get("content") or "",
            tool_name=data.get("tool_name"), tool_result=data.get("tool_result"),
            tool_calls=[ToolCall.from_dict(c) for c in _list("tool_calls", calls)]
            if calls is not None else None,
            tool_call_id=data.get("tool_call_id"),
            content_parts=[ContentPart.from_dict(p) for p in _list("content_parts", parts)]
            if parts is not None else None,
            stop_reason=data.get("stop_reason"),
            reasoning=[ReasoningPart.from_dict(r) for r in _list("reasoning", reasoning)]
            if reasoning else None)
        message.image_path = data.get("image_path")  # after __post_init__: not read again
        return message


#: Message's fields, in order (its __init__'s parameters).
_MESSAGE_FIELDS = tuple(f.name for f in fields(Message))


def made_message(role: Role, content: str, tool_name: str | None = None,
                 tool_result: str | None = None, tool_calls: list[ToolCall] | None = None,
                 tool_call_id: str | None = None,
                 content_parts: list[ContentPart] | None = None,
                 stop_reason: StopReason | None = None,
                 reasoning: list[ReasoningPart] | None = None) -> Message:
    """`Message(role, content, None, tool_name, ...)` for the library's own messages, whose
    fields are already what Message's checks make of them: `role` a Role, `content` a str,
    `content_parts` ContentParts or None, no image to read. Nothing is checked here (the
    checks were a third of a message's cost, and the engine and the providers make a few
    per turn); anything else (a user's input, a str role, an image) goes through Message.
    A test holds the two equal."""
    message: Message = _new_object(Message)
    message.role = role
    message.content = content
    message.image_path = None
    message.tool_name = tool_name
    message.tool_result = tool_result
    message.tool_calls = tool_calls
    message.tool_call_id = tool_call_id
    message.content_parts = content_parts
    message.stop_reason = stop_reason
    message.reasoning = reasoning
    return message


def _with_image(image_path: str, content_parts: list[ContentPart] | None,
                content: str) -> list[ContentPart]:
    """A message's content parts with the image at `image_path` after them (the text as
    the first part when there are none). The image is read now, so that a bad path fails
    as the message is made and not inside a provider call."""
    image = _image_part_from_file(image_path)
    parts = list(content_parts or [])
    if not parts and content:
        parts.append(ContentPart(type="text", text=content))
    parts.append(image)
    return parts


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValueError(
            f"Message.role must be one of {[r.value for r in Role]}, got {role!r}"
        ) from None


def _content(content: object) -> str:
    if content is None:
        return ""
    if not isinstance(content, str):
        raise TypeError(f"Message.content must be a str, got {type(content).__name__}; "
                        "use content_parts for multimodal content")
    return content


def _check_parts(parts: list[ContentPart]) -> None:
    for part in parts:
        if not isinstance(part, ContentPart):
            raise TypeError(
                f"Message.content_parts must hold ContentPart, got {type(part).__name__}")


# __init__ below, repr and eq from DataclassMethods: none compiled at every import. No
# slots: the fields' defaults are class attributes, so a text delta (most of a stream's
# items, each dropped once read) is made with its text alone (`text_chunk`).
@dataclass(init=False, repr=False, eq=False)
class StreamChunk(DataclassMethods):
    """An item of `Agent.astream()`: a text delta, tool calls, or (opt-in) an event.

    An event's `data` is a dict, except for "output_partial", whose data is the typed
    answer's partial value (a dict, list, str... as JSON decodes it, growing in place
    from one event to the next: copy it to keep a snapshot).
    """

    content: str = ""
    role: Role = Role.ASSISTANT
    tool_calls: list[ToolCall] | None = None
    event: str | None = None
    data: Any = None

    def __init__(self, content: str = "", role: Role = Role.ASSISTANT,
                 tool_calls: list[ToolCall] | None = None, event: str | None = None,
                 data: Any = None) -> None:
        self.content = content
        self.role = role
        self.tool_calls = tool_calls
        self.event = event
        self.data = data


def text_chunk(text: str) -> StreamChunk:
    """`StreamChunk(text)`, a text delta, for the engine's stream: only the text is stored,
    the other fields read their defaults from the class (about half the bytecodes of the
    __init__, on every token of every stream). A test holds the two equal."""
    chunk: StreamChunk = _new_object(StreamChunk)
    chunk.content = text
    return chunk


def partial_chunk(value: Any) -> StreamChunk:
    """`StreamChunk(event="output_partial", data=value)`, a typed answer's partial value,
    made as `text_chunk` makes a text delta's (one per delta that changed the value)."""
    chunk: StreamChunk = _new_object(StreamChunk)
    chunk.event = "output_partial"
    chunk.data = value
    return chunk


# (weakref: a result may be watched)
@dataclass(slots=True, weakref_slot=True, init=False, repr=False, eq=False)
class AgentResult(DataclassMethods):
    """What a finished run returns: the final message plus how it got there.

    `artifacts` and `pending` are lists, as given; left out (or None), an empty list made
    when first read, then kept: most results have neither, and a batch holds thousands
    of results (two empty lists were 112 bytes and two objects for the cyclic GC each).
    """

    message: Message
    tool_name: str | None = None
    tool_args: dict[str, Any] = field(default_factory=dict)
    iterations: int = 0
    tool_calls: list[ToolCall] = field(default_factory=list)
    trace: AgentTrace | None = None
    usage: AgentUsage | None = None
    stop_reason: str = "completed"
    provider_used: str | None = None
    run_id: str = ""
    #: Files the run's tools emitted with `selectools.results.emit_artifact`.
    artifacts: list[Artifact] = field(default_factory=list)
    #: With `response_format=T`: the final answer as a validated `T` (None otherwise).
    parsed: Any = None
    #: None without `response_format`; "ok" (`parsed` holds the value), "validation_failed"
    #: (still invalid after its repairs: `structured_error` is the last problem found), or
    #: "not_attempted" (the run ended without a final answer: max_iterations, routing, or
    #: a turn cut by length, filtered or failed).
    structured_status: StructuredStatus | None = None
    structured_error: str | None = None
    #: With stop_reason "approval_required": the tool calls waiting for a person's
    #: decision (ids, names, arguments); resume with `agent.resume(session_id, ...)`.
    pending: list[ToolCall] = field(default_factory=list)
    #: The session the run read and committed to, when it had one.
    session_id: str | None = None

    def __init__(self, message: Message, tool_name: str | None = None,
                 tool_args: dict[str, Any] | None = None, iterations: int = 0,
                 tool_calls: list[ToolCall] | None = None, trace: AgentTrace | None = None,
                 usage: AgentUsage | None = None, stop_reason: str = "completed",
                 provider_used: str | None = None, run_id: str = "",
                 artifacts: list[Artifact] | None = None, parsed: Any = None,
                 structured_status: StructuredStatus | None = None,
                 structured_error: str | None = None, pending: list[ToolCall] | None = None,
                 session_id: str | None = None) -> None:
        # (Written out, in the fields' order: the dataclass's own would make both lists.)
        self.message = message
        self.tool_name = tool_name
        self.tool_args = {} if tool_args is None else tool_args
        self.iterations = iterations
        self.tool_calls = [] if tool_calls is None else tool_calls
        self.trace = trace
        self.usage = usage
        self.stop_reason = stop_reason
        self.provider_used = provider_used
        self.run_id = run_id
        if artifacts is not None:  # else made when read (see __getattr__)
            self.artifacts = artifacts
        self.parsed = parsed
        self.structured_status = structured_status
        self.structured_error = structured_error
        if pending is not None:
            self.pending = pending
        self.session_id = session_id

    if not TYPE_CHECKING:  # (hidden from type checkers: it would make any name an Any)
        def __getattr__(self, name: str) -> Any:
            """Called for a slot never set: `artifacts` or `pending` left out, made now."""
            if name == "artifacts" or name == "pending":
                made: list[Any] = []
                setattr(self, name, made)
                return made
            if hasattr(type(self), name):
                # A property (`content`, or a subclass's own) that raised AttributeError
                # itself: read once more, so that its own error is the one raised.
                return object.__getattribute__(self, name)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}",
                                 name=name, obj=self)

    @property
    def content(self) -> str:
        return self.message.content

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the final message, the calls, the usage (with each call's), the
        trace, and `parsed` as plain data (a model or dataclass as its fields): `from_dict`
        gives that data back, not the type."""
        return {
            "message": self.message.to_dict(), "tool_name": self.tool_name,
            "tool_args": self.tool_args, "iterations": self.iterations,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "trace": self.trace.to_dict() if self.trace is not None else None,
            "usage": self.usage.to_dict() if self.usage is not None else None,
            "stop_reason": self.stop_reason, "provider_used": self.provider_used,
            "run_id": self.run_id, "artifacts": [a.to_dict() for a in self.artifacts],
            "parsed": plain_data(self.parsed), "structured_status": self.structured_status,
            "structured_error": self.structured_error,
            "pending": [c.to_dict() for c in self.pending], "session_id": self.session_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentResult:
        from .results import Artifact
        from .usage import AgentUsage

        data = _mapping("AgentResult", data)
        trace, usage = data.get("trace"), data.get("usage")
        return cls(
            message=Message.from_dict(_required("AgentResult", data, "message")),
            tool_name=data.get("tool_name"), tool_args=dict(data.get("tool_args") or {}),
            iterations=int(data.get("iterations") or 0),
            tool_calls=[ToolCall.from_dict(c) for c in _list("tool_calls",
                                                              data.get("tool_calls") or [])],
            trace=_trace_from_dict(trace) if trace is not None else None,
            usage=AgentUsage.from_dict(usage) if usage is not None else None,
            stop_reason=data.get("stop_reason") or "completed",
            provider_used=data.get("provider_used"), run_id=data.get("run_id") or "",
            artifacts=[Artifact.from_dict(a) for a in _list("artifacts", data["artifacts"])]
            if data.get("artifacts") else None,
            parsed=data.get("parsed"), structured_status=data.get("structured_status"),
            structured_error=data.get("structured_error"),
            pending=[ToolCall.from_dict(c) for c in _list("pending", data["pending"])]
            if data.get("pending") else None,
            session_id=data.get("session_id"))

    @property
    def role(self) -> Role:
        return self.message.role


def plain_data(value: Any) -> Any:
    """`value` as JSON-safe data, as pydantic serialises it in JSON mode: a model or a
    dataclass as its fields, dates as ISO text, enums as their values, tuples as lists.
    (pydantic is imported only for a value that is not JSON already.)"""
    if value is None or type(value) in (str, int, float, bool):
        return value
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value)


def check_messages(messages: object) -> list[Message]:
    """`messages` as a list, refused with an error naming the problem unless it is a
    non-empty sequence of Messages with something to send: the one check that the agent
    and every provider apply before any network call."""
    if type(messages) is not list and (isinstance(messages, (str, Message))
                                       or not isinstance(messages, (list, tuple))):
        raise TypeError(f"messages must be a list of Message, got {type(messages).__name__}")
    if not messages:
        raise ValueError("messages is empty: give at least one Message")
    # Every provider call passes here with the whole history: the types are checked in one
    # pass made in C when every item is exactly a Message (the usual case), no enum member
    # is read through its class (`_NEEDS_TEXT` is a module constant) and no index is made
    # per message; the index is found only to name a message refused.
    if not _JUST_MESSAGE.issuperset(map(type, messages)):
        for message in messages:
            if not isinstance(message, Message):
                index = _index_of(messages, message)
                raise TypeError(f"messages[{index}] is a {type(message).__name__}, "
                                "not a Message")
    # Only the messages that must have something to send are read here, picked in C (most
    # of a history is the model's turns and tool results).
    for message in compress(messages, map(_NEEDS_TEXT.__contains__, map(_ROLE, messages))):
        if not message.content_parts and not message.content.strip():
            raise ValueError(f"messages[{_index_of(messages, message)}] "
                             f"({message.role}) is empty: give it content or content_parts")
    return list(messages)


#: The roles whose messages must have something to send (read by `check_messages`: in
#: Python 3.11 `Role.USER` costs a descriptor call each time, a module constant does not).
#: A tuple, not a set: a role reassigned to its plain string still compares equal.
_NEEDS_TEXT = (Role.USER, Role.SYSTEM)
_ROLE = attrgetter("role")
_JUST_MESSAGE = frozenset({Message})


def _index_of(messages: list[Any] | tuple[Any, ...], message: object) -> int:
    """The position of `message` (by identity: equal messages may come before it)."""
    return next(index for index, item in enumerate(messages) if item is message)


def image_message(image: str | os.PathLike[str],
                  prompt: str = "Describe this image.") -> Message:
    """A user message holding `prompt` and one image, given as a URL or a local file path."""
    text = ContentPart(type="text", text=prompt)
    source = os.fspath(image)
    if source.startswith(("http://", "https://", "data:")):
        return Message(role=Role.USER, content=prompt,
                       content_parts=[text, ContentPart(type="image_url", image_url=source)])
    return Message(role=Role.USER, content=prompt,
                   content_parts=[text, _image_part_from_file(source)])


def text_content(message: Message) -> str:
    """The text of a message, whether it is plain content or content parts (their text
    parts joined by spaces, as selectools 1.x does)."""
    if message.content_parts:
        texts = [p.text for p in message.content_parts if p.type == "text" and p.text]
        if texts:
            return " ".join(texts)
    return message.content


class ImageNotFoundError(FileNotFoundError, ValueError):
    """No image file at the path given: a FileNotFoundError, as a Python user expects, and a
    ValueError, as every other bad input to a Message is."""

    def __str__(self) -> str:
        return str(self.strerror)


#: The largest image file read into a message. Every provider caps inline images at or
#: below this (OpenAI and Gemini 20 MB, Anthropic 5 MB); a bigger file is refused before it
#: is read, instead of being base64-encoded whole into memory.
MAX_IMAGE_BYTES = 20 * 1024 * 1024


def _image_part_from_file(path: str | os.PathLike[str]) -> ContentPart:
    # pathlib and base64 load here, for the first image file read: at `import selectools`
    # they were a tenth of the import (pathlib brings urllib.parse, ipaddress, ntpath).
    import base64
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise ImageNotFoundError(errno.ENOENT, f"image file not found: {str(path)!r}", str(path))
    size = file.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise ValueError(f"image file {str(path)!r} is {size / 2**20:.1f} MB; the limit is "
                         f"{MAX_IMAGE_BYTES // 2**20} MB (selectools.types.MAX_IMAGE_BYTES)")
    with file.open("rb") as handle:  # read at most the limit, even if the file grows
        data = handle.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"image file {str(path)!r} is over the "
                         f"{MAX_IMAGE_BYTES // 2**20} MB limit")
    media_type = _sniff_image_type(data)
    if media_type is None:
        raise ValueError(
            f"{str(path)!r} is not an image (expected PNG, JPEG, GIF or WebP data)"
        )
    return ContentPart(type="image_base64", image_base64=base64.b64encode(data).decode("ascii"),
                       media_type=media_type)


def _trace_from_dict(data: Any) -> AgentTrace:
    from .trace import AgentTrace, TraceStep

    data = _mapping("AgentTrace", data)
    steps = []
    for index, step in enumerate(_list("steps", data.get("steps") or [])):
        try:
            steps.append(TraceStep(**_mapping("TraceStep", step)))
        except TypeError as exc:  # a field it does not have, or one missing
            raise ValueError(f"trace step {index} is not a TraceStep: {exc}") from None
    return AgentTrace(run_id=str(data.get("run_id") or ""), steps=steps)


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _mapping(kind: str, data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise TypeError(f"{kind}.from_dict needs a dict, got {type(data).__name__}")
    return data


def _required(kind: str, data: Mapping[str, Any], key: str) -> Any:
    if data.get(key) is None:
        raise ValueError(f"{kind}.from_dict: {key!r} is missing")
    return data[key]


def _list(key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{key!r} must be a list, got {type(value).__name__}")
    return value


def _sniff_image_type(data: bytes) -> str | None:
    for signature, media_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
