"""ToolParameter: a tool's parameter declared by hand, the explicit alternative to type hints.

`Tool(name, description, parameters=[ToolParameter(...)], function)` describes the
parameters itself instead of reading them from the function. Such a tool is validated and
coerced by the same arguments model as a `@tool` one (schema.py, plain.py), so the model
gets the same error texts; only the schema shown to it comes from `to_schema()`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._dataclass import DataclassMethods
from .plain import PlainParameter
from .schema import ArgumentsSpec, FieldSpec, arguments_model, attributes_of

_MISSING: Any = inspect.Parameter.empty
#: The Python types a ToolParameter may declare, and their JSON schema types.
JSON_TYPE_NAMES: dict[type, str] = {
    str: "string", int: "integer", float: "number", bool: "boolean", list: "array",
    dict: "object",
}
_PLAIN_TYPES = (str, int, float, bool)
_PYTHON_TYPES = {json_name: kind for kind, json_name in JSON_TYPE_NAMES.items()}
_SUPPORTED = ", ".join(kind.__name__ for kind in JSON_TYPE_NAMES)


# __init__ below, repr and eq from DataclassMethods: none compiled at every import
# (tests/test_import_weight.py holds the __init__ to the one dataclass would generate).
@dataclass(init=False, repr=False, eq=False)
class ToolParameter(DataclassMethods):
    """One parameter of a tool: its name, Python type (str, int, float, bool, list or
    dict), what it means, whether the model must send it, and optionally the values it may
    take (`enum`) or the type of a list's items / a dict's values (`element_type`).

    An optional parameter the model leaves out (or sends as null) is not passed to the
    function, so the function's own default applies.
    """

    name: str
    param_type: type
    description: str
    required: bool = True
    enum: list[Any] | None = None
    element_type: type | None = None

    def __init__(self, name: str, param_type: type, description: str, required: bool = True,
                 enum: list[Any] | None = None, element_type: type | None = None) -> None:
        self.name = name
        self.param_type = param_type
        self.description = description
        self.required = required
        self.enum = enum
        self.element_type = element_type

    def to_schema(self) -> dict[str, Any]:
        """The parameter's JSON schema, as the model sees it."""
        schema: dict[str, Any] = {
            "type": JSON_TYPE_NAMES.get(self.param_type, "string"),
            "description": self.description,
        }
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.element_type is not None:
            inner = {"type": JSON_TYPE_NAMES.get(self.element_type, "string")}
            schema["items" if self.param_type is list else "additionalProperties"] = inner
        return schema

    def annotation(self) -> Any:
        """The type the arguments model validates this parameter's value against."""
        kind: Any = self.param_type
        element: Any = self.element_type
        if element is not None:
            kind = list[element] if kind is list else dict[str, element]
        if self.enum:
            kind = Literal[tuple(self.enum)]
        return kind if self.required else kind | None


def declared_parameters(tool_name: str, parameters: Iterable[ToolParameter] | Mapping[Any, Any],
                        ) -> tuple[ToolParameter, ...]:
    """The parameters of an explicit tool, checked; raise TypeError/ValueError naming the
    first problem."""
    if isinstance(parameters, ToolParameter):
        raise TypeError(f"tool {tool_name!r}: parameters must be a list of ToolParameter "
                        f"objects: pass [ToolParameter({parameters.name!r}, ...)], a list")
    items = list(parameters.values() if isinstance(parameters, Mapping) else parameters)
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, ToolParameter):
            hint = (" (a JSON schema goes in parameters_schema=)"
                    if isinstance(parameters, Mapping) else "")
            raise TypeError(f"tool {tool_name!r}: parameters must be ToolParameter objects, "
                            f"got {item!r}{hint}")
        where = f"tool {tool_name!r}, parameter {item.name!r}"
        if not isinstance(item.name, str) or not item.name:
            raise ValueError(f"tool {tool_name!r}: a parameter's name must be a non-empty str, "
                             f"got {item.name!r}")
        if item.name in seen:
            raise ValueError(f"tool {tool_name!r}: two parameters are named {item.name!r}")
        seen.add(item.name)
        if item.param_type not in JSON_TYPE_NAMES:
            raise TypeError(f"{where}: unsupported param_type {item.param_type!r}; use one of "
                            f"{_SUPPORTED}")
        if not isinstance(item.description, str):
            raise TypeError(f"{where}: description must be a str, got {item.description!r}")
        if not isinstance(item.required, bool):
            raise TypeError(f"{where}: required must be True or False, got {item.required!r}")
        if item.enum is not None and (isinstance(item.enum, (str, bytes, Mapping))
                                      or not isinstance(item.enum, Sequence) or not item.enum):
            raise ValueError(f"{where}: enum must be a non-empty list of values, "
                             f"got {item.enum!r}")
        if item.enum is not None and item.param_type in (str, int, float, bool):
            # The schema says both the type and the values: they must agree, or a model
            # that follows the schema is refused (a bool is no int here, as in arguments).
            wrong = [value for value in item.enum if not _is_of(value, item.param_type)]
            if wrong:
                raise ValueError(f"{where}: enum values {wrong!r} are not of its param_type "
                                 f"{item.param_type.__name__}")
        if item.element_type is not None and (item.param_type not in (list, dict)
                                              or item.element_type not in JSON_TYPE_NAMES):
            raise TypeError(f"{where}: element_type is for list or dict parameters and must be "
                            f"one of {_SUPPORTED}, got {item.element_type!r}")
    return tuple(items)


