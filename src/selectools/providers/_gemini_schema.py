"""JSON Schema cut down to the OpenAPI subset Gemini's `Schema` object accepts (tool
parameters are declared in it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# The parts of JSON Schema that Gemini's `Schema` object understands; the rest is dropped.
_SCHEMA_KEYS = frozenset({
    "type", "format", "description", "nullable", "enum", "items", "properties", "required",
    "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern",
    "minProperties", "maxProperties", "propertyOrdering",
})
# Gemini refuses any other `format` with a 400.
_FORMATS = {"STRING": {"enum", "date-time"}, "NUMBER": {"float", "double"},
            "INTEGER": {"int32", "int64"}}


def gemini_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` in the OpenAPI subset Gemini accepts: `$ref`s inlined, `allOf` of one merged,
    `["x", "null"]` and `anyOf [..., null]` as `nullable`, types in upper case, unknown keys
    (additionalProperties, $defs, title, default, ...) dropped, non-string enums moved into
    the description. A recursive `$ref` is cut to a bare OBJECT."""
    definitions = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    return _convert_schema(schema, definitions, ())


def _convert_schema(schema: Mapping[str, Any], definitions: Mapping[str, Any],
                    seen: tuple[str, ...]) -> dict[str, Any]:
    node = dict(schema)
    ref = node.pop("$ref", None)
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in definitions:
            return {"type": "OBJECT", **_description(node)}
        return _convert_schema({**definitions[name], **node}, definitions, (*seen, name))
    all_of = node.pop("allOf", None)
    if isinstance(all_of, list) and all_of:
        merged: dict[str, Any] = {}
        for piece in all_of:
            merged.update(piece)
        return _convert_schema({**merged, **node}, definitions, seen)

    out: dict[str, Any] = {}
    nullable = False
    options = node.pop("anyOf", None) or node.pop("oneOf", None)
    if isinstance(options, list):
        rest = [o for o in options if o.get("type") != "null"]
        nullable = len(rest) < len(options)
        if len(rest) == 1:
            out = _convert_schema({**rest[0], **node}, definitions, seen)
            if nullable:
                out["nullable"] = True
            return out
        out["anyOf"] = [_convert_schema(o, definitions, seen) for o in rest]

    kind = node.get("type")
    if isinstance(kind, list):
        real = [k for k in kind if k != "null"]
        nullable = nullable or len(real) < len(kind)
        kind = real[0] if real else None
    if "const" in node and "enum" not in node:
        node["enum"] = [node["const"]]
    if isinstance(kind, str):
        out["type"] = kind.upper()
    elif "enum" in node:
        out["type"] = "STRING"

    for key, value in node.items():
        if key not in _SCHEMA_KEYS or key == "type":
            continue
        if key == "properties":
            out[key] = {name: _convert_schema(sub, definitions, seen)
                        for name, sub in value.items()}
        elif key == "items" and isinstance(value, dict):
            out[key] = _convert_schema(value, definitions, seen)
        elif key == "enum":
            if all(isinstance(v, str) for v in value):
                out["enum"] = list(value)
                out["type"] = "STRING"
            else:
                allowed = ", ".join(json.dumps(v) for v in value)
                out["description"] = f"{node.get('description') or ''} (one of: {allowed})"
                out["description"] = out["description"].strip()
        elif key == "format":
            if value in _FORMATS.get(out.get("type", ""), ()):
                out[key] = value
        elif key == "description" and "description" in out:
            continue  # already written with the allowed values
        else:
            out[key] = value
    if nullable:
        out["nullable"] = True
    return out


def _description(node: Mapping[str, Any]) -> dict[str, Any]:
    return {"description": node["description"]} if node.get("description") else {}
