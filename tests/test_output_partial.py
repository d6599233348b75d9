"""The incremental partial-JSON parser: every prefix shows a value the next one only
extends, the last is json.loads of the whole, and the cost stays linear."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from partial_values import extends

from selectools.output import UNCHANGED, PartialJSONError, PartialJSONParser

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    value = draw(json_values)
    return json.dumps(value, ensure_ascii=draw(st.booleans()),
                      indent=draw(st.sampled_from([None, 1])),
                      separators=draw(st.sampled_from([None, (",", ":")])))


def feed_in_pieces(document: str, cuts: list[int]) -> tuple[list[Any], Any]:
    parser = PartialJSONParser()
    bounds = [0, *sorted(set(cuts)), len(document)]
    shown = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        value = parser.feed(document[start:end])
        if value is not UNCHANGED:
            shown.append(copy.deepcopy(value))  # the value is live: keep a snapshot
    return shown, parser.finish()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_split_grows_without_taking_back_and_ends_at_json_loads(data: st.DataObject,
                                                                      ) -> None:
    document = data.draw(documents())
    cuts = data.draw(st.lists(st.integers(0, len(document)), max_size=12))
    shown, final = feed_in_pieces(document, cuts)
    expected = json.loads(document)
    assert final == expected
    for earlier, later in zip(shown, [*shown[1:], final], strict=False):
        assert extends(earlier, later), (earlier, later)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_one_character_at_a_time_shows_each_change_once(document: str) -> None:
    shown, final = feed_in_pieces(document, list(range(len(document))))
    assert final == json.loads(document)
    for earlier, later in zip(shown, shown[1:], strict=False):
        assert earlier != later  # UNCHANGED was returned for deltas that changed nothing
        assert extends(earlier, later)


def test_strings_grow_numbers_wait_containers_close_implicitly() -> None:
    parser = PartialJSONParser()
    assert parser.feed('{"name": "Al') == {"name": "Al"}
    assert parser.feed('ice", "age": 4') == {"name": "Alice"}  # 4 may go on: 42
    assert parser.feed("2") is UNCHANGED
    assert parser.feed(', "tags": [tr') == {"name": "Alice", "age": 42, "tags": []}
    assert parser.feed("ue") == {"name": "Alice", "age": 42, "tags": [True]}
    assert parser.feed("]}") is UNCHANGED  # closing changes nothing visible
    assert parser.done
    assert parser.finish() == {"name": "Alice", "age": 42, "tags": [True]}


def test_escapes_cut_anywhere_decode_as_json_does() -> None:
    # An astral character written as a surrogate pair, cut between and inside the halves.
    document = json.dumps({"s": 'a"\\/\n\U0001F600b\u00e9'}, ensure_ascii=True)
    for cut in range(len(document) + 1):
        shown, final = feed_in_pieces(document, [cut])
        assert final == {"s": 'a"\\/\n\U0001F600b\u00e9'}
        assert all("\ud83d" not in value.get("s", "") for value in shown)
    lone = '["\\ud800x"]'
    assert feed_in_pieces(lone, [8])[1] == json.loads(lone)


def test_a_top_level_number_is_complete_only_at_the_end() -> None:
    parser = PartialJSONParser()
    assert parser.feed("12") is UNCHANGED
    assert parser.feed("3.5") is UNCHANGED
    assert parser.finish() == 123.5


@pytest.mark.parametrize("text, problem", [
    ('{"a" 1}', "expected ':'"),
    ("[1,]", "expected a value"),
    ('{"a": tru3}', "invalid literal"),
    ("[01]", "invalid number"),
    ('["a\x01"]', "control character"),
    ('["\\x"]', "invalid escape"),
    ("[1] 2", "after the JSON value"),
    ("{]", "expected a string key or '}'"),
])
def test_text_that_is_not_json_is_refused_with_the_position(text: str, problem: str) -> None:
    parser = PartialJSONParser()
    with pytest.raises(PartialJSONError, match=problem) as caught:
        for char in text:
            parser.feed(char)
        parser.finish()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert 0 <= caught.value.position < len(text)
    with pytest.raises(PartialJSONError):  # and it stays refused
        parser.feed("")


@pytest.mark.parametrize("text, problem", [
    ('{"a": "b', "inside a string"), ('{"a": [1,', "left open"), ("", "no JSON value"),
    ("tr", "inside a value"), ("-", "invalid number"),
])
def test_an_unfinished_text_is_named_at_finish(text: str, problem: str) -> None:
    parser = PartialJSONParser()
    parser.feed(text)
    with pytest.raises(PartialJSONError, match=problem):
        parser.finish()


def test_lenient_mode_skips_a_fence_and_prose_and_ignores_what_follows() -> None:
    parser = PartialJSONParser(start="{")
    assert parser.feed("Here it is [as asked]:\n```json\n") is UNCHANGED
    assert parser.feed('{"items": [1, ') == {"items": [1]}
    assert parser.feed('2]}\n```\nAnything else? {"no": 1}') == {"items": [1, 2]}
    assert parser.finish() == {"items": [1, 2]}


def test_a_long_string_is_shown_as_it_grows_and_exact_at_the_end() -> None:
    parser = PartialJSONParser()
    parser.feed('{"text": "')
    lengths = []
    for _ in range(20000):
        value = parser.feed("ab")
        if value is not UNCHANGED:
            lengths.append(len(value["text"]))
    # Short, it follows every delta; long, it lags by at most a sixteenth of its length.
    assert lengths[:100] == list(range(2, 202, 2))
    assert lengths[-1] >= 40000 * 15 // 16
    assert parser.feed('"}') == {"text": "ab" * 20000}


def _big_document() -> str:
    record = {"id": 123456, "name": "a name with \\u00e9scapes \" and text", "score": -1.5e3,
              "tags": ["x", "yy", "zzz"], "ok": True, "none": None, "nested": {"a": [1, 2]}}
    records = [dict(record, id=i) for i in range(4000)]
    document = json.dumps({"records": records, "long": "word " * 80000})
    assert len(document) > 1_000_000
    return document


def test_cost_is_linear_one_character_deltas_against_one_feed() -> None:
    document = _big_document()
    whole = PartialJSONParser()
    started = time.process_time()
    whole.feed(document)
    one_feed = time.process_time() - started

    parser = PartialJSONParser()
    feed = parser.feed
    started = time.process_time()
    for char in document:
        feed(char)
    per_character = time.process_time() - started
    assert parser.finish() == whole.finish() == json.loads(document)
    # Linear: a constant factor (the cost of a call per character). Quadratic work on a
    # 1 MB text would be thousands of times the single feed.
    assert per_character < 60 * max(one_feed, 0.01), (per_character, one_feed)
