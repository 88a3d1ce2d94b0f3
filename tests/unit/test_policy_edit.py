"""check_change: an admin's proposed configuration is accepted whole or refused with field errors."""

from __future__ import annotations

from typing import Any

from bot.policy.catalog import Catalog
from bot.policy.edit import Proposal, check_change
from bot.policy.live import PolicyState, policy_values, state_from_snapshot
from bot.policy.model import Policy
from bot.settings import Settings
from bot.storage.settings_store import ConfigSnapshot

TOOLS = {"search_tickets": "read", "get_ticket": "read", "add_comment": "write"}
CATALOG = Catalog(known=frozenset({"OPS", "SEC"}), private=frozenset({"SEC"}), complete=True)


def state(*, env_admins: str = "", assignments: dict[str, str] | None = None) -> PolicyState:
    settings = Settings(_env_file=None, chatops_admins=env_admins)  # type: ignore[call-arg, arg-type]
    snapshot = ConfigSnapshot(version=3, values=policy_values(Policy()), assignments=assignments or {}, seed=None)
    return state_from_snapshot(snapshot, settings)


def proposal(current: PolicyState, **changes: Any) -> Proposal:
    policy = current.policy.model_dump(mode="json")
    for path, value in changes.get("policy", {}).items():
        target = policy
        *parents, last = path.split(".")
        for part in parents:
            target = target[part]
        target[last] = value
    return Proposal(
        policy=policy,
        overrides=changes.get("overrides", {"chatops_model": "claude-sonnet-4-6"}),
        assignments=changes.get("assignments", dict(current.assignments)),
    )


def test_a_valid_change_lists_values_and_explicit_assignment_operations() -> None:
    current = state(assignments={"U0ADMIN": "admin", "U0OLD": "viewer"})
    checked = check_change(
        current,
        proposal(
            current,
            policy={"roles.member.projects": ["OPS", "SEC"]},
            assignments={"U0ADMIN": "admin", "U0NEW": "member"},
            overrides={"chatops_model": "claude-haiku-4-5", "chatops_max_steps": 10},
        ),
        tools=TOOLS,
        catalog=CATALOG,
    )
    assert checked.errors == {}
    assert checked.values["policy.roles"]["member"]["projects"] == ["OPS", "SEC"]
    assert checked.values["settings.chatops_model"] == "claude-haiku-4-5"
    assert "settings.chatops_max_steps" not in checked.values  # unchanged default: not stored as an override
    assert checked.assignments == {"U0NEW": "member", "U0OLD": None}


def test_an_unknown_project_is_named_with_the_known_ones() -> None:
    current = state(assignments={"U0ADMIN": "admin"})
    checked = check_change(current, proposal(current, policy={"roles.viewer.projects": ["OPZ"]}), tools=TOOLS, catalog=CATALOG)
    assert checked.errors == {"roles.viewer.projects": "Unknown project 'OPZ' (known: OPS, SEC)"}
    assert checked.values == {}


def test_a_new_project_cannot_be_accepted_while_the_ticket_system_is_silent() -> None:
    current = state(assignments={"U0ADMIN": "admin"})
    silent = Catalog(complete=False)
    checked = check_change(current, proposal(current, policy={"private_projects": ["SEC"]}), tools=TOOLS, catalog=silent)
    assert "Cannot check project 'SEC' now" in checked.errors["private_projects"]


def test_an_unknown_tool_is_a_field_error() -> None:
    current = state(assignments={"U0ADMIN": "admin"})
    checked = check_change(current, proposal(current, policy={"roles.member.tools": ["read", "drop_db"]}), tools=TOOLS, catalog=CATALOG)
    assert "unknown tool 'drop_db'" in checked.errors["roles.member.tools"]


def test_a_change_that_leaves_no_admin_is_refused() -> None:
    current = state(assignments={"U0ADMIN": "admin"})
    checked = check_change(current, proposal(current, assignments={"U0ADMIN": "member"}), tools=TOOLS, catalog=CATALOG)
    assert "no chatops admin" in checked.errors["assignments.admin"]
    assert checked.assignments == {}


def test_admins_from_the_environment_keep_the_bot_configurable() -> None:
    current = state(env_admins="U0ROOT", assignments={"U0ADMIN": "admin"})
    checked = check_change(current, proposal(current, assignments={"U0ADMIN": "member"}), tools=TOOLS, catalog=CATALOG)
    assert checked.errors == {}


def test_an_environment_admin_cannot_be_given_another_role() -> None:
    current = state(env_admins="U0ROOT")
    checked = check_change(current, proposal(current, assignments={"U0ROOT": "viewer"}), tools=TOOLS, catalog=CATALOG)
    assert "CHATOPS_ADMINS" in checked.errors["assignments.viewer"]


def test_an_unknown_role_or_user_is_refused() -> None:
    current = state(env_admins="U0ROOT")
    checked = check_change(current, proposal(current, assignments={"U0BOB": "owner"}), tools=TOOLS, catalog=CATALOG)
    assert checked.errors == {"assignments.owner": "Unknown role 'owner' (roles: admin, member, viewer)"}
    checked = check_change(current, proposal(current, assignments={"bob": "member"}), tools=TOOLS, catalog=CATALOG)
    assert checked.errors == {"assignments.member": "'bob' is not a Slack user id"}


def test_limits_are_checked_with_the_same_bounds_as_the_environment() -> None:
    current = state(env_admins="U0ROOT")
    checked = check_change(
        current, proposal(current, overrides={"chatops_max_steps": "99", "chatops_model": ""}), tools=TOOLS, catalog=CATALOG
    )
    assert checked.errors == {
        "settings.chatops_max_steps": "Input should be less than or equal to 50",
        "settings.chatops_model": "String should have at least 1 character",
    }


def test_a_default_role_that_is_not_a_role_is_refused() -> None:
    current = state(env_admins="U0ROOT")
    checked = check_change(current, proposal(current, policy={"default_role": "owner"}), tools=TOOLS, catalog=CATALOG)
    assert "default_role 'owner' is not a role" in checked.errors["default_role"]
