"""Check a JSON value against a JSON schema given as a dict (draft 2020-12 keywords).

Ours rather than the `jsonschema` package: that one is a development dependency, not a
runtime one, and an answer must be accepted or refused the same way whether or not it
happens to be installed. What is checked: type, enum, const, the numeric bounds and
multipleOf, string length and pattern, properties / required / additionalProperties /
patternProperties / propertyNames / min- and maxProperties / dependentRequired /
dependentSchemas, items / prefixItems / min- and maxItems / uniqueItems / contains (with
min- and maxContains), allOf / anyOf / oneOf / not / if-then-else, boolean schemas and
local `$ref`s (`#`, `#/$defs/...`, any JSON pointer in the document). `format` is an
annotation, as the draft makes it by default. A keyword it cannot check
(`unevaluatedProperties`, `$dynamicRef`, a remote `$ref`...) is refused when the schema
is read, so no answer is ever waved through unchecked. The tests compare its verdicts
with `jsonschema`'s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .errors import Problem, brief_json

_UNSUPPORTED = ("unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef",
                "$dynamicAnchor", "$recursiveAnchor")
_SCHEMA_VALUED = ("additionalProperties", "items", "contains", "not", "if", "then", "else",
                  "propertyNames")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions",
                "dependentSchemas")
_TYPE_NAMES = ("null", "boolean", "object", "array", "number", "string", "integer")
_MAX_PROBLEMS = 50


class SchemaChecker:
    """Checks values against one schema; made once per schema (it reads the schema and
    compiles its patterns when made), used for every answer."""

    def __init__(self, schema: Mapping[str, Any] | bool) -> None:
        if not isinstance(schema, (Mapping, bool)):
            raise TypeError(f"a JSON schema must be a dict, got {type(schema).__name__}")
        self._root = schema
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._read(schema, "#")
        from .accept import compile_accepts  # (it uses this module's helpers)

        try:
            self._accepts = compile_accepts(schema)
        except RecursionError:
            self._accepts = None

    def problems(self, value: Any) -> list[Problem]:
        """What is wrong with `value`, path by path; empty when it matches."""
        # Most values match: a yes from the compiled check is the answer at once; only a
        # no (or a schema it does not take) is walked for what is wrong and where.
        try:
            if self._accepts is not None and self._accepts(value):
                return []
        except RecursionError:
            pass
        found: list[Problem] = []
        try:
            for problem in self._check(self._root, value, "$"):
                found.append(problem)
                if len(found) >= _MAX_PROBLEMS:
                    break
        except RecursionError:
            found.append(Problem("$", "the value is nested too deeply to check"))
        return found

    # Reading the schema: refuse what cannot be checked, compile patterns.

    def _read(self, schema: Any, where: str) -> None:
        if isinstance(schema, bool):
            return
        if not isinstance(schema, Mapping):
            raise TypeError(f"schema at {where} must be a dict or a boolean, "
                            f"got {type(schema).__name__}")
        for keyword in _UNSUPPORTED:
            if keyword in schema:
                raise TypeError(f"schema at {where} uses {keyword!r}, which selectools "
                                "cannot check; express it without that keyword")
        reference = schema.get("$ref")
        if reference is not None:
            if not isinstance(reference, str) or not reference.startswith("#"):
                raise TypeError(f"schema at {where}: only local $refs ('#/...') are "
                                f"supported, got {reference!r}")
            self._resolve(reference)
        kinds = schema.get("type")
        for kind in kinds if isinstance(kinds, list) else [kinds] if kinds else []:
            if kind not in _TYPE_NAMES:
                raise TypeError(f"schema at {where}: unknown type {kind!r}")
        for key in ("pattern",):
            if key in schema:
                self._compile(schema[key], where)
        for keyword in _SCHEMA_VALUED:
            if keyword in schema:
                self._read(schema[keyword], f"{where}/{keyword}")
        for keyword in _SCHEMA_LISTS:
            if keyword in schema:
                subs = schema[keyword]
                if not isinstance(subs, list):
                    raise TypeError(f"schema at {where}: {keyword} must be a list")
                for index, sub in enumerate(subs):
                    self._read(sub, f"{where}/{keyword}/{index}")
        for keyword in _SCHEMA_MAPS:
            if keyword in schema:
                subs = schema[keyword]
                if not isinstance(subs, Mapping):
                    raise TypeError(f"schema at {where}: {keyword} must be a dict")
                for name, sub in subs.items():
                    if keyword == "patternProperties":
                        self._compile(name, where)
                    self._read(sub, f"{where}/{keyword}/{name}")

    def _compile(self, pattern: Any, where: str) -> re.Pattern[str]:
        compiled = self._patterns.get(pattern)
        if compiled is None:
            try:
                compiled = re.compile(pattern)
            except (re.error, TypeError) as exc:
                raise TypeError(f"schema at {where}: invalid pattern {pattern!r} ({exc})") \
                    from exc
            self._patterns[pattern] = compiled
        return compiled

    def _resolve(self, reference: str) -> Any:
        node: Any = self._root
        for part in reference[1:].lstrip("/").split("/") if reference != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise TypeError(f"$ref {reference!r} points at nothing in the schema")
        return node

    # Checking a value. Each check yields its problems; a branch that only needs to know
    # whether the value matches stops at the first.

    def _matches(self, schema: Any, value: Any) -> bool:
        return next(iter(self._check(schema, value, "$")), None) is None

    def _check(self, schema: Any, value: Any, path: str) -> Iterator[Problem]:
        if schema is True:
            return
        if schema is False:
            yield Problem(path, "no value is allowed here")
            return
        if "$ref" in schema:
            yield from self._check(self._resolve(schema["$ref"]), value, path)
        kinds = schema.get("type")
        if kinds is not None:
            names = kinds if isinstance(kinds, list) else [kinds]
            if not any(_is_type(value, name) for name in names):
                yield Problem(path, f"expected {_or(names)}, got {_describe(value)}")
                return  # the other keywords would only repeat it
        if "enum" in schema and not any(_equal(value, item) for item in schema["enum"]):
            allowed = ", ".join(brief_json(item) for item in schema["enum"][:10])
            yield Problem(path, f"{brief_json(value)} is not one of: {allowed}")
        if "const" in schema and not _equal(value, schema["const"]):
            yield Problem(path, f"must be {brief_json(schema['const'])}, got {brief_json(value)}")
        if _is_number(value):
            yield from self._check_number(schema, value, path)
        elif isinstance(value, str):
            yield from self._check_string(schema, value, path)
        elif isinstance(value, list):
            yield from self._check_array(schema, value, path)
        elif isinstance(value, dict):
            yield from self._check_object(schema, value, path)
        yield from self._check_combinators(schema, value, path)

    def _check_number(self, schema: Mapping[str, Any], value: float, path: str,
                      ) -> Iterator[Problem]:
        bounds: tuple[tuple[str, Callable[[Any, Any], bool], str], ...] = (
            ("minimum", lambda v, b: v >= b, "at least"),
            ("maximum", lambda v, b: v <= b, "at most"),
            ("exclusiveMinimum", lambda v, b: v > b, "greater than"),
            ("exclusiveMaximum", lambda v, b: v < b, "less than"))
        for keyword, holds, wording in bounds:
            bound = schema.get(keyword)
            if _is_number(bound) and not holds(value, bound):
                yield Problem(path, f"must be {wording} {bound}, got {value}")
        step: Any = schema.get("multipleOf")
        if _is_number(step) and step > 0 and not _is_multiple(value, step):
            yield Problem(path, f"must be a multiple of {step}, got {value}")

    def _check_string(self, schema: Mapping[str, Any], value: str, path: str,
                      ) -> Iterator[Problem]:
        if "minLength" in schema or "maxLength" in schema:  # (most strings have neither)
            yield from _size_problems(schema, "Length", len(value), "characters", path)
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not self._compile(pattern, path).search(value):
            yield Problem(path, f"{brief_json(value)} does not match the pattern {pattern!r}")

    def _check_array(self, schema: Mapping[str, Any], value: list[Any], path: str,
                     ) -> Iterator[Problem]:
        yield from _size_problems(schema, "Items", len(value), "items", path)
        prefix = schema.get("prefixItems") or []
        for index, (item_schema, item) in enumerate(zip(prefix, value, strict=False)):
            yield from self._check(item_schema, item, f"{path}[{index}]")
        if "items" in schema:
            for index in range(len(prefix), len(value)):
                yield from self._check(schema["items"], value[index], f"{path}[{index}]")
        if schema.get("uniqueItems") is True:
            for later in range(1, len(value)):
                if any(_equal(value[later], value[earlier]) for earlier in range(later)):
                    yield Problem(f"{path}[{later}]", "repeats an earlier item; items must "
                                                      "be unique")
                    break
        if "contains" in schema:
            count = sum(1 for item in value if self._matches(schema["contains"], item))
            least, most = schema.get("minContains", 1), schema.get("maxContains")
            if count < least:
                yield Problem(path, f"must contain at least {least} item(s) matching "
                                    f"'contains', has {count}")
            if most is not None and count > most:
                yield Problem(path, f"must contain at most {most} item(s) matching "
                                    f"'contains', has {count}")

    def _check_object(self, schema: Mapping[str, Any], value: dict[str, Any], path: str,
                      ) -> Iterator[Problem]:
        for name in schema.get("required") or []:
            if name not in value:
                yield Problem(_join(path, name), "required property is missing")
        yield from _size_problems(schema, "Properties", len(value), "properties", path,
                                  show_size=False)
        properties = schema.get("properties") or {}
        patterns = schema.get("patternProperties") or {}
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        for name, item in value.items():
            where = _join(path, name)
            if names is not None and not self._matches(names, name):
                yield Problem(where, "this property name is not allowed")
            matched = name in properties
            if matched:
                yield from self._check(properties[name], item, where)
            for pattern, item_schema in patterns.items():
                if self._compile(pattern, path).search(name):
                    matched = True
                    yield from self._check(item_schema, item, where)
            if not matched:
                if extra is False:
                    allowed = ", ".join(list(properties)[:20]) or "none"
                    yield Problem(where, f"unexpected property (allowed: {allowed})")
                elif extra is not True:
                    yield from self._check(extra, item, where)
        for name, needed in (schema.get("dependentRequired") or {}).items():
            if name in value:
                for other in needed:
                    if other not in value:
                        yield Problem(_join(path, other), f"required when {name!r} is present")
        for name, sub in (schema.get("dependentSchemas") or {}).items():
            if name in value:
                yield from self._check(sub, value, path)

    def _check_combinators(self, schema: Mapping[str, Any], value: Any, path: str,
                           ) -> Iterator[Problem]:
        for sub in schema.get("allOf") or []:
            yield from self._check(sub, value, path)
        if "anyOf" in schema and not any(self._matches(s, value) for s in schema["anyOf"]):
            yield from self._no_branch(schema["anyOf"], value, path)
        if "oneOf" in schema:
            matching = sum(1 for sub in schema["oneOf"] if self._matches(sub, value))
            if matching == 0:
                yield from self._no_branch(schema["oneOf"], value, path)
            elif matching > 1:
                yield Problem(path, f"matches {matching} of the alternatives; it must "
                                    "match exactly one")
        if "not" in schema and self._matches(schema["not"], value):
            yield Problem(path, "matches a schema it must not match")
        if "if" in schema:
            branch = "then" if self._matches(schema["if"], value) else "else"
            if branch in schema:
                yield from self._check(schema[branch], value, path)

    def _no_branch(self, branches: list[Any], value: Any, path: str) -> Iterator[Problem]:
        # The model repairs best when told what is wrong inside the alternative it meant:
        # the one branch whose type the value has, when there is exactly one.
        typed = [b for b in branches if isinstance(b, Mapping) and "type" in b
                 and any(_is_type(value, t) for t in _names(b["type"]))]
        if len(typed) == 1:
            yield from self._check(typed[0], value, path)
            return
        yield Problem(path, f"{_describe(value)} matches none of the allowed alternatives")


def _names(kinds: Any) -> list[str]:
    return kinds if isinstance(kinds, list) else [kinds]


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _is_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return type(value) is bool
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "number":
        return _is_number(value)
    if name == "integer":  # 2.0 is an integer in JSON schema
        return type(value) is int or type(value) is float and value.is_integer()
    return False


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _is_multiple(value: float, step: float) -> bool:
    if isinstance(value, int) and isinstance(step, int):
        return value % step == 0
    quotient = value / step
    if math.isinf(quotient):
        return False
    return abs(quotient - round(quotient)) < 1e-9


def _join(path: str, name: str) -> str:
    if name.isidentifier():
        return f"{path}.{name}"
    return f"{path}[{brief_json(name)}]"


def _or(names: list[str]) -> str:
    return " or ".join(names)


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object", type(None): "null"}.get(type(value), type(value).__name__)
    return kind if isinstance(value, (dict, list)) else f"{kind} {brief_json(value)}"


def _size_problems(schema: Mapping[str, Any], keyword: str, size: int, unit: str, path: str,
                   *, show_size: bool = True) -> Iterator[Problem]:
    """The min<keyword> / max<keyword> bounds (Length, Items, Properties) on a size."""
    got = f", got {size}" if show_size else ""
    low: Any = schema.get(f"min{keyword}")
    high: Any = schema.get(f"max{keyword}")
    if f"min{keyword}" in schema and size < low:
        yield Problem(path, f"must have at least {low} {unit}{got}")
    if f"max{keyword}" in schema and size > high:
        yield Problem(path, f"must have at most {high} {unit}{got}")