def _is_of(value: Any, kind: type) -> bool:
    """Whether an enum value is of a plain parameter type (an int is a float; a bool is
    neither an int nor a float)."""
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def check_function(tool_name: str, function: Callable[..., Any],
                   parameters: Sequence[ToolParameter], *, skip_first: bool) -> None:
    """Refuse, before any run, a function that could never be called with these
    parameters: one that lacks a declared name, requires an undeclared one, or has no
    default for an optional one. (A function taking **kwargs accepts any name.)"""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return  # a builtin, say: nothing to compare
    accepted = list(signature.parameters.values())[1 if skip_first else 0:]
    by_name = {p.name: p for p in accepted
               if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted)
    declared = {p.name: p for p in parameters}
    for parameter in parameters:
        own = by_name.get(parameter.name)
        if own is None:
            if takes_any:
                continue
            names = ", ".join(by_name) or "no parameters"
            raise ValueError(f"tool {tool_name!r}: parameter {parameter.name!r} is not a "
                             f"parameter of the function (it takes: {names})")
        if own.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise ValueError(f"tool {tool_name!r}: the function's parameter {own.name!r} is "
                             "positional-only; a tool's arguments are passed by name")
        if not parameter.required and own.default is _MISSING:
            raise ValueError(f"tool {tool_name!r}: parameter {own.name!r} is optional "
                             "(required=False) but the function gives it no default")
    for own in by_name.values():
        if own.default is _MISSING and own.name not in declared:
            raise ValueError(f"tool {tool_name!r}: the function requires {own.name!r}, which "
                             "the parameters do not declare")


def explicit_spec(tool_name: str, parameters: Sequence[ToolParameter]) -> ArgumentsSpec:
    """The ArgumentsSpec of declared parameters: the same model and plain fast path a
    `@tool` gets from type hints, with the schema written by `to_schema()`."""
    schema = {"type": "object",
              "properties": {p.name: p.to_schema() for p in parameters},
              "required": [p.name for p in parameters if p.required]}
    fields = [FieldSpec(p.name, p.annotation(), _MISSING if p.required else None,
                        p.description or None) for p in parameters]
    plain = None
    if all(p.param_type in _PLAIN_TYPES and not p.enum for p in parameters):
        # An optional one defaults to None here; None is then left out (omitted_when_none).
        plain = {p.name: PlainParameter(p.param_type, _MISSING if p.required else None,
                                        p.description or None) for p in parameters}
    return ArgumentsSpec(
        schema, attributes_of(p.name for p in parameters), plain,
        lambda: arguments_model(fields, tool_name),
        omitted_when_none=frozenset(p.name for p in parameters if not p.required))


def parameters_from_schema(schema: Mapping[str, Any]) -> list[ToolParameter]:
    """A tool's parameters as ToolParameters, read from its JSON schema (for tools made
    from type hints). Types JSON schema cannot say in one word (unions, models) read as
    the nearest of str, int, float, bool, list and dict."""
    required = set(schema.get("required") or ())
    described = []
    for name, property_schema in (schema.get("properties") or {}).items():
        kind = _python_type(property_schema)
        items = property_schema.get("items") if kind is list else (
            property_schema.get("additionalProperties") if kind is dict else None)
        element = _python_type(items) if isinstance(items, Mapping) and items else None
        described.append(ToolParameter(
            name=str(name), param_type=kind,
            description=str(property_schema.get("description") or ""),
            required=name in required, enum=property_schema.get("enum"),
            element_type=element))
    return described


def _python_type(schema: Mapping[str, Any]) -> type:
    json_type = schema.get("type")
    if isinstance(json_type, list):  # ["integer", "null"]
        json_type = next((t for t in json_type if t != "null"), None)
    if isinstance(json_type, str):
        return _PYTHON_TYPES.get(json_type, str)
    for option in schema.get("anyOf") or ():  # Optional[T] is anyOf [T, null]
        if isinstance(option, Mapping) and option.get("type") not in (None, "null"):
            return _python_type(option)
    if "properties" in schema or "$ref" in schema:
        return dict
    if "enum" in schema and schema["enum"]:
        return type(schema["enum"][0]) if type(schema["enum"][0]) in JSON_TYPE_NAMES else str
    return str
