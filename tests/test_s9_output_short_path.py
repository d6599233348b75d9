"""The partial parser's short paths (`PartialJSONParser._short` and feed's own) held to
the general scanner: any text, valid or not, cut anywhere, gives the same values after
every delta, the same errors (message and position) and the same final value."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selectools.output import UNCHANGED, PartialJSONError, PartialJSONParser
from selectools.output.partial_syntax import _ALWAYS_SHOWN


class GeneralParser(PartialJSONParser):
    """The general scanner alone."""

    __slots__ = ()
    _SHORT_PATH = False


# Strings the short paths treat apart: escapes, control characters, one just past the
# length shown on every delta, text that looks like JSON.
awkward_strings = st.sampled_from([
    "", "x" * (_ALWAYS_SHOWN - 3), "y" * (_ALWAYS_SHOWN + 50), 'a"b', "back\\slash",
    "line\nbreak", "\U0001F600 and \u00e9", "\x01", '{"k": [1, "v"]}', "true"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
    | awkward_strings,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=6) | awkward_strings, children, max_size=5),
    max_leaves=20,
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    """A JSON document as json.dumps writes it, sometimes in prose, sometimes broken."""
    value = draw(json_values)
    text = json.dumps(value, ensure_ascii=draw(st.booleans()),
                      indent=draw(st.sampled_from([None, 1])),
                      separators=draw(st.sampled_from([None, (",", ":"), (" , ", " : ")])))
    if draw(st.booleans()):
        text = draw(st.sampled_from(["", "Here:\n```json\n", "a [note] "])) + text \
            + draw(st.sampled_from(["", "\n```", " {\"more\": 1}", "  "]))
    for _ in range(draw(st.integers(0, 2))):  # a character changed, put in or taken out
        at = draw(st.integers(0, len(text)))
        piece = draw(st.sampled_from(['"', ",", ":", "}", "]", "\\", "x", "1", "-", " ",
                                      "\x02", "tru", ""]))
        text = text[:at] + piece + text[at + draw(st.integers(0, 1)):]
    return text


def run(parser: PartialJSONParser, text: str, cuts: list[int]) -> list[Any]:
    """What each feed and the finish gave: a snapshot of the value, UNCHANGED, or the
    error's message and position."""
    bounds = [0, *sorted(set(cuts)), len(text)]
    seen: list[Any] = []
    for start, end in [*zip(bounds, bounds[1:], strict=False), (None, None)]:
        try:
            if start is None:
                value = parser.finish()
            else:
                value = parser.feed(text[start:end])
        except PartialJSONError as error:
            seen.append(("error", str(error), error.position))
            continue
        seen.append(value if value is UNCHANGED else copy.deepcopy(value))
        seen.append(parser.done)
    return seen


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_short_paths_give_what_the_general_scanner_gives(data: st.DataObject) -> None:
    text = data.draw(texts())
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=40))
    start = data.draw(st.sampled_from([None, "{", "[", '{["', '"']))
    assert run(PartialJSONParser(start=start), text, cuts) \
        == run(GeneralParser(start=start), text, cuts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts())
def test_one_character_at_a_time_as_well(text: str) -> None:
    cuts = list(range(len(text)))
    assert run(PartialJSONParser(), text, cuts) == run(GeneralParser(), text, cuts)


def test_the_short_path_takes_a_typical_answer_without_the_scanner() -> None:
    # (So the tests above compare two paths: after its first delta, a typical typed
    # answer cut into token-sized deltas never reaches the general scanner.)
    document = json.dumps({"a": "some text", "n": [1, 2.5, True, None, "x"], "o": {},
                           "keys": {"long key": "v", "k": ["ab", "cd"]}})
    parser = PartialJSONParser(start="{")
    parser.feed(document[:1])
    called: set[str] = set()

    def trace(frame: Any, event: str, arg: Any) -> None:
        # (The parser's modules: output/partial.py, partial_short_path.py, ...)
        if event == "call" and "/output/partial" in frame.f_code.co_filename:
            called.add(frame.f_code.co_name)

    sys.setprofile(trace)
    try:
        for i in range(1, len(document), 5):
            parser.feed(document[i:i + 5])
    finally:
        sys.setprofile(None)
    assert parser.finish() == json.loads(document)
    assert called <= {"feed", "_consume", "_short", "_number_value"}, called
