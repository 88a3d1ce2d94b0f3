"""Seed the policy in the database from the environment and the optional policy file, at start-up.

The first start writes the whole default policy. Later starts re-apply a seeded value only when it differs from
the seed applied last time (the file or CHATOPS_DEFAULT_ROLE changed): edits made in the Slack modal survive
restarts until the file or the environment says something new. CHATOPS_ADMINS are never written: they are
admins in every process for as long as they are listed (and cannot be demoted from Slack).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError, Conflict
from bot.logs import get_logger, log_event
from bot.policy.catalog import ProjectCatalog
from bot.policy.file import PolicyFile, load_policy_file
from bot.policy.live import POLICY_PREFIX, LivePolicy, policy_values, state_from_snapshot
from bot.policy.model import Policy
from bot.storage.settings_store import ConfigSnapshot

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.storage.store import Store
    from bot.tools.base import Tool

logger = get_logger("policy.bootstrap")

BOOTSTRAP_ACTOR = "bootstrap"
_ATTEMPTS = 8


def tool_effects(tools: list[Tool]) -> dict[str, str]:
    """Registry tool name → effect class, for validating tool names in policies."""
    return {t.name: t.effect.value for t in tools}


async def bootstrap_policy(
    *, settings: Settings, store: Store, tools: list[Tool], live: LivePolicy, catalog: ProjectCatalog
) -> None:
    """Write the seed into the database where it changed; raises ConfigError for a bad file."""
    policy_file: PolicyFile | None = None
    if settings.chatops_policy_file is not None:
        policy_file = load_policy_file(
            settings.chatops_policy_file, tools=tool_effects(tools), default_role=settings.chatops_default_role
        )
        known = await catalog.get()
        if known.complete:
            policy_file.check_projects(known.known)
        else:
            log_event(logger, "policy file projects not checked: ticket system unavailable", level=logging.WARNING)
    seed = seed_from(settings.chatops_default_role, policy_file)
    for _ in range(_ATTEMPTS):
        snapshot = await store.load_config()
        values, assignments = pending_changes(snapshot, seed, settings.chatops_default_role)
        if not values and not assignments and snapshot.version > 0 and snapshot.seed == seed:
            break
        merged = ConfigSnapshot(
            version=snapshot.version,
            values={**snapshot.values, **values},
            assignments={**snapshot.assignments, **{u: r for u, r in assignments.items() if r is not None}},
            seed=seed,
        )
        state = state_from_snapshot(merged, settings)
        unknown = {u: r for u, r in merged.assignments.items() if r not in state.policy.roles}
        if unknown:
            raise ConfigError(
                "Role assignments name roles the policy does not define: "
                + ", ".join(f"{u} → {r!r}" for u, r in sorted(unknown.items()))
            )
        try:
            await store.apply_config(
                actor_id=BOOTSTRAP_ACTOR,
                expected_version=snapshot.version,
                values=values,
                assignments=assignments,
                seed=seed,
                action="config_bootstrap",
            )
            break
        except Conflict:
            continue  # another process bootstrapped or an admin saved meanwhile: look again
    else:
        raise ConfigError("Could not store the policy: the configuration kept changing during start-up")
    state = await live.current()
    if not state.admins() and state.policy.default_role != "admin":
        log_event(
            logger,
            "no chatops admins: nobody can open /chatops config; set CHATOPS_ADMINS",
            level=logging.WARNING,
        )


def seed_from(default_role: str, policy_file: PolicyFile | None) -> dict[str, Any]:
    """The bootstrap input: policy values and assignments from the environment and the file."""
    values: dict[str, Any] = {f"{POLICY_PREFIX}default_role": default_role}
    assignments: dict[str, str] = {}
    if policy_file is not None:
        values.update({f"{POLICY_PREFIX}{name}": value for name, value in policy_file.fields.items()})
        assignments = dict(policy_file.assignments)
    return {"values": values, "assignments": assignments}


def pending_changes(
    snapshot: ConfigSnapshot, seed: dict[str, Any], default_role: str
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """What to write: everything on the first start, else the seeded values that changed since last time."""
    last = snapshot.seed or {"values": {}, "assignments": {}}
    seed_values: dict[str, Any] = seed["values"]
    if snapshot.version == 0:
        values = {**policy_values(Policy(default_role=default_role)), **seed_values}
    else:
        values = {k: v for k, v in seed_values.items() if last["values"].get(k) != v}
    assignments: dict[str, str | None] = {
        user: role for user, role in seed["assignments"].items() if last["assignments"].get(user) != role
    }
    return values, assignments
