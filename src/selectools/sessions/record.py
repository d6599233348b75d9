"""A stored session as data: its messages, its pending approvals, and the versioned record
every store writes (one JSON document), read back with migration from older schemas.

Schema versions:
  1  selectools 1.3.0's payload: {"session_id", "namespace", "created_at", "updated_at",
     "memory": ConversationMemory.to_dict()}; read and migrated, never written.
  2  {"format": "selectools.session", "schema_version": 2, "session_id", "namespace",
     "version", "created_at", "updated_at", "expires_at", "summary", "pending", "limits",
     "metadata", "messages": [Message.to_dict()]} (written in this order, the messages last
     since session 6; read in any order).
"""

from __future__ import annotations

import math
from _json import encode_basestring as _quote  # (json's own, in C: '"' + escaped + '"')
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._json import _ENCODE, dumps_text
from .._json import loads as loads_json
from ..types import Message, Role, ToolCall
from .errors import SessionCorruptError, describe

FORMAT = "selectools.session"
SCHEMA_VERSION = 2
#: The longest session id or namespace (as selectools 1.3.0).
MAX_ID_CHARS = 512


@dataclass
class PendingApproval:
    """A run stopped before tool calls that need a person's approval.

    `calls` wait for a decision; `results` are the tool messages of the same turn's other
    calls, already run; `order` is every call id of that turn, in the order the model
    asked, so that resuming puts all the results back in that order; `iteration` is the
    turn's iteration, which the resumed run continues from.
    """

    calls: list[ToolCall]
    results: list[Message] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    iteration: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"calls": [call.to_dict() for call in self.calls],
                "results": [message.to_dict() for message in self.results],
                "order": list(self.order), "iteration": self.iteration}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PendingApproval:
        if not isinstance(data, Mapping):
            raise ValueError(f"'pending' must be an object, got {type(data).__name__}")
        calls = [ToolCall.from_dict(call) for call in _list(data, "calls")]
        if not calls or any(not call.id for call in calls):
            raise ValueError("'pending.calls' must list calls, each with its id")
        results = [Message.from_dict(message) for message in _list(data, "results")]
        order = _list(data, "order")
        if any(not isinstance(call_id, str) for call_id in order):
            raise ValueError("'pending.order' must list call ids")
        iteration = data.get("iteration", 0)
        if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
            raise ValueError(f"'pending.iteration' must be a count, got {iteration!r}")
        return cls(calls=calls, results=results, order=list(order), iteration=iteration)


@dataclass
class SessionState:
    """One session as a run sees it. `version` counts commits (0: never stored); a commit
    succeeds only on the version it was loaded at (see SessionStore.acommit)."""

    session_id: str
    namespace: str | None = None
    messages: list[Message] = field(default_factory=list)
    pending: PendingApproval | None = None
    version: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    expires_at: float | None = None
    summary: str | None = None
    #: ConversationMemory limits a session saved with `save(memory)` came with.
    limits: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        record = self._head()
        record["messages"] = [message.to_dict() for message in self.messages]
        return record

    def _head(self) -> dict[str, Any]:
        """The record without its messages (which come last)."""
        return {"format": FORMAT, "schema_version": SCHEMA_VERSION,
                "session_id": self.session_id, "namespace": self.namespace,
                "version": self.version, "created_at": self.created_at,
                "updated_at": self.updated_at, "expires_at": self.expires_at,
                "summary": self.summary,
                "pending": self.pending.to_dict() if self.pending is not None else None,
                "limits": self.limits, "metadata": self.metadata}

    def encode(self) -> str:
        """The record as JSON text, which every store writes as UTF-8: `json.dumps(
        self.to_record(), ensure_ascii=False, separators=(",", ":"))`'s text, made for less.

        Json's C encoder is made once (selectools._json: json.dumps builds a JSONEncoder and
        its C encoder on every call, and keeps a dict of the containers it is in; a record
        is built of messages; one that contains itself is a ValueError naming the session).
        The messages, most of a record, are written by `message_json` (each
        Message.to_dict() built and encoded cost a commit more than the SQL); a subclass's
        record is its own `to_record()`, encoded."""
        try:
            if type(self) is SessionState:
                text = "".join(_ENCODE(self._head(), 0))[:-1] + ',"messages":[' + ",".join(
                    [message_json(message) for message in self.messages]) + "]}"
            else:  # a subclass may override to_record: its record is what it says
                return dumps_text(self.to_record())
        except RecursionError:  # a value that contains itself (no circular-reference check)
            raise ValueError(f"{describe(self.session_id, self.namespace)}: the record "
                             "contains itself (a circular reference in its metadata, "
                             "messages or pending state): it cannot be stored") from None
        if not text.isascii():  # (a flag of the str: free for the usual ASCII record)
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # half a surrogate pair (a client's lone "\ud83d")
                return dumps_text(self.to_record())  # has no UTF-8: escaped
        return text


