"""Describe a function's parameters as a JSON schema and a pydantic model.

The model is built once per tool: it validates and coerces the arguments a model sends,
and its JSON schema (with titles dropped and `$defs` inlined where possible) is what the
provider shows the model. Parameters of plain JSON types are described without pydantic
(plain.py), and their model is built only if a call needs it.
"""

from __future__ import annotations

import copy
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

from .plain import PlainParameter, plain_parameters, plain_schema

# pydantic is imported where a schema is built, not at `import selectools` (it costs more
# to import than the rest of the package together).
if TYPE_CHECKING:
    from pydantic import BaseModel, ConfigDict
    from pydantic.fields import FieldInfo

_ARGUMENTS_CONFIG: ConfigDict = dict(
    extra="forbid",
    # Models often send 12345 for a zip code typed `str`; accept it.
    coerce_numbers_to_str=True,
    arbitrary_types_allowed=False,
)
# Keys whose values are data, not sub-schemas: never strip "title" inside them.
_DATA_KEYS = frozenset({"default", "enum", "const", "examples", "example"})
_MAPPING_KEYS = frozenset({"properties", "$defs", "definitions", "patternProperties"})


class ArgumentsSpec:
    """A tool's parameters: the schema shown to the model, the pydantic model that
    validates and coerces arguments, and the `plain` description of them when every one is
    a plain JSON type (see plain.py). For such parameters the model is built only when
    first needed, since most calls never need it."""

    def __init__(self, schema: dict[str, Any], attributes: dict[str, str],
                 plain: dict[str, PlainParameter] | None,
                 build_model: Callable[[], type[BaseModel]],
                 omitted_when_none: frozenset[str] = frozenset()) -> None:
        self.schema = schema
        # parameter name -> attribute of the model (fields are prefixed, so a parameter may
        # be called `json` or `model_config` without clashing with BaseModel's own names).
        self.attributes = attributes
        self.plain = plain
        self._build_model = build_model
        # Optional parameters declared with ToolParameter: absent or null, they are not
        # passed at all, so the function's own default applies.
        self.omitted_when_none = omitted_when_none

    @functools.cached_property
    def model(self) -> type[BaseModel]:
        return self._build_model()


class FieldSpec(NamedTuple):
    """One parameter as the arguments model sees it."""

    name: str
    annotation: Any
    default: Any  # inspect.Parameter.empty when the parameter is required
    description: str | None


def describe_parameters(
    function: Callable[..., Any],
    *,
    tool_name: str,
    descriptions: Mapping[str, str],
    skip_first: bool = False,
) -> ArgumentsSpec:
    """Describe `function`'s parameters: their JSON schema and how to validate them.

    Raises TypeError, naming the parameter, for `*args`/`**kwargs`, positional-only
    parameters and types that have no JSON schema.
    """
    signature = _signature(function, tool_name)
    hints = _type_hints(function, tool_name)
    parameters = list(signature.parameters.values())
    if skip_first:
        parameters = parameters[1:]
    for parameter in parameters:
        _check_kind(parameter, tool_name)
    attributes = attributes_of(parameter.name for parameter in parameters)

    def build_model() -> type[BaseModel]:
        return arguments_model(_field_specs(parameters, hints, descriptions), tool_name)

    plain = plain_parameters(parameters, hints, descriptions)
    if plain is not None:
        return ArgumentsSpec(plain_schema(plain), attributes, plain, build_model)
    model = build_model()
    try:
        schema = model.model_json_schema()
    except Exception as exc:  # pydantic raises several kinds here; all mean "bad signature"
        raise TypeError(f"tool {tool_name!r}: cannot build a schema for its parameters: {exc}") \
            from exc
    return ArgumentsSpec(tidy_schema(schema), attributes, None, lambda: model)


def attributes_of(names: Iterable[str]) -> dict[str, str]:
    """Parameter name -> attribute of the arguments model (see ArgumentsSpec)."""
    return {name: f"p_{name}" for name in names}


