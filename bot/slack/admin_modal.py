"""The admin-only configuration modal behind `/chatops config`.

Opening checks admin rights, then calls `views.open` at once (the trigger is valid for 3 s). Submitting checks
admin rights again (a forged `view_submission` from anyone else changes nothing, is logged and audited), parses
every field, validates the whole configuration (`bot.policy.edit.check_change`: tools, projects, users, the
lock-out rule) and answers invalid values with `response_action: errors` inside the modal. People newly given a
role are checked with users.info, all at once and while the project list loads, within USER_CHECK_SECONDS;
whoever Slack does not confirm in time is a field error, so the ack always comes well inside Slack's 3 s. A valid change is
written in one transaction guarded by the configuration version the modal was opened at, audited per field,
and applies from the next request in every process.

The modal also lists the schedules (`bot/scheduler/config_section.py`); their buttons act at once, outside Save.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)
from slack_sdk.models.blocks.block_elements import (
    NumberInputElement,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot import messages
from bot.errors import Conflict
from bot.logs import get_logger, log_event
from bot.mcp.admin_section import section_blocks as mcp_section
from bot.policy.authorizer import project_catalog
from bot.policy.edit import Proposal, apply_change, check_change, policy_field_of
from bot.policy.live import LIMIT_SETTINGS, PolicyState, live_policy
from bot.policy.model import ALL, EFFECTS, USER_ID
from bot.policy.text import channel_scopes_text, parse_channel_scopes, parse_scope, scope_text
from bot.scheduler.config_section import MAX_VIEW_BLOCKS, ScheduleLine, schedule_lines, section_blocks
from bot.settings import Settings
from bot.slack.client import SLACK_FAILURES

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps
    from bot.mcp.hub import McpHub
    from bot.tools.base import Tool

logger = get_logger("slack.admin")

CALLBACK_ID = "chatops.config"
VALUE = "value"
"""The action id of every input in the modal."""
USER_CHECK_SECONDS = 0.8
"""Budget for the users.info checks of newly assigned people, all at once (the submission must be acknowledged
within 3 s). They run while the project list is fetched, so Slack and the ticket system wait together."""
CATALOG_SECONDS = 1.0
"""Budget for listing projects when the cached list is stale (the longest wait before the ack)."""


# ---------------------------------------------------------------- the view


def _options(tools: Sequence[Tool], *, effects: bool) -> list[Option]:
    opts = []
    if effects:
        opts.append(Option(value=ALL, label="* (every tool)"))
        opts += [Option(value=e, label=f"{e} (every {e} tool)") for e in EFFECTS]
    opts += [Option(value=t.name, label=f"{t.name} ({t.effect.value})") for t in tools]
    return opts


def _selected(options: list[Option], values: Sequence[str]) -> list[Option] | None:
    chosen = [o for o in options if o.value in values]
    return chosen or None


def _number(name: str, value: Any) -> NumberInputElement:
    info = Settings.model_fields[name]
    bounds = {type(m).__name__: m for m in info.metadata}
    low = getattr(bounds.get("Ge"), "ge", None) or getattr(bounds.get("Gt"), "gt", None)
    high = getattr(bounds.get("Le"), "le", None)
    return NumberInputElement(
        action_id=VALUE,
        is_decimal_allowed=info.annotation is float,
        initial_value=str(value),
        min_value=str(low) if low is not None else None,
        max_value=str(high) if high is not None else None,
    )


def build_config_view(
    state: PolicyState,
    tools: Sequence[Tool],
    *,
    schedules: Sequence[ScheduleLine] = (),
    note: str | None = None,
    opened_at: int | None = None,
    mcp: McpHub | None = None,
    mcp_note: str | None = None,
) -> dict[str, Any]:
    """The modal, filled with the current configuration and the schedules; remembers the version it was opened at.

    `opened_at` keeps the version of a modal being refreshed (after a schedule button), so a Save still refuses
    to overwrite a configuration someone else changed since the modal was opened."""
    policy, settings = state.policy, state.settings
    tool_opts, selector_opts = _options(tools, effects=False), _options(tools, effects=True)
    enabled = [t.name for t in tools if policy.tool_enabled(t.name, t.effect.value)]
    env_admins = ", ".join(f"<@{u}>" for u in sorted(state.env_admins)) or "none"
    blocks: list[Any] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"Configuration version {state.version}. Saved changes apply from the next request, in every "
                f"bot process. Admins through CHATOPS_ADMINS (always admins): {env_admins}."
            )
        ),
        InputBlock(
            block_id="model",
            label="Model",
            element=PlainTextInputElement(action_id=VALUE, initial_value=settings.chatops_model),
            hint=f"The model id used for conversations, on the configured provider ({settings.chatops_provider}; set by CHATOPS_PROVIDER).",
        ),
        InputBlock(
            block_id="enabled_tools",
            label="Enabled tools",
            optional=True,
            element=StaticMultiSelectElement(
                action_id=VALUE, options=tool_opts, initial_options=_selected(tool_opts, enabled)
            ),
            hint="A tool left out is offered to nobody, admins included.",
        ),
        InputBlock(
            block_id="default_role",
            label="Default role (people with no assignment)",
            element=StaticSelectElement(
                action_id=VALUE,
                options=[Option(value=r, label=r) for r in policy.roles],
                initial_option=Option(value=policy.default_role, label=policy.default_role),
            ),
        ),
    ]
    for name, role in policy.roles.items():
        members = sorted(u for u, r in state.assignments.items() if r == name and u not in state.env_admins)
        blocks += [
            DividerBlock(),
            HeaderBlock(text=f"Role: {name}"[:150]),
            InputBlock(
                block_id=f"assign:{name}",
                label=f"People with the {name} role",
                optional=True,
                element=UserMultiSelectElement(action_id=VALUE, initial_users=members or None),
            ),
            InputBlock(
                block_id=f"tools:{name}",
                label="May use",
                optional=True,
                element=StaticMultiSelectElement(
                    action_id=VALUE, options=selector_opts, initial_options=_selected(selector_opts, role.tools)
                ),
            ),
            InputBlock(
                block_id=f"projects:{name}",
                label="On projects",
                optional=True,
                element=PlainTextInputElement(action_id=VALUE, initial_value=scope_text(role.projects) or None),
                hint="Project keys separated by commas; * for every project; public for every non-private one.",
            ),
            InputBlock(
                block_id=f"confirm:{name}",
                label="Needs Approve/Cancel first",
                optional=True,
                element=StaticMultiSelectElement(
                    action_id=VALUE, options=selector_opts, initial_options=_selected(selector_opts, role.confirm)
                ),
            ),
        ]
    blocks += [
        DividerBlock(),
        HeaderBlock(text="Projects and channels"),
        InputBlock(
            block_id="private_projects",
            label="Private projects",
            optional=True,
            element=PlainTextInputElement(action_id=VALUE, initial_value=scope_text(policy.private_projects) or None),
            hint="Besides those the ticket system marks private. Never shown in shared channels unless scoped below.",
        ),
        InputBlock(
            block_id="channel_scopes",
            label="Projects shown per channel",
            element=PlainTextInputElement(action_id=VALUE, multiline=True, initial_value=channel_scopes_text(state.policy.channel_scopes)),
            hint="One line each: a channel type (im, mpim, public, private, ext_shared, shell) or a channel id, a colon, "
            "then projects (* means everything the asker may see).",
        ),
        DividerBlock(),
        HeaderBlock(text="Limits"),
    ]
    for name in LIMIT_SETTINGS:
        label = name.removeprefix("chatops_").replace("_", " ").capitalize()
        blocks.append(
            InputBlock(block_id=f"limit:{name}", label=label, element=_number(name, getattr(settings, name)))
        )
    blocks += mcp_section(mcp, policy, room=MAX_VIEW_BLOCKS - len(blocks) - 8, note=mcp_note)
    blocks += section_blocks(list(schedules), room=MAX_VIEW_BLOCKS - len(blocks) - 1, note=note)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text="Every change is audited: who, when, field, before, after.")]))
    view = View(
        type="modal",
        callback_id=CALLBACK_ID,
        title="chatops configuration",
        submit="Save",
        close="Cancel",
        private_metadata=json.dumps({"version": state.version if opened_at is None else opened_at}),
        blocks=blocks,
    )
    return view.to_dict()


async def config_view(deps: Deps, *, opened_at: int | None = None, note: str | None = None) -> dict[str, Any]:
    """The modal as it should look now: the live configuration and every schedule."""
    state = await live_policy(deps).current()
    lines = await schedule_lines(deps)
    mcp_note, note = (note, None) if deps.mcp is not None and note and note.startswith(tuple(deps.mcp.servers)) else (None, note)
    return build_config_view(state, deps.tools, schedules=lines, note=note, opened_at=opened_at, mcp=deps.mcp, mcp_note=mcp_note)


def opened_version(view: dict[str, Any]) -> int:
    """The configuration version a modal was opened at (-1 when its metadata is missing or forged)."""
    try:
        return int(json.loads(view.get("private_metadata") or "{}").get("version"))
    except (TypeError, ValueError, AttributeError):
        return -1


async def refresh_config_view(
    client: Any, deps: Deps, *, view_id: str, opened_at: int, note: str | None = None
) -> None:
    """Show the schedules as they are now in an open modal (inputs the admin typed are kept by Slack)."""
    # No `hash`: the view is rebuilt from the database every time, so a late update never shows lost data.
    view = await config_view(deps, opened_at=opened_at, note=note)
    try:
        await client.views_update(view_id=view_id, view=view)
    except SLACK_FAILURES as exc:
        log_event(logger, "views.update failed", logging.WARNING, error=type(exc).__name__)


def notice_view(text: str) -> dict[str, Any]:
    """A modal that only says something (replaces the form when the submitter may not configure)."""
    return View(
        type="modal", title="chatops configuration", close="Close", blocks=[SectionBlock(text=text)]
    ).to_dict()


# ---------------------------------------------------------------- reading a submission


def _state_value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    return dict((values.get(block_id) or {}).get(VALUE) or {})


def _text(values: dict[str, Any], block_id: str) -> str:
    return str(_state_value(values, block_id).get("value") or "").strip()


def _multi(values: dict[str, Any], block_id: str) -> list[str]:
    return [str(o.get("value")) for o in _state_value(values, block_id).get("selected_options") or []]


def read_proposal(
    state: PolicyState, values: dict[str, Any], tools: Sequence[Tool]
) -> tuple[Proposal, dict[str, str]]:
    """The submitted form as a complete Proposal, plus parse errors keyed by block id."""
    errors: dict[str, str] = {}
    roles: dict[str, Any] = {}
    assignments: dict[str, str] = {}
    for name, role in state.policy.roles.items():
        roles[name] = {
            "description": role.description,
            "tools": _multi(values, f"tools:{name}"),
            "projects": parse_scope(_text(values, f"projects:{name}")),
            "confirm": _multi(values, f"confirm:{name}"),
        }
        for user_id in _state_value(values, f"assign:{name}").get("selected_users") or []:
            user_id = str(user_id)
            if user_id in state.env_admins:
                # Always admins, never stored: picking them under admin is harmless, anywhere else is refused.
                if name != "admin":
                    errors.setdefault(f"assign:{name}", messages.config_env_admin(user_id))
                continue
            if user_id in assignments and assignments[user_id] != name:
                errors.setdefault(f"assign:{name}", f"<@{user_id}> is also given the {assignments[user_id]} role")
            assignments[user_id] = name
    scopes, problem = parse_channel_scopes(_text(values, "channel_scopes"))
    if problem:
        errors["channel_scopes"] = problem
    default_role = str((_state_value(values, "default_role").get("selected_option") or {}).get("value") or "")
    enabled = _multi(values, "enabled_tools")
    overrides: dict[str, Any] = {"chatops_model": _text(values, "model")}
    for name in LIMIT_SETTINGS:
        raw = _text(values, f"limit:{name}")
        overrides[name] = raw if raw else getattr(state.settings, name)
    policy = {
        "default_role": default_role,
        # Keep "every tool" meaning every tool (including ones added later) when nothing was deselected.
        "enabled_tools": list(state.policy.enabled_tools) if _all_kept(state, enabled, tools) else enabled,
        "private_projects": parse_scope(_text(values, "private_projects")),
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
            errors.setdefault(f"assign:{assignments[user_id]}", f"{user_id!r} is not a Slack user id")
    if not checks:
        return errors
    try:
        done, pending = await asyncio.wait(checks, timeout=USER_CHECK_SECONDS)
    finally:
        for task in checks:
            task.cancel()  # the late ones (and all of them when this check itself is cancelled)
    for task, user_id in checks.items():
        problem = task.result() if task in done else messages.config_user_unverified(user_id)
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
            return f"Unknown user {user_id}"
        log_event(logger, "user check failed", logging.WARNING, user=user_id, error=type(exc).__name__)
        return messages.config_user_unverified(user_id)
    except SLACK_FAILURES as exc:
        log_event(logger, "user check failed", logging.WARNING, user=user_id, error=type(exc).__name__)
        return messages.config_user_unverified(user_id)
    if user.get("deleted"):
        return f"<@{user_id}> is deactivated"
    if user.get("is_bot"):
        return f"<@{user_id}> is a bot; roles are for people"
    return None


async def handle_config_submission(
    deps: Deps, client: Any, *, user_id: str, view: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[str]]:
    """Check and save one submission. Returns (ack arguments or None to close the modal, fields changed)."""
    live = live_policy(deps)
    state = await live.current()
    if not state.is_admin(user_id):
        log_event(logger, "config submission refused: not an admin", logging.WARNING, user=user_id)
        await deps.store.record_config_denial(
            user_id=user_id, reason="not an admin", details={"callback_id": view.get("callback_id")}
        )
        return {"response_action": "update", "view": notice_view(messages.config_admin_only())}, []
    opened_at = opened_version(view)
    if opened_at != state.version:
        return {"response_action": "errors", "errors": {"model": messages.config_stale(opened_at, state.version)}}, []
    values = (view.get("state") or {}).get("values") or {}
    proposal, errors = read_proposal(state, values, deps.tools)
    if errors:
        return {"response_action": "errors", "errors": errors}, []
    # Slack and the ticket system are asked at once: the slower of the two bounds the wait before the ack.
    users_checked = asyncio.create_task(check_new_users(client, state, proposal.assignments))
    try:
        catalog = await project_catalog(deps).get_within(CATALOG_SECONDS)
        checked = check_change(state, proposal, tools={t.name: t.effect.value for t in deps.tools}, catalog=catalog)
        for path, message in checked.errors.items():
            errors.setdefault(block_for(path), message)  # the first problem of a block is the one shown
        if not errors:  # people are judged only in an otherwise valid change (one round of errors at a time)
            errors = await users_checked
    finally:
        users_checked.cancel()  # nothing once it finished
    if errors:
        return {"response_action": "errors", "errors": errors}, []
    try:
        version, changes = await apply_change(deps.store, state, checked, actor_id=user_id)
    except Conflict:
        current = await deps.store.config_version()
        return {"response_action": "errors", "errors": {"model": messages.config_stale(opened_at, current)}}, []
    fields = sorted({policy_field_of(c.field) if not c.field.startswith("role:") else c.field for c in changes})
    log_event(logger, "configuration saved", user=user_id, version=version, fields=",".join(fields))
    return None, fields


async def open_config_modal(client: Any, deps: Deps, *, user_id: str, trigger_id: str) -> str | None:
    """Open the modal for an admin; return an ephemeral refusal text for anyone else (None when opened)."""
    state = await live_policy(deps).current()
    if not state.is_admin(user_id):
        log_event(logger, "config modal refused: not an admin", logging.WARNING, user=user_id)
        return messages.config_admin_only()
    try:
        view = build_config_view(state, deps.tools, schedules=await schedule_lines(deps), mcp=deps.mcp)
        await client.views_open(trigger_id=trigger_id, view=view)
    except SLACK_FAILURES as exc:
        log_event(logger, "views.open failed", logging.WARNING, user=user_id, error=type(exc).__name__)
        return messages.config_modal_failed()
    return None


def register_admin_handlers(app: AsyncApp, deps: Deps) -> None:
    """Register the modal's view_submission / block_actions handlers."""

    @app.view(CALLBACK_ID)
    async def on_config_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        user_id = str((body.get("user") or {}).get("id", ""))
        response, fields = await handle_config_submission(deps, client, user_id=user_id, view=view)
        if response is not None:
            await ack(**response)
            return
        await ack()
        state = await live_policy(deps).current()
        try:
            await client.chat_postMessage(channel=user_id, text=messages.config_saved(state.version, fields))
        except SLACK_FAILURES as exc:
            log_event(logger, "could not confirm the saved configuration", logging.WARNING, error=type(exc).__name__)