def message_json(message: Message) -> str:
    """`message.to_dict()` as compact JSON (json.dumps's text, ensure_ascii=False), written
    straight from the fields of the messages a run makes: text, tool calls, tool results.
    Any other message (an image, content parts, reasoning, a provider's data on a call, a
    subclass, which may have its own to_dict) is its to_dict() encoded, and so is one with
    a field that is not a str (_quote refuses it: json.dumps writes it as it is, or
    refuses it itself). tests/test_session_record_text.py holds the two to the same text,
    and to Message's fields: a field this does not know is a failing test, not a field
    left out of sessions."""
    if type(message) is not Message or message.image_path is not None \
            or message.content_parts is not None or message.reasoning:
        return "".join(_ENCODE(message.to_dict(), 0))
    try:
        text = '{"role":"' + message.role._value_ + '","content":' + _quote(message.content)
        if message.tool_name is not None:
            text += ',"tool_name":' + _quote(message.tool_name)
        if message.tool_result is not None:
            text += ',"tool_result":' + _quote(message.tool_result)
        if message.tool_calls is not None:
            text += ',"tool_calls":[' + ",".join([_call_json(call)
                                                  for call in message.tool_calls]) + "]"
        if message.tool_call_id is not None:
            text += ',"tool_call_id":' + _quote(message.tool_call_id)
        if message.stop_reason is not None:
            text += ',"stop_reason":' + _quote(message.stop_reason)
    except TypeError:
        return "".join(_ENCODE(message.to_dict(), 0))
    return text + "}"


def _call_json(call: ToolCall) -> str:
    """`call.to_dict()` as compact JSON (see message_json; a TypeError is its caller's)."""
    if type(call) is not ToolCall or call.provider_data is not None or call.parameters is None:
        return "".join(_ENCODE(call.to_dict(), 0))
    text = '{"tool_name":' + _quote(call.tool_name) + ',"parameters":' + "".join(
        _ENCODE(call.parameters, 0))
    return text + (',"id":' + _quote(call.id) + "}" if call.id is not None else "}")


def decode(text: str | bytes, session_id: str, namespace: str | None) -> SessionState:
    """The session a store read: migrated from an older schema if need be. Anything that is
    not a session record is a SessionCorruptError naming the session and the problem."""
    where = describe(session_id, namespace)
    try:
        data = loads_json(text)  # (json.loads's value or error, with fewer Python layers)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SessionCorruptError(f"{where}: the stored record is not JSON ({exc})",
                                  session_id, namespace) from None
    try:
        if not isinstance(data, dict):
            raise ValueError(f"the record is a JSON {type(data).__name__}, not an object")
        if "format" not in data and "memory" in data:
            data = _from_schema_1(data)
        if data.get("format") != FORMAT:
            raise ValueError(f"it is not a selectools session (format {data.get('format')!r})")
        schema = data.get("schema_version")
        if schema != SCHEMA_VERSION:
            raise ValueError(f"schema_version {schema!r} is not one this version reads "
                             f"(it reads 1 and {SCHEMA_VERSION})")
        return _state(data, session_id, namespace)
    except (ValueError, TypeError, KeyError) as exc:
        raise SessionCorruptError(f"{where}: the stored record cannot be read: {exc}",
                                  session_id, namespace) from None