def _field_specs(parameters: list[inspect.Parameter], hints: Mapping[str, Any],
                 descriptions: Mapping[str, str]) -> list[FieldSpec]:
    specs = []
    for parameter in parameters:
        # No hint means a string; a `None` default makes it an optional one.
        unhinted: Any = str | None if parameter.default is None else str
        annotation = hints.get(parameter.name, unhinted)
        annotation, description = _split_description(annotation)
        description = description or descriptions.get(parameter.name) or None
        specs.append(FieldSpec(parameter.name, annotation, parameter.default, description))
    return specs


def arguments_model(fields: Iterable[FieldSpec], tool_name: str) -> type[BaseModel]:
    """The pydantic model that validates and coerces a tool's arguments."""
    from pydantic import create_model

    model_fields: dict[str, Any] = {}
    for spec in fields:
        _check_json_describable(spec.annotation, spec.name, tool_name)
        model_fields[f"p_{spec.name}"] = (_refusing_bools(spec.annotation), _field(spec))
    try:
        return create_model(
            f"{_camel(tool_name)}Arguments", __config__=_ARGUMENTS_CONFIG, **model_fields
        )
    except Exception as exc:  # pydantic raises several kinds here; all mean "bad signature"
        raise TypeError(f"tool {tool_name!r}: cannot build a schema for its parameters: {exc}") \
            from exc


