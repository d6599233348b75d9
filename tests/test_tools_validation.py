"""Arguments a model sends: coerced when sensible, otherwise a named, readable error."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from selectools.tools import Tool, ToolArgumentError, format_tool_error, tool
from selectools.types import RAW_ARGUMENTS_KEY


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Address(BaseModel):
    city: str
    zip_code: str | None = None


@tool
def forecast(city: str, days: int = 3, unit: Unit = Unit.CELSIUS,
             mode: Literal["brief", "full"] = "brief") -> str:
    """Weather forecast."""
    return f"{city} {days} {unit.value} {mode}"


def test_valid_arguments_pass_with_defaults_filled_in() -> None:
    assert forecast.validate({"city": "Oslo"}) == {
        "city": "Oslo", "days": 3, "unit": Unit.CELSIUS, "mode": "brief"}


def test_loose_json_types_are_coerced() -> None:
    args = forecast.validate({"city": 12345, "days": "5", "unit": "fahrenheit"})
    assert args["city"] == "12345"
    assert args["days"] == 5
    assert args["unit"] is Unit.FAHRENHEIT


def test_nested_values_become_models_and_dataclasses() -> None:
    @tool
    def route(start: Address, stops: list[Point]) -> str:
        return ""

    args = route.validate({"start": {"city": "Oslo"}, "stops": [{"x": "1.5"}, {"x": 2, "y": 3}]})
    assert args["start"] == Address(city="Oslo")
    assert args["stops"] == [Point(1.5, 0.0), Point(2.0, 3.0)]


def test_wrong_type_names_tool_parameter_and_expectation() -> None:
    with pytest.raises(ToolArgumentError) as info:
        forecast.validate({"city": "Oslo", "days": "soon"})
    message = str(info.value)
    assert "forecast" in message
    assert "'days'" in message
    assert "integer" in message
    assert "'soon'" in message
    assert info.value.parameters == ["days"]
    assert isinstance(info.value, ValueError)


def test_literal_and_enum_violations_list_the_choices() -> None:
    with pytest.raises(ToolArgumentError) as info:
        forecast.validate({"city": "Oslo", "unit": "kelvin", "mode": "long"})
    message = str(info.value)
    assert "'celsius' or 'fahrenheit'" in message
    assert "'brief' or 'full'" in message
    assert info.value.parameters == ["unit", "mode"]


def test_missing_required_parameter_is_named() -> None:
    with pytest.raises(ToolArgumentError, match="missing required parameter 'city'"):
        forecast.validate({"days": 2})


def test_unknown_extra_argument_is_an_error_listing_what_the_tool_takes() -> None:
    with pytest.raises(ToolArgumentError) as info:
        forecast.validate({"city": "Oslo", "country": "NO"})
    assert "unexpected parameter 'country'" in str(info.value)
    assert "city, days, unit, mode" in str(info.value)


def test_nested_error_gives_the_path() -> None:
    @tool
    def route(stops: list[Point]) -> str:
        return ""

    with pytest.raises(ToolArgumentError) as info:
        route.validate({"stops": [{"x": 1}, {"x": "far"}]})
    assert "'stops[1].x'" in str(info.value)
    assert info.value.parameters == ["stops"]


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ToolArgumentError) as info:
        forecast.validate({"days": "x", "extra": 1})
    assert info.value.parameters == ["city", "days", "extra"]


@pytest.mark.parametrize("arguments", [["Oslo"], "Oslo", None, 3])
def test_arguments_that_are_not_an_object(arguments: Any) -> None:
    with pytest.raises(ToolArgumentError, match="must be a JSON object, got"):
        forecast.validate(arguments)


def test_unreadable_arguments_from_a_provider() -> None:
    with pytest.raises(ToolArgumentError) as info:
        forecast.validate({RAW_ARGUMENTS_KEY: '{"city": "Os'})
    assert "unreadable" in str(info.value)
    assert '{"city": "Os' in str(info.value)


def test_huge_bad_input_is_shortened_in_the_message() -> None:
    with pytest.raises(ToolArgumentError) as info:
        forecast.validate({"city": "Oslo", "days": "9" * 5000 + "x"})
    assert len(str(info.value)) < 400


def test_validation_error_as_model_facing_text() -> None:
    with pytest.raises(ToolArgumentError) as info:
        forecast.validate({"days": "x"})
    text = format_tool_error("forecast", info.value)
    assert text.startswith("Error: invalid arguments for tool 'forecast'")
    assert "'city'" in text and "'days'" in text


def test_model_is_built_once_per_tool() -> None:
    first = forecast._spec
    forecast.validate({"city": "a"})
    forecast.validate({"city": "b"})
    assert forecast._spec is first


def test_explicit_schema_for_kwargs_function_checks_required_and_extra() -> None:
    def handler(**kwargs: Any) -> str:
        return str(sorted(kwargs))

    t = Tool(name="handler", description="Generic", function=handler, parameters_schema={
        "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
        "additionalProperties": False})
    assert t.validate({"a": "x"}) == {"a": "x"}
    with pytest.raises(ToolArgumentError, match="missing required parameter 'a'"):
        t.validate({})
    with pytest.raises(ToolArgumentError, match="unexpected parameter 'b'"):
        t.validate({"a": "x", "b": 1})


def test_kwargs_function_without_schema_is_refused() -> None:
    def handler(**kwargs: Any) -> str:
        return ""

    with pytest.raises(TypeError, match=r"'\*\*kwargs'"):
        Tool(name="handler", description="", function=handler)


@tool
def convert(amount: float, currency: str, count: int, exact: bool) -> str:
    """Plain scalar parameters: checked without pydantic when sent with their exact types."""
    return f"{amount} {currency} {count} {exact}"


_PLAIN_INPUTS: list[dict[str, Any]] = [
    {"amount": 1.5, "currency": "EUR", "count": 2, "exact": True},
    {"amount": 100, "currency": "EUR", "count": 2, "exact": False},
    {"amount": -(2**53), "currency": "", "count": -7, "exact": True},
    {"amount": 10**400, "currency": "EUR", "count": 2, "exact": True},
    {"amount": "12.5", "currency": 12345, "count": "3", "exact": "true"},
    {"amount": 2, "currency": "EUR", "count": 3, "exact": 1},
    {"amount": 1.0, "currency": "EUR", "count": 2.0, "exact": True},
    {"amount": 1.0, "currency": "EUR", "count": 2},
    {"amount": 1.0, "currency": "EUR", "count": 2, "exact": True, "extra": 1},
    {"amount": None, "currency": None, "count": None, "exact": None},
]


@pytest.mark.parametrize("arguments", _PLAIN_INPUTS)
def test_plain_scalar_parameters_validate_exactly_as_pydantic_does(
        arguments: dict[str, Any]) -> None:
    from pydantic import ConfigDict, ValidationError, create_model

    oracle = create_model("Oracle", __config__=ConfigDict(extra="forbid",
                                                          coerce_numbers_to_str=True),
                          amount=(float, ...), currency=(str, ...), count=(int, ...),
                          exact=(bool, ...))
    try:
        expected = oracle.model_validate(arguments).model_dump()
    except ValidationError:
        with pytest.raises(ToolArgumentError):
            convert.validate(arguments)
        return
    got = convert.validate(arguments)
    assert got == expected
    assert {name: type(value) for name, value in got.items()} == {
        name: type(value) for name, value in expected.items()}


def test_true_or_false_for_a_number_is_refused_not_taken_as_one_or_zero() -> None:
    # (pydantic's lax mode alone would take them; JSON Schema's "integer" does not.)
    with pytest.raises(ToolArgumentError) as refused:
        convert.validate({"amount": True, "currency": "EUR", "count": False, "exact": True})
    assert [str(p) for p in refused.value.problems] == [
        "parameter 'amount': expected a valid number, got True",
        "parameter 'count': expected a valid integer, got False"]

    @tool
    def spread(values: list[float], peak: int | None = None,
               limits: dict[str, int] | None = None) -> str:
        """Numbers inside containers and Optional."""
        return "ok"

    for bad in ({"values": [1.0, True]}, {"values": [], "peak": True},
                {"values": [], "limits": {"a": False}}):
        with pytest.raises(ToolArgumentError, match="expected a valid"):
            spread.validate(bad)
    assert spread.validate({"values": ["1.5", 2], "peak": "3"}) == {
        "values": [1.5, 2.0], "peak": 3, "limits": None}


def test_constrained_scalar_parameters_keep_their_constraints() -> None:
    @tool
    def take(count: Annotated[int, Field(ge=0)], ratio: float = Field(strict=True)) -> str:
        """Constrained."""
        return f"{count} {ratio}"

    assert take.validate({"count": 3, "ratio": 0.5}) == {"count": 3, "ratio": 0.5}
    with pytest.raises(ToolArgumentError, match="count"):
        take.validate({"count": -1, "ratio": 0.5})
    with pytest.raises(ToolArgumentError, match="ratio"):
        take.validate({"count": 1, "ratio": "1"})
