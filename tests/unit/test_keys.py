"""One definition of ticket and project keys: the tools, the slash commands and the JQL builder accept exactly the
same texts (Jira's rule: a letter, then letters, digits or underscores, up to 255 characters) and agree on the
canonical key."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.errors import InvalidArguments
from bot.slack.commands import plan_command
from bot.tools.registry import all_tools
from integrations.tickets import keys
from integrations.tickets.base import TicketQuery
from integrations.tickets.jira_search import build_jql, normalize_project_key, normalize_ticket_key

TOOLS = {t.name: t for t in all_tools()}
KEY_CHARS = "ABCXYZabcxyz0189_-ßıÅ １ \t\n"
"""Letters of both cases, digits, underscore, dash, look-alikes that upper-case into ASCII, spaces."""

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Built, not `from_regex`: drawing from a regex with long repetitions is minutes slow.
valid_projects = st.builds(str.__add__, st.sampled_from(LETTERS), st.text(alphabet=LETTERS + "0123456789_", min_size=1, max_size=254))
long_projects = st.builds(lambda first, size, fill: first + fill * size, st.sampled_from("AZ"), st.integers(250, 258), st.sampled_from("B9_"))
valid_tickets = st.builds(lambda p, n: f"{p}-{n}", valid_projects, st.integers(1, 10**18 - 1))
near_keys = st.one_of(
    st.text(alphabet=KEY_CHARS, max_size=12),
    st.builds(lambda p, s: p + s, valid_tickets, st.sampled_from(["", "0", "-1", " ", "x", "_", "\n", "ß"])),
    st.builds(lambda s, t: s + t, st.sampled_from(["", "1", "_", "-", "ß", " x"]), valid_tickets),
    st.builds(lambda p, n: f"{p}-{n}", long_projects, st.integers(1, 10**20)),  # around the length limits
)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tool_accepts_ticket(text: str) -> str | None:
    try:
        return str(TOOLS["get_ticket"].args_model.model_validate({"key": text}).key)  # type: ignore[attr-defined]
    except ValidationError:
        return None


def command_accepts_ticket(text: str) -> str | None:
    plan = plan_command("/ticket", text)
    return str(plan.arguments["key"]) if plan.kind == "tool" else None


def jql_accepts_ticket(text: str) -> str | None:
    try:
        return normalize_ticket_key(text)
    except InvalidArguments:
        return None


@FAST
@given(st.one_of(valid_tickets, near_keys))
@example("SAMPLEPROJECT-1")
@example("ops-12")
@example("OPS-01")
@example("ßOPS-1")
@example("A" * 255 + "-1")
@example("A" * 256 + "-1")
def test_tools_commands_and_the_jql_builder_accept_the_same_ticket_keys(text: str) -> None:
    tool, command, jql = tool_accepts_ticket(text), command_accepts_ticket(text), jql_accepts_ticket(text)
    assert tool == command == jql == keys.ticket_key(text)


def tool_accepts_project(text: str) -> str | None:
    try:
        return TOOLS["search_tickets"].args_model.model_validate({"project": text}).project  # type: ignore[attr-defined,no-any-return]
    except ValidationError:
        return None


def jql_accepts_project(text: str) -> str | None:
    try:
        where = build_jql(TicketQuery(projects=(text,)))
    except InvalidArguments:
        return None
    return normalize_project_key(text) if where.startswith(f'project = "{normalize_project_key(text)}"') else None


@FAST
@given(st.one_of(valid_projects, st.text(alphabet=KEY_CHARS, max_size=12), long_projects))
@example("SAMPLEPROJECT")
@example("SAMPLE_PROJECT_2")
@example("O")
@example("1OPS")
def test_tools_and_the_jql_builder_accept_the_same_project_keys(text: str) -> None:
    assert tool_accepts_project(text) == jql_accepts_project(text) == keys.project_key(text)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("SAMPLEPROJECT-1", "SAMPLEPROJECT-1"),  # a real Data Center key (jira-ruby's recordings)
        ("sample_project-42", "SAMPLE_PROJECT-42"),
        (" OPS-7 ", "OPS-7"),
        ("P" * 255 + "-9", "P" * 255 + "-9"),
    ],
)
def test_what_jira_accepts_is_accepted_everywhere(text: str, key: str) -> None:
    assert tool_accepts_ticket(text) == command_accepts_ticket(text) == jql_accepts_ticket(text) == key


@pytest.mark.parametrize(
    "text",
    ["OPS-0", "OPS-012", "1OPS-2", "O-1", "OPS 1", "OPS-1-2", "ÖPS-1", "ßOPS-1", "P" * 256 + "-1", "OPS-" + "9" * 19],
)
def test_what_jira_refuses_is_refused_everywhere(text: str) -> None:
    assert tool_accepts_ticket(text) is command_accepts_ticket(text) is jql_accepts_ticket(text) is None


def test_the_model_sees_the_shared_shape_in_the_tool_schema_and_validation_keeps_the_bounds() -> None:
    schema = TOOLS["get_ticket"].spec().input_schema
    assert schema["properties"]["key"]["pattern"] == keys.TICKET_KEY_SHAPE
    assert TOOLS["create_ticket"].spec().input_schema["properties"]["project"]["pattern"] == keys.PROJECT_KEY_SHAPE
    assert tool_accepts_ticket("P" * 256 + "-1") is None and tool_accepts_ticket("OPS-" + "9" * 19) is None


@pytest.mark.parametrize("key", ["OPS-12", "SAMPLE_PROJECT-1", "P" * 255 + "-9", "OPS-" + "9" * 18])
def test_the_shape_shown_to_the_model_accepts_every_key_the_definition_accepts(key: str) -> None:
    assert re.fullmatch(keys.TICKET_KEY_PATTERN, key) and re.fullmatch(keys.TICKET_KEY_SHAPE, key)
    assert re.fullmatch(keys.PROJECT_KEY_SHAPE, keys.project_of(key))


@pytest.mark.parametrize("text", ["OPS-0", "OPS-012", "1OPS-2", "O-1", "OPS 1", "OPS-1-2", "ops-1", "ÖPS-1"])
def test_the_shape_shown_to_the_model_refuses_every_malformed_key(text: str) -> None:
    assert re.fullmatch(keys.TICKET_KEY_SHAPE, text) is None
