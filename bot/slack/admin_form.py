"""Reading a submitted admin configuration modal: the form as a complete `Proposal`, parse errors keyed by the
block that shows them, and the Slack check of people newly given a role.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.logs import get_logger, log_event
from bot.messages import admin as admin_text
from bot.policy.edit import Proposal
from bot.policy.live import LIMIT_SETTINGS, PolicyState
from bot.policy.model import ALL, USER_ID
from bot.policy.text import parse_channel_scopes, parse_scope
from bot.slack.admin_view import VALUE
from bot.slack.payloads import ViewFields
from integrations.slack.failures import SLACK_FAILURES

if TYPE_CHECKING:
    from bot.tools.base import Tool

logger = get_logger("slack.admin")

USER_CHECK_SECONDS = 0.8
"""Budget for the users.info checks of newly assigned people, all at once (the submission must be acknowledged
within 3 s). They run while the project list is fetched, so Slack and the ticket system wait together."""


def _text(view: ViewFields, block_id: str) -> str:
    return (view.element(block_id, VALUE).value or "").strip()


def _multi(view: ViewFields, block_id: str) -> list[str]:
    return [o.value for o in view.element(block_id, VALUE).selected_options]


def read_proposal(
    state: PolicyState, view: ViewFields, tools: Sequence[Tool]
) -> tuple[Proposal, dict[str, str]]:
    """The submitted form as a complete Proposal, plus parse errors keyed by block id."""
    errors: dict[str, str] = {}
    roles: dict[str, Any] = {}
    assignments: dict[str, str] = {}
    for name, role in state.policy.roles.items():
        roles[name] = {
            "description": role.description,
            "tools": _multi(view, f"tools:{name}"),
            "projects": parse_scope(_text(view, f"projects:{name}")),
            "confirm": _multi(view, f"confirm:{name}"),
        }
        for user_id in view.element(f"assign:{name}", VALUE).selected_users:
            if user_id in state.env_admins:
                # Always admins, never stored: picking them under admin is harmless, anywhere else is refused.
                if name != "admin":
                    errors.setdefault(f"assign:{name}", admin_text.config_env_admin(user_id))
                continue
            if user_id in assignments and assignments[user_id] != name:
                errors.setdefault(f"assign:{name}", admin_text.config_role_twice(user_id, assignments[user_id]))
            assignments[user_id] = name
    scopes, problem = parse_channel_scopes(_text(view, "channel_scopes"))
    if problem:
        errors["channel_scopes"] = problem
    selected_role = view.element("default_role", VALUE).selected_option
    default_role = selected_role.value if selected_role is not None else ""
    enabled = _multi(view, "enabled_tools")
    overrides: dict[str, Any] = {"chatops_model": _text(view, "model")}
    for name in LIMIT_SETTINGS:
        raw = _text(view, f"limit:{name}")
        overrides[name] = raw if raw else getattr(state.settings, name)
    policy = {
        "default_role": default_role,
        # Keep "every tool" meaning every tool (including ones added later) when nothing was deselected.
        "enabled_tools": list(state.policy.enabled_tools) if _all_kept(state, enabled, tools) else enabled,
        "private_projects": parse_scope(_text(view, "private_projects")),
        "roles": roles,
        "channel_scopes": scopes or state.policy.channel_scopes.model_dump(mode="json"),
    }
    return Proposal(policy=policy, overrides=overrides, assignments=assignments), errors


def _all_kept(state: PolicyState, enabled: list[str], tools: Sequence[Tool]) -> bool:
    return ALL in state.policy.enabled_tools and set(enabled) >= {t.name for t in tools}


def block_for(field_path: str) -> str:
    """The modal block that shows a field's error."""
    parts = field_path.split(".")
    if parts[0] == "roles" and len(parts) >= 3 and parts[2] in ("tools", "projects", "confirm"):
        return f"{parts[2]}:{parts[1]}"
    if parts[0] == "assignments" and len(parts) >= 2:
        return f"assign:{parts[1]}"
    if parts[0] == "settings" and len(parts) >= 2:
        return "model" if parts[1] == "chatops_model" else f"limit:{parts[1]}"
    if parts[0] in ("default_role", "enabled_tools", "private_projects", "channel_scopes"):
        return parts[0]
    return "model"


async def check_new_users(client: Any, state: PolicyState, assignments: dict[str, str]) -> dict[str, str]:
    """users.info for everyone newly given a role, concurrently within USER_CHECK_SECONDS: unknown, deactivated
    or bot accounts are field errors, and so is anyone Slack could not confirm in time (nothing is saved)."""
    new = [u for u, r in assignments.items() if state.assignments.get(u) != r]
    errors: dict[str, str] = {}
    checks: dict[asyncio.Task[str | None], str] = {}
    for user_id in new:
        if USER_ID.match(user_id):
            checks[asyncio.create_task(_user_problem(client, user_id))] = user_id
        else:
            errors.setdefault(f"assign:{assignments[user_id]}", admin_text.config_not_a_user(user_id))
    if not checks:
        return errors
    try:
        done, pending = await asyncio.wait(checks, timeout=USER_CHECK_SECONDS)
    finally:
        for task in checks:
            task.cancel()  # the late ones (and all of them when this check itself is cancelled)
    for task, user_id in checks.items():
        problem = task.result() if task in done else admin_text.config_user_unverified(user_id)
        if problem:
            errors.setdefault(f"assign:{assignments[user_id]}", problem)
    if pending:
        log_event(logger, "user check timed out", logging.WARNING, users=len(pending))
    return errors


async def _user_problem(client: Any, user_id: str) -> str | None:
    """Why this user cannot be given a role (None when they can)."""
    try:
        user = (await client.users_info(user=user_id))["user"]
    except SlackApiError as exc:
        if (exc.response or {}).get("error") in ("user_not_found", "user_not_visible"):
            return admin_text.config_user_unknown(user_id)
        log_event(logger, "user check failed", logging.WARNING, user=user_id, error=type(exc).__name__)
        return admin_text.config_user_unverified(user_id)
    except SLACK_FAILURES as exc:
        log_event(logger, "user check failed", logging.WARNING, user=user_id, error=type(exc).__name__)
        return admin_text.config_user_unverified(user_id)
    if user.get("deleted"):
        return admin_text.config_user_deactivated(user_id)
    if user.get("is_bot"):
        return admin_text.config_user_is_bot(user_id)
    return None
