"""A whole answer's tool calls read inline by `openai.parse_response` (the usual call: a
function with its name) are the calls `_tool_call`'s checks make of any fragment, and a
fragment of another shape or kind fails or is skipped as those checks decide."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from selectools.providers import openai
from selectools.providers.errors import MalformedResponseError

_MISSING = object()
_ARGUMENTS = st.one_of(
    st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=3), max_size=2)
    .map(json.dumps),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["", " ", "{", "[1]", '{"a": 1} x', "null", None, 5, _MISSING]))
# (the usual values most often: a malformed fragment in a list decides its outcome)
_NAMES = st.sampled_from(["weather"] * 4 + ["", None, 5, ["f"], _MISSING])
_IDS = st.sampled_from(["call_1"] * 3 + ["", None, 7, _MISSING])
_KINDS = st.sampled_from(["function"] * 3 + [None, "custom", 3, _MISSING])


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not _MISSING}


@st.composite
def fragments(draw: st.DrawFn) -> Any:
    function: Any = draw(st.sampled_from(["usual"] * 6 + [None, "f", [], _MISSING]))
    if function == "usual":
        function = _present(name=draw(_NAMES), arguments=draw(_ARGUMENTS))
    fragment = _present(id=draw(_IDS), type=draw(_KINDS), function=function)
    return draw(st.sampled_from([fragment] * 6 + ["call", None, [fragment]]))


def _outcome(make: Any) -> Any:
    try:
        return "calls", [(call.tool_name, call.parameters, call.id if call.id == "call_1"
                          else "made", call.arguments_json()) for call in make()]
    except MalformedResponseError as exc:
        return "error", str(exc)


@settings(max_examples=400, deadline=None)
@given(st.lists(fragments(), min_size=1, max_size=3))
def test_the_inline_calls_are_the_checked_ones(wires: list[Any]) -> None:
    answer = {"choices": [{"index": 0, "finish_reason": "tool_calls",
                           "message": {"role": "assistant", "content": None,
                                       "tool_calls": wires}}]}

    def inline() -> list[Any]:
        message, _ = openai.parse_response(answer, "m")
        return message.tool_calls or []

    def checked() -> list[Any]:
        calls = (openai._tool_call(wire, index) for index, wire in enumerate(wires))
        return [call for call in calls if call is not None]

    assert _outcome(inline) == _outcome(checked)
