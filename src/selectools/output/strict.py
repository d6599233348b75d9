"""The strict variant of a JSON schema, as OpenAI's strict structured outputs demand it.

Strict mode takes a subset of JSON schema, and in exchange the model's answer always
matches it. The variant closes every object (`additionalProperties: false`) and lists
every property in `required`, as strict mode insists; a property the type leaves
optional is made nullable (OpenAI's own advice), and `drop_absent_nulls` turns such a
null back into an absent property before validation, so the type's default applies
(a dataclass field's default, a TypedDict's `NotRequired` key left out). It turns
`oneOf` into `anyOf` and drops what strict mode refuses but a validator still checks
afterwards (`default`, `uniqueItems`, pydantic's `discriminator`, `format`s it does not
know). Its root must be an object, so any other root is wrapped:
`{"value": <the schema>}`, and the answer unwrapped on the way back.

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
        required = set(node.get("required") or ())
        out["properties"] = {
            name: _strict(sub, f"{path}.{name}") if name in required
            else _or_null(_strict(sub, f"{path}.{name}"))
            for name, sub in properties.items()}
        out["required"] = list(properties)
        out["additionalProperties"] = False
    if not out.keys() - {"description"}:
        raise _NoStrictForm(f"{path} allows a value of any shape")
    return out


def _or_null(node: dict[str, Any]) -> dict[str, Any]:
    """An optional property, which strict mode makes required: null stands for absent."""
    if _may_be_null(node):
        return node
    rest = {key: value for key, value in node.items() if key != "description"}
    wrapped: dict[str, Any] = {"anyOf": [rest, {"type": "null"}]}
    if "description" in node:
        wrapped["description"] = node["description"]
    return wrapped


def _may_be_null(node: Mapping[str, Any]) -> bool:
    kinds = node.get("type")
    if kinds == "null" or isinstance(kinds, list) and "null" in kinds:
        return True
    if "const" in node and node["const"] is None or None in (node.get("enum") or ()):
        return True
    return any(isinstance(branch, Mapping) and _may_be_null(branch)
               for branch in node.get("anyOf") or ())


def drop_absent_nulls(value: Any, schema: Mapping[str, Any]) -> bool:
    """Remove, in place, each `null` that stands for an absent optional property (a
    strict-mode answer must send every property) where the plain `schema` does not
    allow null: the type's own default then applies. Says whether anything was removed.
    A null kept is one the schema takes, or one validation will refuse anyway."""
    return _drop(value, schema, schema, 0)


def _drop(value: Any, node: Any, root: Mapping[str, Any], depth: int) -> bool:
    # (A scalar holds no property: most values of an answer end here, at once.)
    if type(value) is not dict and type(value) is not list or depth > 200 \
            or not isinstance(node, Mapping):
        return False
    node = _dereference(node, root)
    dropped = False
    if isinstance(value, dict):
        for candidate in _alternatives(node, root):
            properties = candidate.get("properties")
            if not isinstance(properties, Mapping):
                continue
            required = candidate.get("required") or ()
            for name in [k for k, v in value.items() if v is None]:
                sub = properties.get(name)
                if isinstance(sub, Mapping) and name not in required \
                        and not _takes_null(sub, root, depth):
                    del value[name]
                    dropped = True
            for name, item in value.items():
                if (type(item) is dict or type(item) is list) and name in properties:
                    dropped = _drop(item, properties[name], root, depth + 1) or dropped
    elif isinstance(value, list):
        for candidate in _alternatives(node, root):
            items = candidate.get("items")
            # (Items whose schema leads to no properties hold nothing to drop: a list of
            # strings is passed over at once.)
            if isinstance(items, Mapping) and not _LEADS.isdisjoint(items):
                for item in value:
                    if type(item) is dict or type(item) is list:
                        dropped = _drop(item, items, root, depth + 1) or dropped
    return dropped


# The keywords through which a schema can reach an object's properties.
_LEADS = frozenset(("properties", "items", "anyOf", "oneOf", "allOf", "$ref"))


def _dereference(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    for _ in range(20):  # a chain of references, not a cycle
        reference = node.get("$ref")
        if not isinstance(reference, str) or not reference.startswith("#/"):
            return node
        target: Any = root
        for part in reference[2:].split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        if not isinstance(target, Mapping):
            return node
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _alternatives(node: Mapping[str, Any], root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key) or ():
            if isinstance(branch, Mapping):
                found.append(_dereference(branch, root))
    return found


def _takes_null(node: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> bool:
    node = _dereference(node, root)
    if "type" not in node and not {"anyOf", "oneOf", "enum", "const"} & node.keys():
        return True  # any value (or unknown): keep the null
    return _may_be_null(node) or depth < 50 and any(
        isinstance(branch, Mapping) and _takes_null(branch, root, depth + 1)
        for branch in node.get("oneOf") or ())


def _is_object(node: Mapping[str, Any]) -> bool:
    kinds = node.get("type")
    return kinds == "object" or isinstance(kinds, list) and "object" in kinds \
        or "properties" in node and kinds is None
