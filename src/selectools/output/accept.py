"""A fast yes-or-no for the schemas typed answers usually have.

`SchemaChecker` walks a value with generators, building a path for every value it visits,
so that it can say what is wrong and where; for a valid answer (nearly every answer) all
of that is thrown away, and on a 100-item answer it costs hundreds of microseconds.
`compile_accepts` turns a schema into nested closures that only say whether a value
matches, made once per schema. It takes the keywords most schemas are made of (type, enum,
const, numeric and size bounds, pattern, properties / required / additionalProperties,
items / prefixItems / uniqueItems, allOf / anyOf / oneOf / not) and returns None for a
schema with any other keyword the checker reads (`$ref`, `contains`, `patternProperties`,
`if`...), which is then checked the slow way only. Its verdicts are the checker's (the
same helpers decide types and equality), so a value it accepts is one the checker would
find no problem in; a value it refuses is handed to the checker, which says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .checker import _equal, _is_multiple, _is_number, _is_type

Accepts = Callable[[Any], bool]

#: Keywords the checker reads that these closures do not take: a schema using one is
#: checked by the checker alone.
_NOT_TAKEN = frozenset(("$ref", "contains", "minContains", "maxContains", "patternProperties",
                        "propertyNames", "dependentRequired", "dependentSchemas", "if",
                        "then", "else"))
_Holds = Callable[[Any, Any], bool]
_BOUNDS: tuple[tuple[str, _Holds], ...] = (
    ("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b),
    ("exclusiveMinimum", lambda v, b: v > b), ("exclusiveMaximum", lambda v, b: v < b))
_SIZES = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")


class _NotTaken(Exception):
    """The schema has a part these closures do not take."""


def compile_accepts(schema: Any) -> Accepts | None:
    """A function telling whether a value matches `schema` (already read by a
    SchemaChecker, so well formed), or None when the schema needs the checker."""
    try:
        return _node(schema)
    except _NotTaken:
        return None


def _accept_all(value: Any) -> bool:
    return True


def _refuse_all(value: Any) -> bool:
    return False


def _node(schema: Any) -> Accepts:
    if schema is True:
        return _accept_all
    if schema is False:
        return _refuse_all
    if not isinstance(schema, Mapping) or not _NOT_TAKEN.isdisjoint(schema):
        raise _NotTaken
    for size in _SIZES:
        if size in schema and not _is_number(schema[size]):
            raise _NotTaken  # (the checker compares it as it is: leave odd bounds to it)
    checks: list[Accepts] = []
    kinds = schema.get("type")
    if kinds is not None:
        names = tuple(kinds if isinstance(kinds, list) else [kinds])
        checks.append(_types(names))
    if "enum" in schema:
        allowed = list(schema["enum"])
        checks.append(lambda v: any(_equal(v, item) for item in allowed))
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: _equal(v, const))
    number = _number(schema)
    if number is not None:
        checks.append(number)
    string = _string(schema)
    if string is not None:
        checks.append(string)
    array = _array(schema)
    if array is not None:
        checks.append(array)
    obj = _object(schema)
    if obj is not None:
        checks.append(obj)
    checks.extend(_combinators(schema))
    if not checks:
        return _accept_all
    if len(checks) == 1:
        return checks[0]
    every = tuple(checks)
    return lambda v: all(check(v) for check in every)


# For these types the check is isinstance's own (C: no bytecode per value checked).
_ISINSTANCE: dict[str, Accepts] = {"string": str.__instancecheck__,
                                   "object": dict.__instancecheck__,
                                   "array": list.__instancecheck__}


def _types(names: tuple[str, ...]) -> Accepts:
    if len(names) == 1 and names[0] in _ISINSTANCE:
        return _ISINSTANCE[names[0]]
    return lambda v: any(_is_type(v, name) for name in names)


def _number(schema: Mapping[str, Any]) -> Accepts | None:
    bounds = [(holds, schema[key]) for key, holds in _BOUNDS if _is_number(schema.get(key))]
    step: Any = schema.get("multipleOf")
    if not (_is_number(step) and step > 0):
        step = None
    if not bounds and step is None:
        return None

    def accepts(value: Any) -> bool:
        if not _is_number(value):
            return True
        if not all(holds(value, bound) for holds, bound in bounds):
            return False
        return step is None or _is_multiple(value, step)
    return accepts


def _string(schema: Mapping[str, Any]) -> Accepts | None:
    low, high = schema.get("minLength"), schema.get("maxLength")
    pattern = schema.get("pattern")
    search = re.compile(pattern).search if isinstance(pattern, str) else None
    if low is None and high is None and search is None:
        return None

    def accepts(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        size = len(value)
        if low is not None and size < low or high is not None and size > high:
            return False
        return search is None or search(value) is not None
    return accepts


def _array(schema: Mapping[str, Any]) -> Accepts | None:
    low, high = schema.get("minItems"), schema.get("maxItems")
    prefix = tuple(_node(sub) for sub in schema.get("prefixItems") or [])
    items = _node(schema["items"]) if "items" in schema else None
    unique = schema.get("uniqueItems") is True
    if low is None and high is None and not prefix and items is None and not unique:
        return None

    def accepts(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        size = len(value)
        if low is not None and size < low or high is not None and size > high:
            return False
        for check, item in zip(prefix, value, strict=False):
            if not check(item):
                return False
        if items is not None and not all(map(items, value[len(prefix):] if prefix
                                                  else value)):
            return False
        if unique:
            for later in range(1, size):
                if any(_equal(value[later], value[earlier]) for earlier in range(later)):
                    return False
        return True
    return accepts


def _object(schema: Mapping[str, Any]) -> Accepts | None:
    required = tuple(schema.get("required") or [])
    low, high = schema.get("minProperties"), schema.get("maxProperties")
    properties = {name: _node(sub) for name, sub in (schema.get("properties") or {}).items()}
    extra_schema = schema.get("additionalProperties", True)
    extra = None if extra_schema is True or extra_schema is False else _node(extra_schema)
    closed = extra_schema is False
    if not (required or properties or closed or extra is not None
            or low is not None or high is not None):
        return None

    def accepts(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name in required:
            if name not in value:
                return False
        size = len(value)
        if low is not None and size < low or high is not None and size > high:
            return False
        for name, item in value.items():
            check = properties.get(name)
            if check is not None:
                if not check(item):
                    return False
            elif closed:
                return False
            elif extra is not None and not extra(item):
                return False
        return True
    return accepts


def _combinators(schema: Mapping[str, Any]) -> list[Accepts]:
    checks: list[Accepts] = []
    every = tuple(_node(sub) for sub in schema.get("allOf") or [])
    if every:
        checks.append(lambda v: all(check(v) for check in every))
    if "anyOf" in schema:
        some = tuple(_node(sub) for sub in schema["anyOf"])
        checks.append(lambda v: any(check(v) for check in some))
    if "oneOf" in schema:
        one = tuple(_node(sub) for sub in schema["oneOf"])
        checks.append(lambda v: sum(1 for check in one if check(v)) == 1)
    if "not" in schema:
        negated = _node(schema["not"])
        checks.append(lambda v: not negated(v))
    return checks
