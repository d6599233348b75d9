"""Parameters of plain JSON types, described and checked without pydantic.

Most tools take only str, int, float and bool parameters. For those, the JSON schema and
the check of well-typed arguments are simple enough to do here, exactly as pydantic would
(a test holds the two schemas equal), so that such a tool neither imports pydantic (about
80 ms and 10 MB) nor builds a model until an argument needs pydantic's coercion or its
wording of an error.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, NamedTuple

_JSON_TYPES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
# Integers a float holds exactly: a float parameter sent 100 gets 100.0, as from pydantic.
_EXACT_FLOAT_INT = 2**53
_MISSING: Any = inspect.Parameter.empty


class PlainParameter(NamedTuple):
    kind: type
    default: Any  # inspect.Parameter.empty when the parameter is required
    description: str | None


def plain_parameters(parameters: Sequence[inspect.Parameter], hints: Mapping[str, Any],
                     descriptions: Mapping[str, str]) -> dict[str, PlainParameter] | None:
    """Name -> PlainParameter when every parameter is a bare str, int, float or bool (an
    `Annotated` one with description strings only) whose default, if any, is a JSON value
    of that type; None when pydantic must describe them."""
    plain: dict[str, PlainParameter] = {}
    for parameter in parameters:
        default = parameter.default
        annotation = hints.get(parameter.name, str if default is not None else None)
        description = None
        if typing.get_origin(annotation) is Annotated:
            annotation, *metadata = typing.get_args(annotation)
            if not all(isinstance(item, str) for item in metadata):
                return None
            description = " ".join(metadata) or None
        if not isinstance(annotation, type) or annotation not in _JSON_TYPES:
            return None
        if default is not _MISSING and not _is_json_default(annotation, default):
            return None
        plain[parameter.name] = PlainParameter(
            annotation, default, description or descriptions.get(parameter.name) or None)
    return plain


def _is_json_default(kind: type, default: Any) -> bool:
    if kind is float and type(default) in (int, float):
        return math.isfinite(default)
    return type(default) is kind


def plain_schema(plain: Mapping[str, PlainParameter]) -> dict[str, Any]:
    """The JSON schema pydantic gives these parameters (as `tidy_schema` leaves it)."""
    properties: dict[str, Any] = {}
    for name, parameter in plain.items():
        described: dict[str, Any] = {}
        if parameter.default is not _MISSING:
            described["default"] = parameter.default
        if parameter.description:
            described["description"] = parameter.description
        described["type"] = _JSON_TYPES[parameter.kind]
        properties[name] = described
    return {"additionalProperties": False, "properties": properties,
            "required": [n for n, p in plain.items() if p.default is _MISSING],
            "type": "object"}


def plain_arguments(plain: Mapping[str, PlainParameter],
                    arguments: Mapping[str, Any]) -> dict[str, Any] | None:
    """What pydantic would return for `arguments`, when each is sent with exactly its
    parameter's type and nothing is missing or unexpected (the usual case, and most of a
    tool call's validation cost); None when pydantic must decide, and word any error.
    Missing parameters with defaults get them, as from pydantic. (In the arguments'
    order, the defaults after: they are passed by name.)"""
    checked: dict[str, Any] = {}
    for name, value in arguments.items():
        parameter = plain.get(name)
        if parameter is None:  # unexpected
            return None
        kind = parameter.kind
        if type(value) is not kind:
            if kind is float and type(value) is int and abs(value) <= _EXACT_FLOAT_INT:
                value = float(value)
            else:
                return None
        checked[name] = value
    if len(checked) < len(plain):
        for name, parameter in plain.items():
            if name not in checked:
                if parameter.default is _MISSING:
                    return None
                checked[name] = parameter.default
    return checked


def floats_for_ints(arguments: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any] | None:
    """`arguments` with each of `names` (float parameters sent as ints) as a float, as
    pydantic gives them; None when one is too large for a float to hold exactly (pydantic
    decides). Only for arguments whose every other value is exactly its parameter's type
    and that send every parameter and nothing else (Tool.validate checks that first)."""
    checked = dict(arguments)
    for name in names:
        value = checked[name]
        if abs(value) > _EXACT_FLOAT_INT:
            return None
        checked[name] = float(value)
    return checked
