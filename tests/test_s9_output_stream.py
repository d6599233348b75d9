"""OutputStream's partial values and its finish, held to the rule they keep: feed returns
the parser's value (a wrapped answer's inner value) when it changed, and goes quiet on
text that is not JSON; finish returns the final value only if the last value returned
was not it. The reference below tracks the last value returned, as OutputStream once did;
OutputStream now knows from the parser when the end can bring a new value."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_s9_output_short_path import texts

from selectools.output import UNCHANGED, WRAPPER_KEY, PartialJSONError, PartialJSONParser
from selectools.output.schema import OutputStream


class ReferenceStream:
    def __init__(self, starts: str | None, wrapped: bool) -> None:
        self._parser = PartialJSONParser(start=starts)
        self._wrapped = wrapped
        self._quiet = False
        self._shown: Any = UNCHANGED

    def finish(self) -> Any:
        if self._quiet:
            return UNCHANGED
        try:
            value = self._parser.finish()
        except PartialJSONError:
            return UNCHANGED
        if self._wrapped and type(value) is dict:
            value = value.get(WRAPPER_KEY, UNCHANGED)
        if value is UNCHANGED or value is self._shown or (
                type(value) is type(self._shown) and value == self._shown):
            return UNCHANGED
        self._shown = value
        return value

    def feed(self, delta: str) -> Any:
        if self._quiet:
            return UNCHANGED
        try:
            value = self._parser.feed(delta)
        except PartialJSONError:
            self._quiet = True
            return UNCHANGED
        if self._wrapped and type(value) is dict:
            value = value[WRAPPER_KEY] if WRAPPER_KEY in value else UNCHANGED
        if value is not UNCHANGED:
            self._shown = value
        return value


def run(stream: Any, text: str, cuts: list[int]) -> list[Any]:
    bounds = [0, *sorted(set(cuts)), len(text)]
    seen = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        value = stream.feed(text[start:end])
        seen.append(value if value is UNCHANGED else copy.deepcopy(value))
    final = stream.finish()
    seen.append(final if final is UNCHANGED else copy.deepcopy(final))
    return seen


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_output_stream_gives_what_tracking_the_last_value_gives(data: st.DataObject) -> None:
    text = data.draw(texts())
    if data.draw(st.booleans()):
        text = '{"%s": %s}' % (WRAPPER_KEY, text)  # noqa: UP031 - text holds braces
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=30))
    starts = data.draw(st.sampled_from([None, "{", "[", '{["']))
    wrapped = data.draw(st.booleans())
    assert run(OutputStream(starts, wrapped), text, cuts) \
        == run(ReferenceStream(starts, wrapped), text, cuts)


def test_a_number_root_is_new_only_at_the_end() -> None:
    for wrapped in (False, True):
        stream = OutputStream(None, wrapped)
        assert stream.feed("4") is UNCHANGED
        assert stream.feed("2") is UNCHANGED
        assert stream.finish() == 42
    stream = OutputStream(None, False)
    assert stream.feed("42 ") == 42
    assert stream.finish() is UNCHANGED
    stream = OutputStream("{", True)
    assert stream.feed('{"value": 4') is UNCHANGED
    assert stream.feed("2}") == 42
    assert stream.finish() is UNCHANGED
    assert json.dumps(OutputStream("[", False).feed("[1, ")) == "[1]"
