"""Checking and applying an admin's configuration change: all of it or nothing, never locking every admin out.

`check_change` turns a proposed complete configuration (policy, setting overrides, role assignments) into the
config-table values to write, or field errors keyed by field path (`roles.member.projects`, `assignments.U1`,
`settings.chatops_max_steps`, ...). `apply_change` writes it in one transaction guarded by the version the
admin started from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bot.messages import admin as admin_text
from bot.policy.catalog import Catalog
from bot.policy.live import POLICY_PREFIX, SETTINGS_PREFIX, PolicyState, policy_values, validate_setting
from bot.policy.model import ADMIN_ROLE, USER_ID, Policy, project_refs
from bot.storage.settings_store import ConfigChange
from bot.storage.store import Store


@dataclass
class Proposal:
    """A complete configuration as an admin submitted it (unchecked)."""

    policy: dict[str, Any]
    """Policy fields as JSON (every field)."""
    overrides: dict[str, Any]
    """Setting name → value, for the overridable settings."""
    assignments: dict[str, str]
    """Every user with an explicit role (anyone left out gets the default role)."""


@dataclass
class CheckedChange:
    """What to write, or why not."""

    values: dict[str, Any] = field(default_factory=dict)
    assignments: dict[str, str | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def check_change(
    state: PolicyState, proposal: Proposal, *, tools: Mapping[str, str], catalog: Catalog
) -> CheckedChange:
    """Validate a proposal against the tool registry, known projects and users, and the lock-out rule."""
    out = CheckedChange()
    try:
        policy = Policy.model_validate(proposal.policy, context={"tools": tools})
    except ValidationError as exc:
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"]) or "policy"
            out.errors.setdefault(path, err["msg"].removeprefix("Value error, "))
        return out
    _check_projects(state, policy, catalog, out.errors)
    for name, value in proposal.overrides.items():
        try:
            checked = validate_setting(name, value)
        except ValueError as exc:
            out.errors[f"settings.{name}"] = str(exc)
            continue
        if name in state.overrides or checked != getattr(state.settings, name):
            out.values[f"{SETTINGS_PREFIX}{name}"] = checked  # an unchanged default is not stored as an override
    _check_assignments(state, policy, proposal.assignments, out.errors)
    if out.errors:
        out.values = {}  # all or nothing
        return out
    admins = state.env_admins | {u for u, r in proposal.assignments.items() if r == ADMIN_ROLE}
    if not admins and policy.default_role != ADMIN_ROLE:
        out.errors[f"assignments.{ADMIN_ROLE}"] = admin_text.config_lockout()
        out.values = {}
        return out
    out.values.update(policy_values(policy))
    # Unchanged values are dropped by the store's diff; assignments become explicit set/remove operations.
    out.assignments = {u: r for u, r in proposal.assignments.items() if state.assignments.get(u) != r}
    out.assignments.update({u: None for u in state.assignments if u not in proposal.assignments})
    return out


def _check_projects(state: PolicyState, policy: Policy, catalog: Catalog, errors: dict[str, str]) -> None:
    already = {key for _, key in project_refs(state.policy)}
    for loc, key in project_refs(policy):
        if key in catalog.known:
            continue
        path = ".".join(loc)
        if catalog.complete:
            errors.setdefault(path, admin_text.policy_unknown_project(key, sorted(catalog.known)))
        elif key not in already:
            errors.setdefault(path, admin_text.policy_project_unchecked(key))


def _check_assignments(
    state: PolicyState, policy: Policy, assignments: Mapping[str, str], errors: dict[str, str]
) -> None:
    for user_id, role in assignments.items():
        where = f"assignments.{role}"
        if not USER_ID.match(user_id):
            errors.setdefault(where, admin_text.policy_not_a_user_id(user_id))
        elif role not in policy.roles:
            errors.setdefault(where, admin_text.policy_unknown_role(role, list(policy.roles)))
        elif user_id in state.env_admins and role != ADMIN_ROLE:
            errors.setdefault(where, admin_text.config_env_admin(user_id))


async def apply_change(
    store: Store, state: PolicyState, change: CheckedChange, *, actor_id: str
) -> tuple[int, list[ConfigChange]]:
    """Write a checked change in one transaction; raises bot.errors.Conflict when the configuration moved."""
    if change.errors:
        raise ValueError("refusing to apply a change with errors")
    return await store.apply_config(
        actor_id=actor_id, expected_version=state.version, values=change.values, assignments=change.assignments
    )


def policy_field_of(key: str) -> str:
    """A config key as the admin knows it (`policy.roles` → `roles`, `settings.chatops_model` → `model`)."""
    if key.startswith(POLICY_PREFIX):
        return key.removeprefix(POLICY_PREFIX)
    return key.removeprefix(SETTINGS_PREFIX).removeprefix("chatops_")

