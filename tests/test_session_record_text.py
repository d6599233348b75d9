"""A session record's text: what `SessionState.encode` writes is json.dumps's compact text
of the record (escaped where the text has no UTF-8), and `decode` reads back any JSON
text of it, as json.loads would, with the same errors for anything else."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selectools import Message, Role, ToolCall
from selectools.sessions import SessionCorruptError, SessionState
from selectools.sessions.record import PendingApproval, decode, message_json
from selectools.types import ContentPart, ReasoningPart


def _state(text: str) -> SessionState:
    return SessionState(
        session_id="s1", namespace="team", version=3, created_at=1796150948.3837392,
        updated_at=1796150949.5, summary="earlier", limits={"max_messages": 20},
        metadata={"branched_from": "s0", "nested": {"a": [1, 2.5, None, True]}},
        messages=[Message(role=Role.USER, content=text),
                  Message(role=Role.ASSISTANT, content="", stop_reason="tool_calls",
                          tool_calls=[ToolCall("weather", {"city": text}, id="c1")])],
        pending=PendingApproval(calls=[ToolCall("send", {"to": "x"}, id="c2")],
                                order=["c2"], iteration=1))


@pytest.mark.parametrize("text", ["plain ASCII", "Zürich, 東京, emoji \U0001f600",
                                  "quotes \" and \\ and \n\t\x00 control"])
def test_the_record_is_json_dumps_compact_text(text: str) -> None:
    state = _state(text)
    expected = json.dumps(state.to_record(), ensure_ascii=False, separators=(",", ":"))
    assert state.encode() == expected
    assert decode(expected, "s1", "team") == state


def test_a_lone_surrogate_is_escaped_and_comes_back() -> None:
    state = _state("half a pair \ud83d here")
    text = state.encode()
    assert text == json.dumps(state.to_record(), separators=(",", ":"))
    text.encode("utf-8")  # every store writes it as UTF-8
    assert decode(text, "s1", "team").messages[0].content == "half a pair \ud83d here"


@pytest.mark.parametrize("padded", [" {record} ", "\n{record}", "\ufeff{record}"])
def test_decode_reads_what_json_loads_reads(padded: str) -> None:
    state = _state("hello")
    text = padded.replace("{record}", state.encode())
    try:
        json.loads(text)
    except ValueError:  # (json refuses a BOM in a str: so must decode, naming the session)
        with pytest.raises(SessionCorruptError, match="'s1'.*not JSON"):
            decode(text, "s1", "team")
        return
    assert decode(text, "s1", "team") == state
    assert decode(text.encode(), "s1", "team") == state


@pytest.mark.parametrize("text", ["", "{", "{} x", b"\xff\xfe{", "[1]", "null"])
def test_anything_else_is_a_corrupt_record_naming_the_session(text: str | bytes) -> None:
    with pytest.raises(SessionCorruptError, match="'s1'"):
        decode(text, "s1", None)


# -- message_json: the messages of a record, written straight from their fields ---------

def _general(message: Message) -> str:
    return json.dumps(message.to_dict(), ensure_ascii=False, separators=(",", ":"))


def test_message_json_knows_every_field_of_message_and_tool_call() -> None:
    # A field added to Message or ToolCall must be added to message_json too (or make it
    # take to_dict's path): this fails first, so sessions never silently drop one.
    assert [f.name for f in dataclasses.fields(Message)] == [
        "role", "content", "image_path", "tool_name", "tool_result", "tool_calls",
        "tool_call_id", "content_parts", "stop_reason", "reasoning"]
    assert [f.name for f in dataclasses.fields(ToolCall)] == [
        "tool_name", "parameters", "id", "provider_data", "_json_source"]


_TEXT = st.text(max_size=30) | st.sampled_from(["", "\ud83d lone", "\"\\\n\x00\x1f", "東京"])
_JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(
    allow_nan=False) | _TEXT, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    _TEXT, inner, max_size=3), max_leaves=6)
_CALLS = st.builds(ToolCall, tool_name=_TEXT, parameters=st.dictionaries(_TEXT, _JSONISH,
                                                                          max_size=3),
                   id=st.none() | _TEXT,
                   provider_data=st.none() | st.just({"thoughtSignature": "c2ln"}))


@st.composite
def _messages(draw: st.DrawFn) -> Message:
    optional = st.none() | _TEXT
    message = Message(
        role=draw(st.sampled_from(list(Role))), content=draw(_TEXT),
        tool_name=draw(optional), tool_result=draw(optional),
        tool_calls=draw(st.none() | st.lists(_CALLS, max_size=3)),
        tool_call_id=draw(optional), stop_reason=draw(st.none() | st.sampled_from(
            ["completed", "tool_calls", "length"])),
        content_parts=draw(st.none() | st.just([ContentPart(type="text", text="part")])),
        reasoning=draw(st.none() | st.just([]) | st.just([ReasoningPart("thinking")])))
    # Fields set after construction are what the message holds when stored: a call's
    # parameters of None, a field that is not a str.
    if draw(st.booleans()) and message.tool_calls:
        message.tool_calls[0].parameters = None  # type: ignore[assignment]
    if draw(st.booleans()):
        setattr(message, draw(st.sampled_from(["tool_name", "tool_result", "tool_call_id",
                                                "stop_reason"])), draw(st.integers()))
    return message


@settings(max_examples=400, deadline=None)
@given(_messages())
def test_message_json_is_the_json_of_to_dict(message: Message) -> None:
    assert message_json(message) == _general(message)


def test_message_json_of_what_cannot_be_json_fails_as_to_dict_does() -> None:
    message = Message(role=Role.ASSISTANT, tool_calls=[ToolCall("t", {"at": object()})])
    with pytest.raises(TypeError, match="not JSON serializable"):
        message_json(message)
    with pytest.raises(TypeError, match="not JSON serializable"):
        _general(message)


def test_a_subclass_of_message_is_stored_as_its_own_to_dict() -> None:
    @dataclasses.dataclass(slots=True, init=False)
    class Tagged(Message):
        def to_dict(self) -> dict[str, Any]:
            return {**Message.to_dict(self), "tag": "mine"}

    message = Tagged(role=Role.USER, content="hi")
    assert json.loads(message_json(message)) == {"role": "user", "content": "hi",
                                                 "tag": "mine"}
    state = SessionState(session_id="s1", messages=[message])
    assert state.encode() == json.dumps(state.to_record(), ensure_ascii=False,
                                        separators=(",", ":"))


def test_a_subclass_of_session_state_is_stored_as_its_own_to_record() -> None:
    """SessionState is public: a subclass that adds to its record keeps what it adds."""
    @dataclasses.dataclass
    class Tagged(SessionState):
        def to_record(self) -> dict[str, Any]:
            record = super().to_record()
            record["metadata"] = {**record["metadata"], "tagged": True}
            return record

    state = Tagged("s1", messages=[Message(role=Role.USER, content="hi")])
    stored = json.loads(state.encode())
    assert stored["metadata"] == {"tagged": True}
    assert decode(state.encode(), "s1", None).metadata == {"tagged": True}


def test_a_record_that_contains_itself_is_refused_naming_the_session() -> None:
    metadata: dict[str, Any] = {}
    metadata["again"] = metadata
    state = SessionState("s2", namespace="team", metadata=metadata)
    with pytest.raises(ValueError, match="'s2'.*contains itself"):
        state.encode()