def _from_schema_1(data: dict[str, Any]) -> dict[str, Any]:
    """selectools 1.3.0's payload, as schema 2 (its memory's messages become the
    session's; its limits are kept for `load`)."""
    memory = data["memory"]
    if not isinstance(memory, dict):
        raise ValueError("'memory' must be an object")
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION,
            "session_id": data.get("session_id"), "namespace": data.get("namespace"),
            "version": 1, "created_at": data.get("created_at") or 0.0,
            "updated_at": data.get("updated_at") or 0.0, "expires_at": None,
            "messages": memory.get("messages") or [], "summary": memory.get("summary"),
            "pending": None,
            "limits": {"max_messages": memory.get("max_messages"),
                       "max_tokens": memory.get("max_tokens")},
            "metadata": {"migrated_from_schema": 1}}


def _state(data: dict[str, Any], session_id: str, namespace: str | None) -> SessionState:
    stored_id, stored_namespace = data.get("session_id"), data.get("namespace") or None
    if stored_id is not None and (stored_id != session_id or stored_namespace != namespace):
        raise ValueError(f"it belongs to {describe(str(stored_id), stored_namespace)}")
    messages = [Message.from_dict(message) for message in _list(data, "messages")]
    pending = data.get("pending")
    version = data.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"'version' must be a count, got {version!r}")
    metadata, limits = data.get("metadata") or {}, data.get("limits")
    if not isinstance(metadata, dict) or (limits is not None and not isinstance(limits, dict)):
        raise ValueError("'metadata' and 'limits' must be objects")
    summary = data.get("summary")
    if summary is not None and not isinstance(summary, str):
        raise ValueError("'summary' must be a str")
    return SessionState(
        session_id=session_id, namespace=namespace, messages=messages,
        pending=PendingApproval.from_dict(pending) if pending is not None else None,
        version=version, created_at=_time(data, "created_at") or 0.0,
        updated_at=_time(data, "updated_at") or 0.0, expires_at=_time(data, "expires_at"),
        summary=summary, limits=limits, metadata=metadata)


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key!r} must be a list, got {type(value).__name__}")
    return value


def _time(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise ValueError(f"{key!r} must be a timestamp, got {value!r}")
    return float(value)


def check_id(name: str, value: object, *, none_ok: bool) -> None:
    """A session id or namespace: a non-empty str of at most 512 characters, no NUL, all
    of it Unicode text."""
    if value is None and none_ok:
        return
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__} {value!r}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL characters: {value!r}")
    if len(value) > MAX_ID_CHARS:
        raise ValueError(f"{name} is {len(value)} characters long; the most is {MAX_ID_CHARS}")
    if not value.isascii():
        try:
            value.encode("utf-8")  # every store keeps ids as UTF-8 (a file name, a key)
        except UnicodeEncodeError:
            raise ValueError(f"{name} is not Unicode text (it holds half a surrogate "
                             f"pair): {value!r}") from None


def searchable_text(messages: list[Message]) -> list[str]:
    """The texts `search` looks in: the user's and the assistant's messages."""
    return [message.content for message in messages
            if message.role in (Role.USER, Role.ASSISTANT) and message.content]


def index_text(texts: list[str]) -> str:
    """`texts` as one text a database's full-text index takes (SQLite's FTS5, PostgreSQL's
    text column): valid UTF-8 (half a surrogate pair, which a client's JSON may carry, is
    replaced; the record keeps it) and, for PostgreSQL, no NUL."""
    text = "\n".join(texts).replace("\x00", " ")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text
