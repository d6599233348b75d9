"""A JSON schema given as a dict is read once: an equal dict gets the same OutputSchema,
made from a copy of its own; a different one (by a value's type too) its own."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from selectools.output import OutputValidationError, output_schema

SCHEMA: dict[str, Any] = {
    "type": "object", "properties": {"name": {"type": "string"},
                                     "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["name"]}


def test_an_equal_schema_gets_the_same_output_schema() -> None:
    first = output_schema(SCHEMA)
    assert output_schema(copy.deepcopy(SCHEMA)) is first
    assert first.target == SCHEMA and first.target is not SCHEMA
    assert first.validate('{"name": "a", "tags": ["x"]}') == {"name": "a", "tags": ["x"]}


def test_a_schema_changed_after_use_is_read_again_and_the_first_stays_as_it_was() -> None:
    schema = copy.deepcopy(SCHEMA)
    before = output_schema(schema)
    schema["properties"]["name"] = {"type": "integer"}
    after = output_schema(schema)
    assert after is not before
    assert before.validate('{"name": "a"}') == {"name": "a"}
    with pytest.raises(OutputValidationError):
        after.validate('{"name": "a"}')
    with pytest.raises(OutputValidationError):
        before.validate('{"name": 1}')  # the first one's checker kept its own copy


def test_values_of_other_types_make_other_schemas() -> None:
    assert output_schema({"type": "integer", "minimum": 1}) \
        is not output_schema({"type": "integer", "minimum": 1.0})
    assert output_schema({"type": "integer", "minimum": 1}) \
        is not output_schema({"type": "integer", "minimum": True})


def test_a_refused_schema_is_refused_each_time() -> None:
    for _ in range(2):
        with pytest.raises(TypeError):
            output_schema({"type": "object", "properties": {"a": 5}})
