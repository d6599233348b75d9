"""The JSON-schema checker used for dict schemas agrees with the `jsonschema` package
(draft 2020-12) on generated schemas and values, and names what is wrong by path."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selectools.output.accept import compile_accepts
from selectools.output.checker import SchemaChecker

scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([0.5, 2.0, -1.5]) \
    | st.sampled_from(["", "a", "ab", "abc", "x1"])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), inner,
                                        max_size=4), max_leaves=10)
type_names = st.sampled_from(["null", "boolean", "object", "array", "number", "string",
                              "integer"])
small = st.integers(0, 3)


def _keyword_schemas(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    keyword = st.one_of(
        st.builds(lambda t: {"type": t}, type_names | st.lists(type_names, min_size=1,
                                                                 max_size=3, unique=True)),
        st.builds(lambda v: {"enum": v}, st.lists(values, min_size=1, max_size=3)),
        st.builds(lambda v: {"const": v}, values),
        st.builds(lambda n: {"minimum": n}, st.integers(-3, 3)),
        st.builds(lambda n: {"exclusiveMaximum": n}, st.integers(-3, 3)),
        st.builds(lambda n: {"multipleOf": n}, st.sampled_from([1, 2, 0.5])),
        st.builds(lambda n: {"minLength": n}, small),
        st.builds(lambda n: {"maxLength": n}, small),
        st.builds(lambda p: {"pattern": p}, st.sampled_from(["^a", "[0-9]", "b$"])),
        st.builds(lambda n: {"minItems": n}, small),
        st.builds(lambda n: {"maxItems": n}, small),
        st.builds(lambda u: {"uniqueItems": u}, st.booleans()),
        st.builds(lambda s: {"items": s}, inner),
        st.builds(lambda ss: {"prefixItems": ss}, st.lists(inner, max_size=2)),
        st.builds(lambda s, n: {"contains": s, "minContains": n}, inner, small),
        st.builds(lambda props, req, extra: {"properties": props, "required": req,
                                             "additionalProperties": extra},
                  st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=2),
                  st.lists(st.sampled_from(["a", "b", "d"]), max_size=2, unique=True),
                  st.booleans() | inner),
        st.builds(lambda s: {"patternProperties": {"^[ab]$": s}}, inner),
        st.builds(lambda s: {"propertyNames": s}, inner),
        st.builds(lambda n: {"minProperties": n}, small),
        st.builds(lambda d: {"dependentRequired": {"a": d}},
                  st.lists(st.sampled_from(["b", "c"]), max_size=2, unique=True)),
        st.builds(lambda ss: {"anyOf": ss}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda ss: {"oneOf": ss}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda ss: {"allOf": ss}, st.lists(inner, min_size=1, max_size=2)),
        st.builds(lambda s: {"not": s}, inner),
        st.builds(lambda i, t, e: {"if": i, "then": t, "else": e}, inner, inner, inner),
    )
    return st.lists(keyword, min_size=1, max_size=3).map(
        lambda parts: {k: v for part in parts for k, v in part.items()})


schemas: st.SearchStrategy[Any] = st.recursive(st.booleans() | st.just({}), _keyword_schemas,
                                               max_leaves=6)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(schemas, values)
def test_verdicts_agree_with_jsonschema(schema: Any, value: Any) -> None:
    expected = jsonschema.Draft202012Validator(schema).is_valid(value)
    assert (not SchemaChecker(schema).problems(value)) == expected, \
        json.dumps({"schema": schema, "value": value})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_references_to_definitions_and_to_the_root_resolve(value: Any) -> None:
    tree = {"$defs": {"leaf": {"type": ["integer", "string"]}},
            "anyOf": [{"$ref": "#/$defs/leaf"},
                      {"type": "array", "items": {"$ref": "#"}},
                      {"type": "object", "additionalProperties": {"$ref": "#"}}]}
    expected = jsonschema.Draft202012Validator(tree).is_valid(value)
    assert (not SchemaChecker(tree).problems(value)) == expected


def test_problems_are_named_by_path() -> None:
    checker = SchemaChecker({
        "type": "object", "required": ["id", "items"], "additionalProperties": False,
        "properties": {"id": {"type": "integer"},
                       "items": {"type": "array", "items": {
                           "type": "object", "required": ["sku"],
                           "properties": {"sku": {"type": "string", "pattern": "^[A-Z]"},
                                          "qty": {"type": "integer", "minimum": 1}}}}}})
    problems = checker.problems({"items": [{"sku": "A1"}, {"sku": "b2", "qty": 0}],
                                 "note": "x"})
    assert [str(p) for p in problems] == [
        "$.id: required property is missing",
        "$.items[1].sku: \"b2\" does not match the pattern '^[A-Z]'",
        "$.items[1].qty: must be at least 1, got 0",
        "$.note: unexpected property (allowed: id, items)",
    ]


def test_a_type_mismatch_inside_an_alternative_names_the_one_meant() -> None:
    checker = SchemaChecker({"anyOf": [{"type": "null"},
                                       {"type": "object", "required": ["a"]}]})
    assert [str(p) for p in checker.problems({})] == ["$.a: required property is missing"]


@pytest.mark.parametrize("schema, words", [
    ({"type": "thing"}, "unknown type"),
    ({"pattern": "("}, "invalid pattern"),
    ({"$ref": "#/$defs/missing"}, "points at nothing"),
    ({"items": [{"type": "integer"}]}, "must be a dict or a boolean"),
    ({"$dynamicRef": "#node"}, "$dynamicRef"),
    ("not a schema", "must be a dict"),
])
def test_a_schema_it_cannot_check_is_refused_with_the_reason(schema: Any, words: str) -> None:
    with pytest.raises(TypeError, match=words.replace("$", r"\$")):
        SchemaChecker(schema)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(schemas, values)
def test_the_compiled_yes_or_no_agrees_with_jsonschema(schema: Any, value: Any) -> None:
    # The fast check that answers for valid values (output/accept.py) decides alone
    # whenever it takes the schema: its verdict must be the full check's.
    SchemaChecker(schema)  # (the schema is one the checker reads)
    accepts = compile_accepts(schema)
    if accepts is not None:
        expected = jsonschema.Draft202012Validator(schema).is_valid(value)
        assert accepts(value) == expected, json.dumps({"schema": schema, "value": value})


TYPICAL_SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer",
                                                                      "minimum": 0}},
     "required": ["name", "age"], "additionalProperties": False},
    {"type": "array", "items": {"type": "object", "properties": {
        "label": {"enum": ["bug", "feature"]}, "score": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}},
]


@pytest.mark.parametrize("schema", TYPICAL_SCHEMAS)
def test_the_schemas_answers_usually_have_take_the_fast_check(schema: Any) -> None:
    assert compile_accepts(schema) is not None


def test_a_value_the_fast_check_refuses_is_explained_by_the_full_check() -> None:
    checker = SchemaChecker(TYPICAL_SCHEMAS[1])
    good = [{"label": "bug", "score": 1.5, "tags": ["a", "b"], "note": None}]
    assert checker.problems(good) == []
    bad = [{"label": "bug"}, {"label": "question", "tags": ["a", "a"], "note": 3}]
    assert [str(p) for p in checker.problems(bad)] == [
        '$[1].label: "question" is not one of: "bug", "feature"',
        "$[1].tags[1]: repeats an earlier item; items must be unique",
        "$[1].note: integer 3 matches none of the allowed alternatives",
    ]
