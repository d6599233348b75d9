"""drop_absent_nulls passes over what holds nothing to drop (scalars, items whose schema
leads to no properties) without walking it: held here to the full walk it replaces, on
random schemas and values."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selectools.output.strict import (
    _alternatives,
    _dereference,
    _takes_null,
    drop_absent_nulls,
)


def full_walk(value: Any, node: Any, root: Mapping[str, Any], depth: int = 0) -> bool:
    """The walk as it was: every value visited."""
    if type(value) is not dict and type(value) is not list or depth > 200 \
            or not isinstance(node, Mapping):
        return False
    node = _dereference(node, root)
    dropped = False
    if isinstance(value, dict):
        for candidate in _alternatives(node, root):
            properties = candidate.get("properties")
            if not isinstance(properties, Mapping):
                continue
            required = candidate.get("required") or ()
            for name in [k for k, v in value.items() if v is None]:
                sub = properties.get(name)
                if isinstance(sub, Mapping) and name not in required \
                        and not _takes_null(sub, root, depth):
                    del value[name]
                    dropped = True
            for name, item in value.items():
                if name in properties:
                    dropped = full_walk(item, properties[name], root, depth + 1) or dropped
    elif isinstance(value, list):
        for candidate in _alternatives(node, root):
            items = candidate.get("items")
            if isinstance(items, Mapping):
                for item in value:
                    dropped = full_walk(item, items, root, depth + 1) or dropped
    return dropped


NAMES = ["a", "b", "c"]
leaf_schemas = st.sampled_from([
    {"type": "string"}, {"type": "integer"}, {"type": ["string", "null"]}, {},
    {"$ref": "#/$defs/Item"}, {"enum": [1, None]}])
schemas = st.recursive(
    leaf_schemas,
    lambda children: st.builds(
        lambda props, required: {"type": "object", "properties": props,
                                 "required": required},
        st.dictionaries(st.sampled_from(NAMES), children, max_size=3),
        st.lists(st.sampled_from(NAMES), max_size=2))
    | st.builds(lambda items: {"type": "array", "items": items}, children)
    | st.builds(lambda branches: {"anyOf": branches}, st.lists(children, max_size=2)),
    max_leaves=8)
values = st.recursive(
    st.none() | st.integers(0, 3) | st.sampled_from(["x", ""]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(NAMES), children, max_size=3),
    max_leaves=12)


def value_for(node: Mapping[str, Any], root: Mapping[str, Any], depth: int = 0,
              ) -> st.SearchStrategy[Any]:
    """Values shaped like `node` (so properties are there to drop), nulls anywhere."""
    scalars = st.none() | st.integers(0, 3) | st.sampled_from(["x", ""])
    if depth > 5:
        return scalars
    if "$ref" in node:
        return value_for(root["$defs"]["Item"], root, depth + 1)
    if "anyOf" in node:
        return st.one_of([scalars, *(value_for(b, root, depth + 1) for b in node["anyOf"])])
    if node.get("type") == "object":
        members = {name: st.none() | value_for(sub, root, depth + 1)
                   for name, sub in node["properties"].items()}
        return st.fixed_dictionaries({}, optional=members) | scalars
    if node.get("type") == "array":
        return st.lists(value_for(node["items"], root, depth + 1), max_size=4) | scalars
    return scalars


@st.composite
def schemas_and_values(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    item = draw(st.sampled_from([
        {"type": "object", "properties": {"a": {"type": "integer"}}}, {"type": "string"}]))
    properties: dict[str, Any] = draw(st.dictionaries(st.sampled_from(NAMES), schemas,
                                                      max_size=3))
    schema = {"type": "object", "properties": properties,
              "required": draw(st.lists(st.sampled_from(NAMES), max_size=1)),
              "$defs": {"Item": item}}
    members = {name: st.none() | value_for(sub, schema, 1)
               for name, sub in properties.items()}
    return schema, draw(st.fixed_dictionaries({}, optional=members) | values)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemas_and_values())
def test_drop_absent_nulls_drops_what_the_full_walk_drops(
        case: tuple[dict[str, Any], Any]) -> None:
    schema, value = case
    ours, theirs = copy.deepcopy(value), copy.deepcopy(value)
    assert drop_absent_nulls(ours, schema) == full_walk(theirs, schema, schema)
    assert ours == theirs
