"""selectools._json.loads must be json.loads: the same value, or the same error, for any input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selectools._json import loads

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
# Every encoding json.loads reads from bytes, each with and without its BOM.
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
             "utf-32-be"]


def outcome(function: Any, data: Any) -> tuple[str, Any]:
    try:
        return "value", function(data)
    except (ValueError, TypeError) as exc:
        return type(exc).__name__, str(exc)


@given(json_values, st.sampled_from(["", " ", "\n", " \t"]), st.sampled_from(["", " ", "\r\n"]),
       st.booleans(), st.booleans(), st.sampled_from(ENCODINGS))
def test_any_json_text_decodes_as_json_loads_decodes_it(
        value: Any, before: str, after: str, compact: bool, ascii_only: bool,
        encoding: str) -> None:
    text = before + json.dumps(value, separators=(",", ":") if compact else None,
                               ensure_ascii=ascii_only) + after
    assert outcome(loads, text) == outcome(json.loads, text)
    data = text.encode(encoding, errors="surrogatepass")
    assert outcome(loads, data) == outcome(json.loads, data)
    assert outcome(loads, bytearray(data)) == outcome(json.loads, bytearray(data))


@given(st.text(max_size=40))
def test_any_text_gives_json_loads_value_or_error(text: str) -> None:
    assert outcome(loads, text) == outcome(json.loads, text)


@given(st.binary(max_size=40))
def test_any_bytes_give_json_loads_value_or_error(data: bytes) -> None:
    assert outcome(loads, data) == outcome(json.loads, data)


@pytest.mark.parametrize("data", [
    "", "{", '{"a": 1,}', '{"a": 1} x', '{"a": 1}{"b": 2}', "nul", "[1, 2", '"\\x"', "\ufeff{}",
    b"\xef\xbb\xbf{\"a\": 1}", '{"a": 1}'.encode("utf-16"), b"\xff\xfe\x00", b"{\"a\": \xff}",
    '{"a": 1}'.encode("utf-16-le"), '"hi"'.encode("utf-32-le"), b"1", b"",
    "NaN", "-Infinity", '{"a": NaN}', None, 12, memoryview(b"{}"),
])
def test_edge_inputs_match_json_loads(data: Any) -> None:
    assert outcome(loads, data) == outcome(json.loads, data)
