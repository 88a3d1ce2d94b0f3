"""The tool set the model is offered: stable order, valid schemas, bounded arguments, authorization hooks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.tools.base import Effect, Tool
from bot.tools.registry import all_tools

TOOLS = all_tools()
ROOT = Path(__file__).resolve().parents[2]


def test_the_tools_come_in_a_stable_order_reads_first() -> None:
    assert [t.name for t in TOOLS] == [
        "search_tickets", "get_ticket", "list_comments", "summarize_ticket", "workload_digest", "read_slack_thread",
        "create_ticket", "update_ticket", "transition_ticket", "assign_ticket", "add_comment",
    ]  # fmt: skip


def test_the_catalogue_is_byte_identical_in_a_fresh_process_with_another_hash_seed() -> None:
    # The catalogue is the prompt cache's prefix: nothing in it may depend on set or dict iteration order.
    script = (
        "import json; from bot.tools.registry import all_tools; "
        "print(json.dumps([t.spec().model_dump() for t in all_tools()], separators=(',', ':')))"
    )
    here = json.dumps([t.spec().model_dump() for t in TOOLS], separators=(",", ":"))
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # this process's seed is random: the two differ
    fresh = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == here


def test_exactly_the_changing_tools_are_writes() -> None:
    writes = {t.name for t in TOOLS if t.effect is Effect.WRITE}

    assert writes == {"create_ticket", "update_ticket", "transition_ticket", "assign_ticket", "add_comment"}


TICKET_TOOLS = [t for t in TOOLS if t.name != "read_slack_thread"]


@pytest.mark.parametrize("tool", TICKET_TOOLS, ids=lambda t: t.name)
def test_each_ticket_tool_says_when_to_use_it_and_when_not(tool: Tool) -> None:
    assert re.fullmatch(r"[a-z_]{1,64}", tool.name)
    assert "Use it" in tool.description and "Do not use it" in tool.description
    assert len(tool.description) < 700


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_each_tool_is_closed_and_every_argument_is_described(tool: Tool) -> None:
    schema = tool.spec().input_schema

    # The schema lists the arguments; one it does not list is refused by the argument model, not by the schema.
    assert schema["type"] == "object" and tool.args_model.model_config.get("extra") == "forbid"
    with pytest.raises(ValidationError, match="unexpected_argument"):
        tool.args_model.model_validate({"unexpected_argument": 1})
    for name, prop in schema["properties"].items():
        assert prop.get("description"), f"{tool.name}.{name} has no description"


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_ticket_and_project_arguments_are_declared_for_authorization(tool: Tool) -> None:
    fields = set(tool.args_model.model_fields)

    assert set(tool.ticket_key_fields) | set(tool.project_fields) <= fields
    assert ("key" in fields) == (tool.ticket_key_fields == ("key",))
    assert ("project" in fields) == (tool.project_fields == ("project",))


def test_targets_name_the_ticket_and_project_a_call_touches() -> None:
    by_name = {t.name: t for t in TOOLS}
    get, create = by_name["get_ticket"], by_name["create_ticket"]

    assert get.targets(get.args_model.model_validate({"key": "ops-12"})) == (["OPS-12"], [])
    assert create.targets(create.args_model.model_validate({"project": "SEC", "summary": "x"})) == (
        [],
        ["SEC"],
    )


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_numbers_and_texts_are_bounded(tool: Tool) -> None:
    def unbounded(prop: dict) -> bool:
        options = prop.get("anyOf", [prop])
        for option in options:
            kind = option.get("type")
            if kind == "integer" and ("maximum" not in option or "minimum" not in option):
                return True
            if kind == "string" and not ({"maxLength", "pattern", "enum", "format"} & option.keys()):
                return True
            if kind == "array" and "maxItems" not in option:
                return True
        return False

    props = tool.spec().input_schema["properties"]
    assert [name for name, prop in props.items() if unbounded(prop)] == []
