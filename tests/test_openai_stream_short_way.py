"""The OpenAI stream decoder takes a delta of text alone at once only while no reasoning
block is open and no <think> tag is looked for: any mix of text, reasoning, <think> tags,
refusals and calls decodes as it does when every delta takes the general path."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from wire_replay import decoded, frames

from selectools.providers import openai

_TEXT = st.sampled_from(["a", " b", "<think>", "</think>", "x<think>y", "\n", "c</think>d"])
_DELTAS = st.one_of(
    _TEXT.map(lambda text: {"content": text}),
    _TEXT.map(lambda text: {"reasoning_content": text}),
    _TEXT.map(lambda text: {"reasoning": text}),
    _TEXT.map(lambda text: {"content": "", "reasoning_content": text}),
    st.just({"refusal": "no"}),
    st.just({"content": None}),
    st.integers(0, 2).map(lambda i: {"tool_calls": [
        {"index": i, "id": f"c{i}", "function": {"name": "f", "arguments": "{}"}}]}),
)


def _decode(deltas: list[dict[str, Any]], padded: bool) -> list[Any]:
    # A padded delta has a key no rule reads, so it never takes the short way.
    chunks: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {**d, "x_pad": None} if padded else d,
                      "finish_reason": None}]} for d in deltas]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    raw = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return decoded(openai.decode_stream, frames(raw + b"data: [DONE]\n\n", ()), "m")


@settings(max_examples=300, deadline=None)
@given(deltas=st.lists(_DELTAS, min_size=1, max_size=14))
def test_any_mix_of_deltas_decodes_as_the_general_path_does(
        deltas: list[dict[str, Any]]) -> None:
    assert _decode(deltas, padded=False) == _decode(deltas, padded=True)


def test_plain_text_after_reasoning_and_tags_takes_the_short_way_and_the_same_items() -> None:
    deltas = [{"content": "<think>"}, {"content": "hm"}, {"content": "</think>"},
              {"content": "A"}, {"reasoning_content": "r"}, {"content": "B"},
              {"content": "C"}]
    items = _decode(deltas, padded=False)
    assert items == _decode(deltas, padded=True)
    assert [item for item in items if type(item) is str][-2:] == ["B", "C"]
