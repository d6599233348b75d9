"""The strict variant of a JSON schema, as OpenAI's strict structured outputs demand it
(Anthropic's structured outputs accept the same subset).

Strict mode takes a subset of JSON schema, and in exchange the model's answer always
matches it. The variant closes every object (`additionalProperties: false`) and lists
every property in `required`, as strict mode insists: a property the type leaves
optional must then be sent, which every type accepts (pydantic's `Optional[X] = None`
already allows null). It turns `oneOf` into `anyOf` and drops what strict mode refuses
but a validator still checks afterwards (`default`, `uniqueItems`, pydantic's
`discriminator`, `format`s it does not know). Its root must be an object, so any other
root is wrapped: `{"value": <the schema>}`, and the answer unwrapped on the way back.

Some schemas have no strict form: a map with free keys (`dict[str, int]`), a value of
any shape, tuples (`prefixItems`), `not`, `if`, `patternProperties`... For those
`strict_variant` says why, and the caller sends the plain schema without `strict`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

#: The property a non-object root is wrapped in.
WRAPPER_KEY = "value"

# Formats strict mode knows (OpenAI's documented list); others are dropped from the hint.
_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4",
                      "ipv6", "uuid"})
_DROPPED = frozenset({"default", "discriminator", "uniqueItems", "examples", "example",
                      "readOnly", "writeOnly", "deprecated", "$schema", "$id", "$comment",
                      "contentMediaType", "contentEncoding", "title"})
_NO_STRICT_FORM = {
    "prefixItems": "a fixed-length tuple", "not": "'not'", "if": "'if'",
    "patternProperties": "'patternProperties'", "propertyNames": "'propertyNames'",
    "dependentRequired": "'dependentRequired'", "dependentSchemas": "'dependentSchemas'",
    "contains": "'contains'", "minContains": "'minContains'", "maxContains": "'maxContains'",
}


class _NoStrictForm(Exception):
    pass


def strict_variant(schema: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None,
                                                        bool]:
    """`(strict schema, None, wrapped)`, or `(None, why there is none, False)`."""
    root = dict(schema)
    definitions: dict[str, Any] = {
        key: root.pop(key) for key in ("$defs", "definitions") if key in root}
    root = _resolve_root_reference(root, definitions)
    wrapped = root.get("type") != "object"
    try:
        if wrapped:
            _refuse_root_references(root)
            strict_root = _strict(root, "$")
            root_schema: dict[str, Any] = {
                "type": "object", "properties": {WRAPPER_KEY: strict_root},
                "required": [WRAPPER_KEY], "additionalProperties": False}
        else:
            root_schema = _strict(root, "$")
        for key, defs in definitions.items():
            if not isinstance(defs, Mapping):
                raise _NoStrictForm(f"{key} is not a mapping")
            root_schema[key] = {name: _strict(sub, f"{key}.{name}")
                                for name, sub in defs.items()}
    except _NoStrictForm as why:
        return None, str(why), False
    return root_schema, None, wrapped


def _resolve_root_reference(root: dict[str, Any], definitions: Mapping[str, Any],
                            ) -> dict[str, Any]:
    """pydantic describes a recursive model as `{"$ref": "#/$defs/Node", "$defs": ...}`:
    the root is then the definition itself (its own references still resolve)."""
    reference = root.get("$ref")
    if not isinstance(reference, str) or set(root) - {"$ref", "description"}:
        return root
    for key, defs in definitions.items():
        prefix = f"#/{key}/"
        if reference.startswith(prefix) and isinstance(defs, Mapping):
            target = defs.get(reference[len(prefix):])
            if isinstance(target, Mapping):
                return {**target, **{k: v for k, v in root.items() if k != "$ref"}}
    return root


def _refuse_root_references(node: Any) -> None:
    # Wrapping moves the root: a reference to it ("#" or "#/properties/...") would point
    # at the wrapper instead.
    if isinstance(node, Mapping):
        reference = node.get("$ref")
        if isinstance(reference, str) and not reference.startswith(("#/$defs/",
                                                                     "#/definitions/")):
            raise _NoStrictForm(f"a $ref to {reference!r} cannot survive wrapping the root")
        for value in node.values():
            _refuse_root_references(value)
    elif isinstance(node, list):
        for item in node:
            _refuse_root_references(item)


def _strict(node: Any, path: str) -> dict[str, Any]:
    if not isinstance(node, Mapping):
        raise _NoStrictForm(f"{path} allows a value of any shape")
    for keyword, what in _NO_STRICT_FORM.items():
        if keyword in node:
            raise _NoStrictForm(f"{path} uses {what}, which strict mode cannot express")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key in ("properties", "additionalProperties", "required"):
            continue
        if key == "format" and value not in _FORMATS:
            continue
        if key in ("anyOf", "oneOf"):
            out.setdefault("anyOf", []).extend(
                _strict(sub, f"{path}.{key}[{i}]") for i, sub in enumerate(value))
        elif key == "allOf":
            if len(value) != 1:
                raise _NoStrictForm(f"{path} uses allOf, which strict mode cannot express")
            merged = _strict(value[0], f"{path}.allOf[0]")
            out.update({k: v for k, v in merged.items() if k not in out})
        elif key == "items":
            out["items"] = _strict(value, f"{path}[]")
        elif key in ("$defs", "definitions"):
            raise _NoStrictForm(f"{path} holds nested {key}")
        else:
            out[key] = copy.deepcopy(value)
    if _is_object(node):
        properties = node.get("properties") or {}
        extra = node.get("additionalProperties", True)
        if not properties and extra is not False:
            raise _NoStrictForm(f"{path} is an object with free keys (a dict), which "
                                "strict mode cannot express")
        out["properties"] = {name: _strict(sub, f"{path}.{name}")
                             for name, sub in properties.items()}
        out["required"] = list(properties)
        out["additionalProperties"] = False
    if not out.keys() - {"description"}:
        raise _NoStrictForm(f"{path} allows a value of any shape")
    return out


def _is_object(node: Mapping[str, Any]) -> bool:
    kinds = node.get("type")
    return kinds == "object" or isinstance(kinds, list) and "object" in kinds \
        or "properties" in node and kinds is None
