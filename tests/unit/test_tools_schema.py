"""The compact JSON Schema of tool arguments: what pydantic writes for documentation goes, what the model reads
stays."""

from __future__ import annotations

import copy
import json
from enum import StrEnum
from typing import Literal

from pydantic import Field

from bot.tools.base import ToolArgs
from bot.tools.registry import all_tools
from bot.tools.schema import compact_schema, model_facing_schema


class Colour(StrEnum):
    """A Python-side docstring the model does not need."""

    RED = "red"
    BLUE = "blue"


class Sample(ToolArgs):
    """What to paint."""

    key: str = Field(max_length=24, pattern=r"^[A-Z]+-[0-9]+$")
    """The ticket key."""
    title: str | None = Field(default=None, max_length=80)
    """A field that happens to be called title."""
    owner: str | None = Field(max_length=120)
    """Who; null to clear."""
    colour: Colour | None = None
    """Which colour."""
    shades: list[Colour] = Field(default_factory=list, max_length=3)
    """Several colours."""
    limit: int = Field(default=20, ge=1, le=50)
    """How many."""
    order: Literal["new", "old"] = "new"
    """Sort order."""


def _compact() -> dict:
    return compact_schema(Sample.model_json_schema())


def _titles(node: object, inside_properties: bool = False) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "title" and not inside_properties:
                found.append(str(value))
            found += _titles(value, inside_properties=key == "properties")
    elif isinstance(node, list):
        for value in node:
            found += _titles(value)
    return found


def test_titles_go_but_a_property_named_title_stays() -> None:
    schema = _compact()

    assert _titles(schema) == []
    assert "title" in schema["properties"]
    assert schema["properties"]["title"] == {"type": "string", "maxLength": 80, "description": "A field that happens to be called title."}


def test_an_optional_field_null_by_default_becomes_a_plain_field_the_model_may_leave_out() -> None:
    props = _compact()["properties"]

    assert props["colour"] == {"type": "string", "enum": ["red", "blue"], "description": "Which colour."}
    assert "anyOf" not in json.dumps(_compact())


def test_a_required_field_that_may_be_null_keeps_null_as_a_type() -> None:
    schema = _compact()

    assert schema["properties"]["owner"] == {"type": ["string", "null"], "maxLength": 120, "description": "Who; null to clear."}
    assert set(schema["required"]) == {"key", "owner"}


def test_references_are_inlined_without_the_python_docstring_of_their_type() -> None:
    schema = _compact()

    assert "$defs" not in schema and "$ref" not in json.dumps(schema)
    assert schema["properties"]["shades"]["items"] == {"type": "string", "enum": ["red", "blue"]}
    assert "docstring" not in json.dumps(schema)


def test_descriptions_bounds_patterns_enums_and_defaults_are_kept() -> None:
    props = _compact()["properties"]

    assert props["key"] == {"type": "string", "maxLength": 24, "pattern": "^[A-Z]+-[0-9]+$", "description": "The ticket key."}
    assert props["limit"] == {"type": "integer", "minimum": 1, "maximum": 50, "default": 20, "description": "How many."}
    assert props["order"] == {"type": "string", "enum": ["new", "old"], "default": "new", "description": "Sort order."}
    assert props["shades"]["maxItems"] == 3
    assert _compact()["description"] == "What to paint." and _compact()["additionalProperties"] is False


def test_the_input_is_not_changed() -> None:
    original = Sample.model_json_schema()
    kept = copy.deepcopy(original)

    compact_schema(original)

    assert original == kept


def test_a_schema_without_pydantic_idioms_passes_through() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string", "description": "Query."}}, "required": ["q"]}

    assert compact_schema(schema) == schema


def test_every_builtin_tool_is_offered_in_compact_form() -> None:
    for tool in all_tools():
        text = json.dumps(tool.spec().input_schema)
        assert "$defs" not in text and '{"type": "null"}' not in text, tool.name
        assert _titles(tool.spec().input_schema) == [], tool.name


def test_the_model_facing_form_drops_what_the_tool_description_and_the_argument_model_already_say() -> None:
    class Flags(ToolArgs):
        """A Python-side docstring: the tool's own description tells the model what it is for."""

        note: str = ""
        """A note."""
        loud: bool = False
        """Shout."""
        tags: list[str] = Field(default_factory=list)
        """Tags."""
        limit: int = 20
        """How many."""

    schema = model_facing_schema(Flags.model_json_schema())

    assert "description" not in schema and "additionalProperties" not in schema
    assert schema["properties"]["note"] == {"type": "string", "description": "A note."}
    assert schema["properties"]["loud"] == {"type": "boolean", "description": "Shout."}
    assert schema["properties"]["tags"] == {"type": "array", "items": {"type": "string"}, "description": "Tags."}
    assert schema["properties"]["limit"]["default"] == 20
    assert compact_schema(Flags.model_json_schema())["additionalProperties"] is False  # the compact form keeps it
