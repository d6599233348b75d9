"""The JSON schema a tool shows the model, derived from type hints and docstrings."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Literal, Optional

import jsonschema
import pytest
from pydantic import BaseModel, Field

from selectools.tools import Tool, tool


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Address(BaseModel):
    city: str = Field(description="City name")
    zip_code: str | None = None


class TreeNode(BaseModel):
    label: str
    children: list[TreeNode] = []


def test_basic_types_required_and_defaults() -> None:
    @tool
    def f(text: str, count: int, ratio: float = 0.5, flag: bool = False) -> str:
        return ""

    assert f.parameters_schema == {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "count": {"type": "integer"},
            "ratio": {"type": "number", "default": 0.5},
            "flag": {"type": "boolean", "default": False},
        },
        "required": ["text", "count"],
        "additionalProperties": False,
    }


def test_optional_and_union_none_are_nullable_and_not_required() -> None:
    @tool
    def f(a: Optional[int] = None, b: str | None = None) -> str:  # noqa: UP045
        return ""

    props = f.parameters_schema["properties"]
    assert props["a"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert props["b"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert f.parameters_schema["required"] == []


def test_literal_and_enum_become_enums() -> None:
    @tool
    def f(mode: Literal["fast", "slow"], unit: Unit = Unit.CELSIUS) -> str:
        return ""

    props = f.parameters_schema["properties"]
    assert props["mode"] == {"type": "string", "enum": ["fast", "slow"]}
    assert props["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert props["unit"]["default"] == "celsius"


def test_lists_and_dicts() -> None:
    @tool
    def f(tags: list[str], scores: dict[str, int]) -> str:
        return ""

    props = f.parameters_schema["properties"]
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["scores"] == {"type": "object", "additionalProperties": {"type": "integer"}}


def test_nested_models_and_dataclasses_are_inlined() -> None:
    @tool
    def f(address: Address, points: list[Point]) -> str:
        return ""

    schema = f.parameters_schema
    assert "$defs" not in schema
    address = schema["properties"]["address"]
    assert address["type"] == "object"
    assert address["properties"]["city"] == {"type": "string", "description": "City name"}
    assert address["required"] == ["city"]
    point = schema["properties"]["points"]["items"]
    assert point["properties"]["x"] == {"type": "number"}
    assert point["required"] == ["x"]


def test_recursive_model_keeps_defs_in_the_same_object() -> None:
    @tool
    def f(tree: TreeNode) -> str:
        return ""

    schema = f.parameters_schema
    assert "TreeNode" in schema["$defs"]
    assert schema["properties"]["tree"] == {"$ref": "#/$defs/TreeNode"}
    # Self-contained: a validator resolves every $ref from the schema alone.
    jsonschema.validate({"tree": {"label": "a", "children": [{"label": "b"}]}}, schema)


def test_no_titles_leak_but_a_parameter_named_title_survives() -> None:
    @tool
    def f(title: str, address: Address) -> str:
        return ""

    schema = f.parameters_schema
    assert "title" in schema["properties"]
    assert "title" not in schema
    assert "title" not in schema["properties"]["title"]
    assert "title" not in schema["properties"]["address"]


def test_descriptions_from_annotated_and_field() -> None:
    @tool
    def f(
        a: Annotated[int, "how many"],
        b: Annotated[str, Field(description="from Field", min_length=2)],
        c: int = Field(3, description="with default", ge=0),
    ) -> str:
        """Do it.

        Args:
            a: docstring loses to Annotated
        """
        return ""

    props = f.parameters_schema["properties"]
    assert props["a"] == {"type": "integer", "description": "how many"}
    assert props["b"] == {"type": "string", "description": "from Field", "minLength": 2}
    assert props["c"] == {"type": "integer", "description": "with default", "default": 3,
                          "minimum": 0}
    assert f.parameters_schema["required"] == ["a", "b"]


def test_descriptions_from_docstring_args_section() -> None:
    @tool
    def search(query: str, limit: int = 5, region: str = "us") -> str:
        """Search the web.

        Returns the top hits, best first.

        Args:
            query: What to search for. May span
                several lines.
            limit (int, optional): How many results.
            region (str): Where.

        Returns:
            The results.
        """
        return ""

    props = search.parameters_schema["properties"]
    assert search.description == "Search the web."
    assert props["query"]["description"] == "What to search for. May span several lines."
    assert props["limit"]["description"] == "How many results."
    assert props["region"]["description"] == "Where."


def test_unhinted_parameters_are_strings() -> None:
    @tool
    def f(a, b=None):  # type: ignore[no-untyped-def]
        return a

    props = f.parameters_schema["properties"]
    assert props["a"] == {"type": "string"}
    assert props["b"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert f.parameters_schema["required"] == ["a"]


def test_parameters_named_like_pydantic_attributes_work() -> None:
    @tool
    def f(json: str, model_config: int, schema: str = "x") -> str:
        return f"{json}-{model_config}-{schema}"

    assert list(f.parameters_schema["properties"]) == ["json", "model_config", "schema"]
    assert f.validate({"json": "j", "model_config": "2"}) == {
        "json": "j", "model_config": 2, "schema": "x"}


def test_no_parameters() -> None:
    @tool
    def now() -> str:
        """The time."""
        return "noon"

    assert now.parameters_schema == {"type": "object", "properties": {}, "required": [],
                                     "additionalProperties": False}


def test_every_schema_is_valid_json_schema() -> None:
    @tool
    def f(a: Address, b: list[Point], c: Literal[1, 2], d: Unit | None = None) -> str:
        return ""

    jsonschema.Draft202012Validator.check_schema(f.parameters_schema)
    jsonschema.validate({"a": {"city": "Oslo"}, "b": [{"x": 1}], "c": 1}, f.parameters_schema)


@pytest.mark.parametrize("source, expected", [
    ("def f(*args: str) -> str: ...", "'*args'"),
    ("def f(**options: str) -> str: ...", "'**options'"),
    ("def f(a: int, /) -> str: ...", "'a' is positional-only"),
])
def test_unsupported_signatures_fail_at_decoration(source: str, expected: str) -> None:
    namespace: dict[str, object] = {}
    exec(source, namespace)
    with pytest.raises(TypeError, match="tool 'f'") as info:
        tool(namespace["f"])  # type: ignore[call-overload]
    assert expected in str(info.value)


class Opaque:
    """A type pydantic cannot describe."""


def test_unsupported_type_names_the_parameter() -> None:
    def f(good: int, handle: Opaque) -> str:
        return ""

    with pytest.raises(TypeError) as info:
        tool(f)
    assert "parameter 'handle'" in str(info.value)
    assert "Opaque" in str(info.value)


def test_unresolvable_hint_names_the_parameter() -> None:
    # This module uses `from __future__ import annotations`, so a class local to the test
    # is only a name the function's module cannot see.
    class Local:
        pass

    def f(good: int, thing: Local) -> str:
        return ""

    with pytest.raises(TypeError) as info:
        tool(f)
    assert "parameter 'thing'" in str(info.value)
    assert "Local" in str(info.value)


def test_explicit_schema_is_kept() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}

    def f(q: str) -> str:
        return q

    t = Tool(name="find", description="Find", function=f, parameters_schema=schema)
    assert t.parameters_schema == schema
    assert t.parameters_schema is not schema


def test_explicit_schema_must_be_an_object_schema() -> None:
    with pytest.raises(ValueError, match="JSON Schema object"):
        Tool(name="f", description="", function=lambda: "", parameters_schema={"type": "string"})


def test_explicit_schema_must_be_json_and_is_kept_as_json() -> None:
    def f(q: str) -> str:
        return q

    with pytest.raises(ValueError, match="tool 'find': parameters_schema is not JSON.*set"):
        Tool(name="find", description="", function=f, parameters_schema={
            "type": "object", "properties": {"q": {"enum": {"a", "b"}}}})
    with pytest.raises(ValueError, match="not JSON: Out of range float"):  # no Infinity
        Tool(name="find", description="", function=f, parameters_schema={
            "type": "object", "properties": {"q": {"type": "number",
                                                   "maximum": float("inf")}}})
    t = Tool(name="find", description="", function=f, parameters_schema={
        "type": "object", "properties": {"q": {"type": "string", "enum": ("a", "b")}}})
    assert t.parameters_schema["properties"]["q"]["enum"] == ["a", "b"]  # as sent
