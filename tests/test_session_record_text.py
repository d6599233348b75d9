"""A session record's text: what `SessionState.encode` writes is json.dumps's compact text
of the record (escaped where the text has no UTF-8), and `decode` reads back any JSON
text of it, as json.loads would, with the same errors for anything else."""

from __future__ import annotations

import json

import pytest

from selectools import Message, Role, ToolCall
from selectools.sessions import SessionCorruptError, SessionState
from selectools.sessions.record import PendingApproval, decode


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
