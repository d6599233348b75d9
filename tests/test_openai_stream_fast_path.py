"""The OpenAI stream decoder's short way for the usual event (one JSON object straight from
json's scanner; a delta holding only the next piece of text) gives what the general rules
give, and leaves every other event to them: reasoning still closes before the text, a
<think> tag is still looked for, a wrong type is still named, JSON with whitespace around
it is still read, and what is not one JSON object is still a MalformedStreamError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_replay import decoded, frames

from selectools.providers import openai
from selectools.providers.errors import MalformedStreamError, StreamError
from selectools.types import ReasoningDelta, ReasoningPart, ToolCall, TurnEnd
from selectools.usage import UsageStats


def sse(*chunks: dict[str, Any] | str) -> bytes:
    return b"".join(
        b"data: " + (c if isinstance(c, str) else json.dumps(c)).encode() + b"\n\n"
        for c in chunks)


def delta(fields: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def decode(raw: bytes, cuts: list[int] | None = None) -> list[Any]:
    return decoded(openai.decode_stream, frames(raw, cuts or ()), "m")


def test_text_deltas_come_as_they_are() -> None:
    items = decode(sse(delta({"role": "assistant", "content": ""}), delta({"content": "Hel"}),
                       delta({"content": "lo"}), delta({}, "stop"), "[DONE]"))
    assert items == ["Hel", "lo", TurnEnd("completed", "stop")]


def test_a_text_delta_with_its_finish_reason_ends_the_turn() -> None:
    assert decode(sse(delta({"content": "a"}), delta({"content": "b"}, "stop"))) == \
        ["a", "b", TurnEnd("completed", "stop")]


def test_reasoning_closes_before_a_plain_text_delta() -> None:
    items = decode(sse(delta({"reasoning_content": "think"}), delta({"content": "answer"}),
                       delta({"content": "!"}, "stop"), "[DONE]"))
    assert items[0] == ReasoningDelta("think")
    assert type(items[1]) is ReasoningPart and items[1].text == "think"
    assert items[2:] == ["answer", "!", TurnEnd("completed", "stop")]


def test_a_think_tag_in_plain_text_deltas_is_still_reasoning() -> None:
    items = decode(sse(delta({"content": "<thi"}), delta({"content": "nk>why</think>"}),
                       delta({"content": "Yes"}), delta({}, "stop"), "[DONE]"))
    parts = [item for item in items if type(item) is ReasoningPart]
    assert len(parts) == 1 and parts[0].text == "why"
    assert "".join(item for item in items if type(item) is str) == "Yes"


def test_a_refusal_beside_empty_content_is_the_text() -> None:
    assert decode(sse(delta({"content": "", "refusal": "No."}), delta({}, "stop")))[0] == "No."


@pytest.mark.parametrize("content", [5, ["a"], {"text": "a"}, True])
def test_content_that_is_not_text_is_named(content: Any) -> None:
    with pytest.raises(MalformedStreamError, match=r"choices\[0\]\.delta\.content"):
        decode(sse(delta({"content": "ok"}), delta({"content": content}), delta({}, "stop")))


def test_a_chunk_with_whitespace_around_it_is_read() -> None:
    raw = b"data:  " + json.dumps(delta({"content": "a"})).encode() + b" \n\n" + \
        sse(delta({}, "stop"))
    assert decode(raw) == ["a", TurnEnd("completed", "stop")]


@pytest.mark.parametrize(("data", "words"), [
    ('{"choices": []} x', "not JSON"),
    ('{"choices": [', "not JSON"),
    ("[1, 2]", "an array, not an object"),
    ('"text"', "a string"),
    ("[" * 100_000 + "]" * 100_000, "not JSON"),
    ("", "not JSON"),
])
def test_what_is_not_one_json_object_is_a_malformed_stream(data: str, words: str) -> None:
    with pytest.raises(MalformedStreamError, match=words):
        decode(sse(delta({"content": "a"}), data, delta({}, "stop")))


def test_an_error_field_left_null_is_no_error_and_a_set_one_is() -> None:
    chunk = {**delta({"content": "a"}), "error": None}
    assert decode(sse(chunk, delta({}, "stop"))) == ["a", TurnEnd("completed", "stop")]
    with pytest.raises(StreamError, match="overloaded"):
        decode(sse(delta({"content": "a"}), {"error": {"message": "overloaded"}}))


def test_usage_and_calls_beside_plain_text_deltas() -> None:
    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    items = decode(sse(delta({"content": "a"}), delta({"tool_calls": [call]}),
                       delta({}, "tool_calls"), {"choices": [], "usage": usage}, "[DONE]"))
    assert items[:3] == ["a", ToolCall("f", {}, id="c1"), TurnEnd("tool_calls", "tool_calls")]
    assert type(items[3]) is UsageStats and items[3].total_tokens == 5


_TEXTS = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(_TEXTS, min_size=1, max_size=12), data=st.data())
def test_any_text_in_any_reads_comes_whole(texts: list[str], data: st.DataObject) -> None:
    raw = sse(*(delta({"content": text}) for text in texts), delta({}, "stop"), "[DONE]")
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=6))
    items = decode(raw, cuts)
    assert items[-1] == TurnEnd("completed", "stop")
    whole = "".join(texts)
    pieces = items[:-1]
    # A text opening with a <think> block is reasoning; any other comes whole (its opening
    # whitespace may be held until the text shows no block).
    if not whole.lstrip().startswith("<"):
        assert all(type(piece) is str for piece in pieces) and "".join(pieces) == whole


def test_call_fragments_continue_the_last_call_or_the_one_with_their_index() -> None:
    def fragment(index: int, arguments: str, **first: str) -> dict[str, Any]:
        function = {"arguments": arguments, **({"name": first["name"]} if first else {})}
        return {"index": index, **({"id": first["id"]} if first else {}), "function": function}

    items = decode(sse(
        delta({"tool_calls": [fragment(0, '{"a":', name="f", id="c0")]}),
        delta({"tool_calls": [fragment(1, '{"b":', name="g", id="c1")]}),
        delta({"tool_calls": [fragment(1, " 2}")]}),
        delta({"tool_calls": [fragment(0, " 1}")]}),  # back to the first call
        delta({}, "tool_calls"), "[DONE]"))
    assert items == [ToolCall("f", {"a": 1}, id="c0"), ToolCall("g", {"b": 2}, id="c1"),
                     TurnEnd("tool_calls", "tool_calls")]


def test_a_fragment_name_that_is_not_text_is_named() -> None:
    fragment = {"index": 0, "id": "c0", "function": {"name": 5, "arguments": "{}"}}
    with pytest.raises(MalformedStreamError, match=r"tool_calls\[\]\.function\.name"):
        decode(sse(delta({"tool_calls": [fragment]}), delta({}, "tool_calls")))
