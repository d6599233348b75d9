"""output_schema(T): the schema sent for each kind of T, its strict variant, and the
validation of answers (the value as T, or an error naming path and problem)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import Any, Literal, NotRequired, TypedDict

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from selectools.output import (
    UNCHANGED,
    WRAPPER_KEY,
    OutputValidationError,
    output_schema,
)


class Address(BaseModel):
    city: str
    zip_code: str | None = None


class Person(BaseModel):
    """Someone named in the text."""

    name: str
    age: int = Field(ge=0)
    address: Address | None = None
    tags: list[str] = []


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


class Node(BaseModel):
    label: str
    children: list[Node] = []


KINDS: list[tuple[Any, str, Any]] = [
    (Person, '{"name": "Ann", "age": 31, "address": {"city": "Oslo"}}',
     Person(name="Ann", age=31, address=Address(city="Oslo"))),
    (Point, '{"x": 1.5}', Point(1.5, 0.0)),
    (Movie, '{"title": "Heat", "year": 1995}', {"title": "Heat", "year": 1995}),
    (list[Person], '[{"name": "A", "age": 1}, {"name": "B", "age": 2}]',
     [Person(name="A", age=1), Person(name="B", age=2)]),
    (list[Movie], '[{"title": "Heat"}]', [{"title": "Heat"}]),
    (Node, '{"label": "a", "children": [{"label": "b"}]}',
     Node(label="a", children=[Node(label="b")])),
    (Literal["yes", "no"], '"yes"', "yes"),
    ({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
     '{"n": 3}', {"n": 3}),
]


@pytest.mark.parametrize("target, answer, expected", KINDS)
def test_each_kind_validates_to_a_value_of_that_kind(target: Any, answer: str,
                                                     expected: Any) -> None:
    output = output_schema(target)
    value = output.validate(answer)
    assert value == expected
    assert type(value) is type(expected)
    # The plain schema accepts the answer too (checked by the reference implementation).
    jsonschema.validate(json.loads(answer), output.schema)


@pytest.mark.parametrize("target, answer, expected", KINDS)
def test_the_strict_schema_is_what_openai_strict_mode_demands(target: Any, answer: str,
                                                              expected: Any) -> None:
    output = output_schema(target)
    strict = output.strict_schema
    assert strict is not None, output.strict_problem
    assert strict["type"] == "object"
    jsonschema.Draft202012Validator.check_schema(strict)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" or "properties" in node:
                assert node["additionalProperties"] is False
                assert sorted(node["required"]) == sorted(node["properties"])
            assert not {"default", "oneOf", "title", "discriminator"} & node.keys()
            for key, child in node.items():
                if key in ("properties", "$defs"):  # names, then schemas
                    for sub in child.values():
                        walk(sub)
                else:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(strict)
    # An answer written to the strict schema validates too, wrapped or not.
    data = json.loads(answer)
    strict_answer = {WRAPPER_KEY: data} if output.wrapped else data
    if output.wrapped:
        assert output.validate(json.dumps(strict_answer)) == expected


def test_a_strict_answer_sends_every_optional_property_and_still_validates() -> None:
    output = output_schema(Person)
    assert output.strict_schema is not None
    answer = {"name": "Ann", "age": 3, "address": None, "tags": []}
    jsonschema.validate(answer, output.strict_schema)
    assert output.validate(json.dumps(answer)) == Person(name="Ann", age=3)


@pytest.mark.parametrize("target, answer, expected", [
    (Point, {"x": 1, "y": None}, Point(1.0, 0.0)),
    (Movie, {"title": "Heat", "year": None}, {"title": "Heat"}),
    (list[Movie], {WRAPPER_KEY: [{"title": "Heat", "year": None}]}, [{"title": "Heat"}]),
    ({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": None}, {}),
])
def test_an_optional_property_sent_as_null_in_strict_mode_means_absent(
        target: Any, answer: Any, expected: Any) -> None:
    output = output_schema(target)
    assert output.strict_schema is not None
    jsonschema.validate(answer, output.strict_schema)  # strict mode allows it...
    assert output.validate(json.dumps(answer)) == expected  # ...and it means "absent"


def test_a_null_the_type_allows_is_kept_and_one_it_refuses_is_reported() -> None:
    schema = {"type": "object", "required": ["a"],
              "properties": {"a": {"type": "integer"}, "b": {"type": ["string", "null"]}}}
    assert output_schema(schema).validate('{"a": 1, "b": null}') == {"a": 1, "b": None}
    with pytest.raises(OutputValidationError, match=r"\$\.a: expected integer, got null"):
        output_schema(schema).validate('{"a": null}')


def test_the_plain_schema_keeps_optional_properties_optional_and_names_the_type() -> None:
    output = output_schema(Person)
    assert output.name == "Person"
    assert output.schema["required"] == ["name", "age"]
    assert output.schema["description"] == "Someone named in the text."
    assert "title" not in json.dumps(output.schema)
    assert output_schema(list[Person]).name == "list_Person"
    assert output_schema({"title": "My report!", "type": "object"}).name == "My_report"
    assert output_schema({"type": "object"}).name == "structured_response"


@pytest.mark.parametrize("target, reason", [
    (dict[str, int], "free keys"),
    (tuple[int, str], "tuple"),
    ({"type": "object", "properties": {"a": {}}}, "any shape"),
])
def test_types_with_no_strict_form_say_why_and_keep_the_plain_schema(target: Any,
                                                                     reason: str) -> None:
    output = output_schema(target)
    assert output.strict_schema is None
    assert reason in (output.strict_problem or "")
    assert output.schema


@pytest.mark.parametrize("answer", [
    'Here you are:\n```json\n{"name": "Ann", "age": 31}\n```\nAnything else?',
    'Sure {not json} -- the result is {"name": "Ann", "age": 31} as asked.',
    '  {"name": "Ann", "age": 31}  ',
    'Example: {"name": "X", "age": 0}\n```json\n{"name": "Ann", "age": 31}\n```',
    'Code:\n```python\nprint({1: 2})\n```\nAnswer: {"name": "Ann", "age": 31}',
    '```json\n{"name": "Ann", "age": 31}\n// the end\n```',
])
def test_json_in_a_fence_or_in_prose_is_found_the_outermost_value(answer: str) -> None:
    assert output_schema(Person).validate(answer) == Person(name="Ann", age=31)


def test_the_outermost_value_is_taken_not_one_nested_in_it() -> None:
    output = output_schema({"type": "object"})
    assert output.validate('Result: {"a": {"b": 1}, "c": [2]} done') == \
        {"a": {"b": 1}, "c": [2]}
    assert output_schema(list[int]).validate("The list [1, 2, 3].") == [1, 2, 3]


@pytest.mark.parametrize("answer, path, problem", [
    ('{"name": "Ann"}', "$.age", "Field required"),
    ('{"name": "Ann", "age": -1}', "$.age", "greater than or equal to 0"),
    ('{"name": "Ann", "age": 3, "address": {"zip_code": 1}}', "$.address.city",
     "Field required"),
    ('{"name": "Ann", "age": 3, "tags": ["a", 5]}', "$.tags[1]", "valid string"),
    ("I cannot answer that.", "$", "no JSON value"),
    ('{"name": "Ann", "age": ', "$", "no valid JSON value"),
    ("", "$", "empty"),
])
def test_an_invalid_answer_is_refused_naming_the_path_and_the_problem(
        answer: str, path: str, problem: str) -> None:
    with pytest.raises(OutputValidationError) as caught:
        output_schema(Person).validate(answer)
    paths = [p.path for p in caught.value.problems]
    assert path in paths
    assert problem in str(caught.value)
    assert f"{path}: " in str(caught.value)  # the message the model reads names both


def test_a_wrapped_answer_is_refused_at_the_path_the_model_wrote() -> None:
    with pytest.raises(OutputValidationError) as caught:
        output_schema(list[Person]).validate('{"value": [{"name": "A"}]}')
    assert [p.path for p in caught.value.problems] == ["$.value[0].age"]


def test_a_json_schema_dict_is_checked_not_passed_through() -> None:
    output = output_schema({
        "type": "object", "additionalProperties": False, "required": ["score", "label"],
        "properties": {"score": {"type": "number", "maximum": 1},
                       "label": {"enum": ["good", "bad"]}}})
    with pytest.raises(OutputValidationError) as caught:
        output.validate('{"score": 2, "label": "meh", "extra": true}')
    assert {p.path for p in caught.value.problems} == {"$.score", "$.label", "$.extra"}
    assert "must be at most 1" in str(caught.value)


def test_nan_and_infinity_are_not_json() -> None:
    with pytest.raises(OutputValidationError):
        output_schema({"type": "number"}).validate("NaN")
    with pytest.raises(OutputValidationError):
        output_schema({"type": "object"}).validate('{"a": Infinity}')


@pytest.mark.parametrize("bad", [None, "Person", 3, [Person], Person(name="a", age=1)])
def test_bad_response_format_raises_a_type_error_naming_it(bad: Any) -> None:
    with pytest.raises(TypeError, match="response_format"):
        output_schema(bad)


def test_a_schema_with_a_keyword_that_cannot_be_checked_is_refused_up_front() -> None:
    with pytest.raises(TypeError, match="unevaluatedProperties"):
        output_schema({"type": "object", "unevaluatedProperties": False})
    with pytest.raises(TypeError, match="only local"):
        output_schema({"$ref": "https://example.com/schema.json"})


def test_repair_prompt_carries_the_error_for_the_model() -> None:
    output = output_schema(Person)
    with pytest.raises(OutputValidationError) as caught:
        output.validate('{"name": "Ann"}')
    prompt = output.repair_prompt(caught.value)
    assert "$.age: Field required" in prompt
    assert "JSON" in output.instructions() and '"age"' in output.instructions()


def test_the_stream_shows_partial_values_and_unwraps_the_strict_wrapper() -> None:
    output = output_schema(list[Person])
    stream = output.stream(wrapped=True)
    assert stream.feed('{"value": [{"name": "A') == [{"name": "A"}]
    assert stream.feed('l", "age": 4') == [{"name": "Al"}]  # 4 may go on: 42
    assert stream.feed("2}]}") == [{"name": "Al", "age": 42}]
    assert stream.feed("") is UNCHANGED
    bare = output_schema(Person).stream()
    assert bare.feed('```json\n{"name": "Jo') == {"name": "Jo"}
    assert bare.feed("}\n```") is UNCHANGED


objects = st.dictionaries(
    st.text(max_size=6),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8),
    max_size=4)


@settings(max_examples=150)
@given(objects, st.sampled_from(["{}", "```json\n{}\n```", "Here it is: {} -- done.",
                                 "Sure [1].\n```\n{}\n```\nMore {text}?"]),
       st.lists(st.integers(1, 7), min_size=1, max_size=40))
def test_the_last_partial_value_is_the_validated_value(value: dict[str, Any], frame: str,
                                                       sizes: list[int]) -> None:
    text = frame.replace("{}", json.dumps(value), 1)
    output = output_schema({"type": "object"})
    stream = output.stream()
    last: Any = UNCHANGED
    position, index = 0, 0
    while position < len(text):
        size = sizes[index % len(sizes)]
        shown = stream.feed(text[position:position + size])
        if shown is not UNCHANGED:
            last = json.loads(json.dumps(shown))
        position, index = position + size, index + 1
    assert last == output.validate(text) == value


def test_the_stream_goes_quiet_on_text_that_is_not_json() -> None:
    stream = output_schema(Person).stream()
    assert stream.feed('{"name": x') is UNCHANGED
    assert stream.feed('"still nothing"}') is UNCHANGED


def test_the_error_survives_pickling_with_its_problems() -> None:
    import pickle

    with pytest.raises(OutputValidationError) as caught:
        output_schema(Person).validate('{"name": 1}')
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.problems == caught.value.problems and str(copy) == str(caught.value)


def test_the_same_type_gives_the_same_output_schema() -> None:
    assert output_schema(list[Person]) is output_schema(list[Person])


def test_importing_the_package_imports_no_pydantic() -> None:
    code = ("import sys, selectools.output as o\n"
            "o.output_schema({'type': 'object'}).validate('{}')\n"
            "print('pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
