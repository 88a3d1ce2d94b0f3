"""The admin-only configuration modal behind `/chatops config`.

Opening checks admin rights, then calls `views.open` at once (the trigger is valid for 3 s). Submitting checks
admin rights again (a forged `view_submission` from anyone else changes nothing, is logged and audited), parses
every field, validates the whole configuration (`bot.policy.edit.check_change`: tools, projects, users, the
lock-out rule) and answers invalid values with `response_action: errors` inside the modal. People newly given a
role are checked with users.info, all at once and while the project list loads, within USER_CHECK_SECONDS;
whoever Slack does not confirm in time is a field error, so the ack always comes well inside Slack's 3 s. A valid change is
written in one transaction guarded by the configuration version the modal was opened at, audited per field,
and applies from the next request in every process.

The view is built in bot/slack/admin_view.py, a submission read in bot/slack/admin_form.py. The modal also lists
the MCP servers and the schedules; their buttons act at once, outside Save.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot.errors import Conflict
from bot.logs import get_logger, log_event
from bot.messages import admin as admin_text
from bot.policy.edit import apply_change, check_change, policy_field_of
from bot.slack.admin_form import block_for, check_new_users, read_proposal
from bot.slack.admin_view import CALLBACK_ID, build_config_view, notice_view, opened_version
from bot.slack.payloads import ViewFields, ViewPayload
from bot.slack.schedules_section import schedule_lines
from integrations.slack.failures import SLACK_FAILURES

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps

logger = get_logger("slack.admin")

CATALOG_SECONDS = 1.0
"""Budget for listing projects when the cached list is stale (the longest wait before the ack)."""


async def handle_config_submission(
    deps: Deps, client: Any, *, user_id: str, view: ViewFields
) -> tuple[dict[str, Any] | None, list[str]]:
    """Check and save one submission. Returns (ack arguments or None to close the modal, fields changed)."""
    live = deps.live
    state = await live.current()
    if not state.is_admin(user_id):
        log_event(logger, "config submission refused: not an admin", logging.WARNING, user=user_id)
        await deps.store.record_config_denial(
            user_id=user_id, reason="not an admin", details={"callback_id": view.callback_id}
        )
        return {"response_action": "update", "view": notice_view(admin_text.config_admin_only())}, []
    opened_at = opened_version(view)
    if opened_at != state.version:
        return {"response_action": "errors", "errors": {"model": admin_text.config_stale(opened_at, state.version)}}, []
    proposal, errors = read_proposal(state, view, deps.tools)
    if errors:
        return {"response_action": "errors", "errors": errors}, []
    # Slack and the ticket system are asked at once: the slower of the two bounds the wait before the ack.
    users_checked = asyncio.create_task(check_new_users(client, state, proposal.assignments))
    try:
        catalog = await deps.catalog.get_within(CATALOG_SECONDS)
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
        return {"response_action": "errors", "errors": {"model": admin_text.config_stale(opened_at, current)}}, []
    fields = sorted({policy_field_of(c.field) if not c.field.startswith("role:") else c.field for c in changes})
    log_event(logger, "configuration saved", user=user_id, version=version, fields=",".join(fields))
    return None, fields


async def open_config_modal(client: Any, deps: Deps, *, user_id: str, trigger_id: str) -> str | None:
    """Open the modal for an admin; return an ephemeral refusal text for anyone else (None when opened)."""
    state = await deps.live.current()
    if not state.is_admin(user_id):
        log_event(logger, "config modal refused: not an admin", logging.WARNING, user=user_id)
        return admin_text.config_admin_only()
    try:
        view = build_config_view(state, deps.tools, schedules=await schedule_lines(deps), mcp=deps.mcp)
        await client.views_open(trigger_id=trigger_id, view=view)
    except SLACK_FAILURES as exc:
        log_event(logger, "views.open failed", logging.WARNING, user=user_id, error=type(exc).__name__)
        return admin_text.config_modal_failed()
    return None


def register_admin_handlers(app: AsyncApp, deps: Deps) -> None:
    """Register the modal's view_submission / block_actions handlers."""

    @app.view(CALLBACK_ID)
    async def on_config_submit(ack: Any, body: dict[str, Any], client: Any) -> None:
        payload = ViewPayload.of(body)
        if payload is None:  # the app's middleware already ignores these
            log_event(logger, "malformed config submission ignored", logging.WARNING)
            await ack()
            return
        user_id = payload.user.id
        response, fields = await handle_config_submission(deps, client, user_id=user_id, view=payload.view)
        if response is not None:
            await ack(**response)
            return
        await ack()
        state = await deps.live.current()
        try:
            await client.chat_postMessage(channel=user_id, text=admin_text.config_saved(state.version, fields))
        except SLACK_FAILURES as exc:
            log_event(logger, "could not confirm the saved configuration", logging.WARNING, error=type(exc).__name__)
