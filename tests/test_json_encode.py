"""selectools._json.encode must write what json.dumps writes (compact, UTF-8), whatever the
value, with RawJson values spliced in as they are."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selectools._json import RawJson, encode

# Floats of every kind (infinities too: json.dumps writes them as Infinity), text with lone
# surrogates (written escaped), keys that are not strings (written as json.dumps does).
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text() | st.integers() | st.booleans() | st.none(), inner, max_size=4),
    max_leaves=12,
)


def dumps(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate: json.dumps's ASCII output escapes it
        return json.dumps(value, separators=(",", ":")).encode()


@given(values)
def test_any_value_is_written_as_json_dumps_writes_it(value: Any) -> None:
    assert encode(value) == dumps(value)


@given(st.dictionaries(st.text(), values, max_size=4), st.dictionaries(st.text(), values,
                                                                       min_size=1, max_size=2))
def test_raw_json_values_are_spliced_as_they_are(plain: dict[str, Any],
                                                 raw: dict[str, Any]) -> None:
    body: dict[str, Any] = {**plain, **{key: RawJson(dumps(value)) for key, value in raw.items()}}
    expected = {key: value for key, value in body.items() if type(value) is not RawJson}
    expected.update((key, raw[key]) for key, value in body.items() if type(value) is RawJson)
    # The same text as encoding the values themselves, the raw ones last.
    assert encode(body) == dumps(expected)


def test_what_json_cannot_write_is_refused_as_json_dumps_refuses_it() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        encode({"a": object()})
    assert encode(float("nan")) == b"NaN"  # (written, as json.dumps writes it)
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(RecursionError):
        encode({"messages": looped})


@given(st.dictionaries(st.text(), values, max_size=4), st.dictionaries(st.text(), values,
                                                                       min_size=1, max_size=2),
       st.randoms())
def test_raw_json_values_anywhere_are_spliced_as_when_last(
        plain: dict[str, Any], raw: dict[str, Any], random: Any) -> None:
    # A request's body has one RawJson, its last value: a short path; a RawJson anywhere
    # else, or more of them, takes the general one. Both write the same text.
    items = [*plain.items(), *((key, RawJson(dumps(value))) for key, value in raw.items())]
    random.shuffle(items)
    body = dict(items)
    expected = {key: value for key, value in body.items() if type(value) is not RawJson}
    expected.update((key, raw[key]) for key, value in body.items() if type(value) is RawJson)
    assert encode(body) == dumps(expected)
