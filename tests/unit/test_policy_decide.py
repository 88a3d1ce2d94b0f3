"""decide(): the pure decision — roles × effects, ticket and project targets, channel scopes, confirmation."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.decide import Facts, decide, grant_outcome, visible_set
from bot.policy.model import ChannelScopes, Policy, Role, default_roles
from bot.tools.base import Actor, ChannelType, Effect, Tool, ToolArgs, tool


class KeyArgs(ToolArgs):
    key: str


class CreateArgs(ToolArgs):
    project: str
    summary: str = "x"


class SearchArgs(ToolArgs):
    project: str | None = None


def _doc(name: str) -> Any:
    async def fn(ctx: Any, args: Any) -> None:
        """A test tool."""

    fn.__name__ = name
    return fn


GET = tool(name="get_ticket", effect=Effect.READ, args=KeyArgs, ticket_key_fields=("key",))(_doc("get_ticket"))
COMMENT = tool(name="add_comment", effect=Effect.WRITE, args=KeyArgs, ticket_key_fields=("key",))(_doc("c"))
CREATE = tool(name="create_ticket", effect=Effect.WRITE, args=CreateArgs, project_fields=("project",))(_doc("n"))
SEARCH = tool(name="search_tickets", effect=Effect.READ, args=SearchArgs, project_fields=("project",))(_doc("s"))

PUBLIC = frozenset({"OPS", "WEB"})
"""OPS and WEB are public; SEC is private."""


def actor(channel_type: ChannelType = "im", channel_id: str | None = "D1") -> Actor:
    return Actor(user_id="U1", channel_id=channel_id, channel_type=channel_type)


def facts(role: str, **tickets: str | None) -> Facts:
    return Facts(role=role, ticket_projects=tickets, public_projects=PUBLIC)


def key_args(key: str) -> KeyArgs:
    return KeyArgs(key=key)


ROLE_EFFECT_EXPECTED = [
    ("admin", GET, "allow"),
    ("admin", COMMENT, "allow"),
    ("member", GET, "allow"),
    ("member", COMMENT, "confirm"),
    ("viewer", GET, "allow"),
    ("viewer", COMMENT, "deny"),
]


@pytest.mark.parametrize(("role", "the_tool", "expected"), ROLE_EFFECT_EXPECTED)
def test_default_roles_against_read_and_write(role: str, the_tool: Tool, expected: str) -> None:
    decision = decide(Policy(), actor(), the_tool, key_args("OPS-1"), facts(role, **{"OPS-1": "OPS"}))
    assert decision.outcome == expected


def test_a_ticket_in_a_forbidden_project_is_denied_by_its_real_project_not_its_key() -> None:
    # OPS-7 was moved: the ticket system says it lives in SEC (private), which a member may not see.
    decision = decide(Policy(), actor(), GET, key_args("OPS-7"), facts("member", **{"OPS-7": "SEC"}))
    assert decision.outcome == "deny"
    assert decision.rule == "ticket-scope"


def test_an_unknown_key_reads_exactly_like_a_forbidden_one() -> None:
    unknown = decide(Policy(), actor(), GET, key_args("OPS-999"), facts("member", **{"OPS-999": None}))
    forbidden = decide(Policy(), actor(), GET, key_args("OPS-999"), facts("member", **{"OPS-999": "SEC"}))
    assert unknown == forbidden
    assert "SEC" not in forbidden.reason


def test_a_key_the_authorizer_did_not_resolve_is_denied() -> None:
    decision = decide(Policy(), actor(), GET, key_args("OPS-1"), facts("admin"))
    assert decision.outcome == "deny"


def test_an_admin_sees_a_private_project_in_a_dm_but_not_in_a_public_channel() -> None:
    ticket = facts("admin", **{"SEC-1": "SEC"})
    assert decide(Policy(), actor("im"), GET, key_args("SEC-1"), ticket).outcome == "allow"
    in_public = decide(Policy(), actor("public", "C1"), GET, key_args("SEC-1"), ticket)
    assert in_public.outcome == "deny"
    assert in_public.reason == "SEC-1 is not available to you here"


@pytest.mark.parametrize("channel_type", ["ext_shared", "unknown"])
def test_slack_connect_and_unknown_channels_show_nothing_by_default(channel_type: ChannelType) -> None:
    ticket = facts("admin", **{"SEC-1": "SEC", "OPS-1": "OPS"})
    assert decide(Policy(), actor(channel_type, "C1"), GET, key_args("OPS-1"), ticket).outcome == "deny"


def test_an_unknown_channel_gets_the_scope_of_the_most_public_kind_whatever_is_configured_for_unknown() -> None:
    scopes = ChannelScopes(by_type={"ext_shared": ("OPS",), "unknown": ("*",)})
    policy = Policy(channel_scopes=scopes)
    ticket = facts("admin", **{"SEC-1": "SEC", "OPS-1": "OPS"})
    assert decide(policy, actor("unknown", "C1"), GET, key_args("OPS-1"), ticket).outcome == "allow"
    assert decide(policy, actor("unknown", "C1"), GET, key_args("SEC-1"), ticket).outcome == "deny"


@pytest.mark.parametrize("channel_type", ["public", "private", "mpim"])
def test_shared_channels_show_only_non_private_projects_by_default(channel_type: ChannelType) -> None:
    ticket = facts("admin", **{"SEC-1": "SEC", "OPS-1": "OPS"})
    assert decide(Policy(), actor(channel_type, "C1"), GET, key_args("SEC-1"), ticket).outcome == "deny"
    assert decide(Policy(), actor(channel_type, "C1"), GET, key_args("OPS-1"), ticket).outcome == "allow"


def test_a_channel_scoped_to_a_private_project_shows_it() -> None:
    policy = Policy(channel_scopes=ChannelScopes(channels={"C0SEC": ("SEC",)}))
    ticket = facts("admin", **{"SEC-1": "SEC", "OPS-1": "OPS"})
    assert decide(policy, actor("private", "C0SEC"), GET, key_args("SEC-1"), ticket).outcome == "allow"
    # ...and only it: the channel scope narrows what the role may see there.
    assert decide(policy, actor("private", "C0SEC"), GET, key_args("OPS-1"), ticket).outcome == "deny"


def test_a_channel_scope_never_widens_the_role() -> None:
    policy = Policy(channel_scopes=ChannelScopes(channels={"C0SEC": ("SEC",)}))
    ticket = facts("member", **{"SEC-1": "SEC"})
    assert decide(policy, actor("private", "C0SEC"), GET, key_args("SEC-1"), ticket).outcome == "deny"


def test_a_project_argument_is_checked_against_role_and_channel() -> None:
    member = facts("member")
    create_sec = CreateArgs(project="SEC")
    assert decide(Policy(), actor(), CREATE, create_sec, member).outcome == "deny"
    assert decide(Policy(), actor(), CREATE, CreateArgs(project="OPS"), member).outcome == "confirm"
    assert decide(Policy(), actor(), SEARCH, SearchArgs(project="SEC"), member).rule == "project-scope"


def test_a_search_without_a_project_is_allowed_and_left_to_visible_projects() -> None:
    assert decide(Policy(), actor("public", "C1"), SEARCH, SearchArgs(), facts("viewer")).outcome == "allow"


def test_a_switched_off_tool_is_denied_even_for_admins() -> None:
    policy = Policy(enabled_tools=("get_ticket", "search_tickets"))
    decision = decide(policy, actor(), COMMENT, key_args("OPS-1"), facts("admin", **{"OPS-1": "OPS"}))
    assert (decision.outcome, decision.rule) == ("deny", "tool-disabled")


def test_an_undefined_role_fails_closed() -> None:
    decision = decide(Policy(), actor(), GET, key_args("OPS-1"), facts("owner", **{"OPS-1": "OPS"}))
    assert (decision.outcome, decision.rule) == ("deny", "unknown-role")


def test_confirmation_rules_can_name_single_tools() -> None:
    roles = default_roles() | {"member": Role(tools=("read", "write"), confirm=("create_ticket",))}
    policy = Policy(roles=roles)
    ops = facts("member", **{"OPS-1": "OPS"})
    assert decide(policy, actor(), COMMENT, key_args("OPS-1"), ops).outcome == "allow"
    assert decide(policy, actor(), CREATE, CreateArgs(project="OPS"), ops).outcome == "confirm"


def test_grant_outcome_matches_decide_for_calls_without_targets() -> None:
    for role in ("admin", "member", "viewer"):
        for the_tool in (SEARCH, CREATE):
            args = SearchArgs() if the_tool is SEARCH else CreateArgs(project="OPS")
            decided = decide(Policy(), actor(), the_tool, args, facts(role)).outcome
            assert grant_outcome(Policy(), role, the_tool.name, the_tool.effect.value) == decided


def test_visible_projects_intersect_role_and_channel() -> None:
    known = frozenset({"OPS", "WEB", "SEC"})
    assert visible_set(("*",), ("*",), known=known, public=PUBLIC) is None
    assert visible_set(("*",), ("public",), known=known, public=PUBLIC) == {"OPS", "WEB"}
    assert visible_set(("public",), ("*",), known=known, public=PUBLIC) == {"OPS", "WEB"}
    assert visible_set(("OPS", "SEC"), ("public",), known=known, public=PUBLIC) == {"OPS"}
    assert visible_set(("*",), ("SEC",), known=known, public=PUBLIC) == {"SEC"}


def test_public_covers_nothing_when_the_ticket_system_could_not_list_projects() -> None:
    assert visible_set(("*",), ("public",), known=frozenset(), public=frozenset()) == frozenset()
    decision = decide(Policy(), actor(), GET, key_args("OPS-1"), Facts("member", {"OPS-1": "OPS"}))
    assert decision.outcome == "deny"
