"""`compact_schema()`: the JSON Schema of a tool's arguments, as small as it can be without losing what the model
reads.

pydantic's schema is written for documentation: every field repeats its name as a `title`, every optional field is
`anyOf [X, {"type": "null"}]` with `default: null`, and shared enums sit behind `$ref`s into `$defs`. Those cost
about a third of the tool catalogue that goes with every model request. The compact form keeps every
description, type, enum, bound, pattern, format and non-null default; it drops titles, turns an optional field
(null by default, not required) into a plain field the model may leave out, writes a field that must be given
but may be null as `"type": [X, "null"]`, and inlines `$ref`s (without the referenced type's docstring: the field
that uses it has its own description). Validation is unchanged: arguments are still
checked by the pydantic model, never by this schema.

It is applied to the schemas of built-in tools (`Tool.spec()`); it takes any JSON Schema dict and never mutates it.
"""

from __future__ import annotations

from typing import Any

_NULL = {"type": "null"}
# keywords whose value is a map of names to schemas (a property may be named "title": never dropped)
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains")


def model_facing_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`compact_schema(schema)` as offered to the model with a tool: without the argument model's own docstring (the
    tool's description says what the tool is for) and without `additionalProperties: false` (the model is offered
    the listed properties; any other is still refused by the argument model, `extra="forbid"`, with an error it
    reads); a property's default that is what leaving it out means anyway (`false`, `""`, `[]`) goes too."""
    out = compact_schema(schema)
    out.pop("description", None)
    if out.get("additionalProperties") is False:
        out.pop("additionalProperties")
    required = set(out.get("required", ()))
    for name, prop in out.get("properties", {}).items():
        if name not in required and isinstance(prop, dict) and _is_empty_default(prop.get("default", ...)):
            out["properties"][name] = {k: v for k, v in prop.items() if k != "default"}
    return out


def _is_empty_default(value: Any) -> bool:
    return value is False or value == "" or value == []


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The compact equivalent of `schema` (a pydantic `model_json_schema()` or any JSON Schema object)."""
    defs = {**schema.get("$defs", {}), **schema.get("definitions", {})}
    out = _compact(schema, defs, depth=0)
    out.pop("$defs", None)
    out.pop("definitions", None)
    out.pop("title", None)
    required = set(out.get("required", ()))
    for name, prop in list(out.get("properties", {}).items()):
        out["properties"][name] = _optional(prop, required=name in required)
    return out


def _compact(node: Any, defs: dict[str, Any], depth: int) -> Any:
    if not isinstance(node, dict):
        return node
    if depth > 32:  # a recursive model: leave the rest as it is
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in defs and ref.startswith(("#/$defs/", "#/definitions/")):
        # the definition's own docstring describes the Python type; the field that uses it has its own description
        target = {k: v for k, v in _compact(defs[ref.rsplit("/", 1)[-1]], defs, depth + 1).items() if k != "description"}
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**target, **_compact(rest, defs, depth + 1)}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _compact(sub, defs, depth + 1) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_compact(sub, defs, depth + 1) for sub in value]
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            out[key] = _compact(value, defs, depth + 1)
        else:
            out[key] = value
    if "properties" in out:
        required = set(out.get("required", ()))
        out["properties"] = {n: _optional(p, required=n in required) for n, p in out["properties"].items()}
    return out


def _optional(prop: Any, *, required: bool) -> Any:
    """`anyOf [X, null]`: X alone when the field may be left out (null by default); `type: [X, null]` when the
    field must be given but may be null and X is a plain typed schema; otherwise unchanged."""
    if not isinstance(prop, dict):
        return prop
    options = prop.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or _NULL not in options:
        return prop
    other = options[0] if options[1] == _NULL else options[1]
    if not isinstance(other, dict):
        return prop
    rest = {k: v for k, v in prop.items() if k != "anyOf"}
    if not required and rest.get("default", ...) is None:
        rest.pop("default")
        return {**other, **rest}
    kind = other.get("type")
    if required and isinstance(kind, str) and "anyOf" not in other and "$ref" not in other:
        merged = {**other, **rest}
        merged["type"] = [kind, "null"]
        return merged
    return prop
