"""A tool call's arguments text read the short way (`_wire.tool_call`: one JSON object
straight from json's scanner) gives the parameters `parse_tool_arguments` gives for any
text, malformed, cut, blank, padded or not an object, and keeps the text to send back."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from selectools.providers._wire import parse_tool_arguments, tool_call
from selectools.types import RAW_ARGUMENTS_KEY

_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


def _texts() -> st.SearchStrategy[str]:
    encoded = _VALUES.map(json.dumps)
    return st.one_of(
        encoded, encoded.map(lambda text: f" {text}\n"), encoded.map(lambda text: text[:-1]),
        encoded.map(lambda text: text + "}"), st.text(max_size=12),
        st.sampled_from(["", " ", "{}", '{"a": 1} x', '{"a": NaN}', "[" * 5000 + "]" * 5000,
                         json.dumps({RAW_ARGUMENTS_KEY: 1}), "\ufeff{}"]))


@settings(max_examples=400, deadline=None)
@given(text=_texts())
def test_any_arguments_text_reads_as_parse_tool_arguments_reads_it(text: str) -> None:
    call = tool_call("f", text, "c1")
    assert call.parameters == parse_tool_arguments(text)
    if text and RAW_ARGUMENTS_KEY not in call.parameters and _flat(call.parameters):
        assert call.arguments_json() == text  # sent back as it came


@settings(max_examples=100, deadline=None)
@given(value=_VALUES)
def test_arguments_sent_as_an_object_or_null_are_taken_as_they_are(value: Any) -> None:
    call = tool_call("f", value, "c1")
    assert call.parameters == parse_tool_arguments(value)


def _flat(parameters: dict[str, Any]) -> bool:
    return all(type(value) in (str, int, float, bool, type(None))
               for value in parameters.values())