def tidy_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A provider-friendly copy: `$defs` inlined unless recursive, titles dropped,
    `required` always present."""
    tidied = _inline_definitions(copy.deepcopy(dict(schema)))
    _drop_titles(tidied)
    tidied.setdefault("type", "object")
    tidied.setdefault("properties", {})
    tidied.setdefault("required", [])
    return tidied


def _signature(function: Callable[..., Any], tool_name: str) -> inspect.Signature:
    try:
        return inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"tool {tool_name!r}: cannot read the function's signature: {exc}") \
            from exc


def _type_hints(function: Callable[..., Any], tool_name: str) -> dict[str, Any]:
    target: Any = function
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = type(function).__call__  # a callable object: hints live on __call__
    try:
        return typing.get_type_hints(target, include_extras=True)
    except NameError as exc:
        culprit = _unresolvable_parameter(target)
        which = f"the type hint of parameter {culprit!r}" if culprit else "a type hint"
        raise TypeError(
            f"tool {tool_name!r}: cannot resolve {which} ({exc}); define the type at "
            "module level, where the function's module can see it"
        ) from exc
    except TypeError:
        # Objects typing cannot inspect (e.g. functools.partial): fall back to the raw
        # annotations the signature carries.
        return {}


def _unresolvable_parameter(function: Any) -> str | None:
    namespace = getattr(function, "__globals__", {})
    for name, annotation in getattr(function, "__annotations__", {}).items():
        if isinstance(annotation, str):
            try:
                eval(annotation, dict(namespace))  # only to find which name is missing
            except NameError:
                return str(name)
            except Exception:
                continue
    return None


def _check_kind(parameter: inspect.Parameter, tool_name: str) -> None:
    if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
        raise TypeError(
            f"tool {tool_name!r}: parameter '*{parameter.name}' is not supported; "
            "a tool takes named parameters only"
        )
    if parameter.kind is inspect.Parameter.VAR_KEYWORD:
        raise TypeError(
            f"tool {tool_name!r}: parameter '**{parameter.name}' is not supported; "
            "a tool takes named parameters only"
        )
    if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
        raise TypeError(
            f"tool {tool_name!r}: parameter {parameter.name!r} is positional-only; "
            "a tool's arguments are passed by name"
        )


def _split_description(annotation: Any) -> tuple[Any, str | None]:
    """`Annotated[int, "how many"]` -> (int, "how many"); other metadata is kept."""
    if typing.get_origin(annotation) is not Annotated:
        return annotation, None
    from pydantic.fields import FieldInfo

    base, *metadata = typing.get_args(annotation)
    texts = [item for item in metadata if isinstance(item, str)]
    kept = [item for item in metadata if not isinstance(item, str)]
    explicit = next(
        (item.description for item in kept if isinstance(item, FieldInfo) and item.description),
        None,
    )
    rebuilt = Annotated[(base, *kept)] if kept else base
    return rebuilt, explicit or (" ".join(texts) if texts else None)


def _refusing_bools(annotation: Any) -> Any:
    """`annotation`, refusing JSON true/false where it means int or float (also inside
    Optional, Annotated, list and dict): pydantic's lax mode would take `true` as 1, and a
    model that sends it for a number has made a mistake it should hear about."""
    if annotation is int or annotation is float:
        return Annotated[annotation, _no_bool_validator(annotation)]
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return Annotated[(_refusing_bools(arguments[0]), *annotation.__metadata__)]
    if origin in (typing.Union, types.UnionType) and len(arguments) == 2 \
            and type(None) in arguments:
        inner = arguments[0] if arguments[1] is type(None) else arguments[1]
        return _refusing_bools(inner) | None
    if origin is list and len(arguments) == 1:
        return types.GenericAlias(list, (_refusing_bools(arguments[0]),))
    if origin is dict and len(arguments) == 2:
        return types.GenericAlias(dict, (arguments[0], _refusing_bools(arguments[1])))
    return annotation


@functools.cache
def _no_bool_validator(kind: type) -> Any:
    from pydantic import BeforeValidator
    from pydantic_core import PydanticCustomError

    error_type, expected = ("int_type", "a valid integer") if kind is int else (
        "float_type", "a valid number")

    def refuse_bool(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError(error_type, f"Input should be {expected}")
        return value

    return BeforeValidator(refuse_bool)


def _check_json_describable(annotation: Any, name: str, tool_name: str) -> None:
    from pydantic import TypeAdapter

    try:
        TypeAdapter(annotation).json_schema()
    except Exception as exc:  # PydanticSchemaGenerationError, PydanticInvalidForJsonSchema...
        shown = getattr(annotation, "__name__", None) or repr(annotation)
        raise TypeError(
            f"tool {tool_name!r}: parameter {name!r} has type {shown}, which cannot be "
            f"described in JSON schema ({type(exc).__name__})"
        ) from exc


def _field(spec: FieldSpec) -> FieldInfo:
    from pydantic import Field
    from pydantic.fields import FieldInfo

    name, description = spec.name, spec.description
    ours = Field(alias=name, description=description) if description else Field(alias=name)
    default = spec.default
    if isinstance(default, FieldInfo):
        if default.description:
            ours = Field(alias=name)
        return FieldInfo.merge_field_infos(default, ours)
    if default is inspect.Parameter.empty:
        return FieldInfo.merge_field_infos(Field(...), ours)
    return FieldInfo.merge_field_infos(Field(default=default), ours)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_"))


def _inline_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    definitions = schema.get("$defs")
    if not definitions:
        return schema

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            name = reference[len("#/$defs/"):]
            if name in seen or name not in definitions:
                raise _Recursive
            target = resolve(definitions[name], (*seen, name))
            siblings = {k: resolve(v, seen) for k, v in node.items() if k != "$ref"}
            return {**target, **siblings}
        return {
            key: value if key in _DATA_KEYS else resolve(value, seen)
            for key, value in node.items()
            if key != "$defs"
        }

    try:
        inlined: dict[str, Any] = resolve(schema, ())
        return inlined
    except _Recursive:
        return schema  # recursive models keep their $defs, in the same object


class _Recursive(Exception):
    pass


def _drop_titles(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _drop_titles(item)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("title"), str):
        del node["title"]
    for key, value in node.items():
        if key in _DATA_KEYS:
            continue
        if key in _MAPPING_KEYS and isinstance(value, dict):
            for sub_schema in value.values():
                _drop_titles(sub_schema)
        else:
            _drop_titles(value)
