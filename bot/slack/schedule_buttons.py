"""The Schedules buttons of the `/chatops config` modal and the reminders Mute button.

Pause, Resume and Delete act at once and refresh the modal; Edit and Add push the editor
(bot/slack/schedule_editor.py) over it. Admin status is checked from the Slack user id of every click; a refused
click changes nothing, is logged and audited.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.logs import get_logger, log_event
from bot.messages import schedules as schedule_text
from bot.policy.roles import is_admin
from bot.scheduler.jobs import MUTE_ACTION_ID
from bot.slack.admin_view import notice_view, opened_version, refresh_config_view
from bot.slack.payloads import BlockActions
from bot.slack.schedule_editor import Parent, editor_view, register_schedule_editor
from bot.slack.schedules_section import ACTION_PATTERN, ScheduleVerb, verb_of
from bot.slack_api.markdown import escape_mrkdwn
from bot.storage.schedules import ScheduleAction
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps

_log = get_logger("scheduler.slack")


async def handle_config_button(deps: Deps, client: Any, *, body: dict[str, Any]) -> None:
    """A Schedules button in the config modal: Pause/Resume/Delete at once, Edit/Add push the editor."""
    payload = BlockActions.of(body)
    if payload is None or payload.view is None:
        return
    verb = verb_of(payload.action.action_id)
    view, view_id, user_id = payload.view, payload.view.id, payload.user.id
    if verb is None or not view_id:
        return
    schedule_id = None if verb == "add" else (payload.action.value or "")
    if not await is_admin(deps, user_id):
        log_event(_log, "schedule change refused: not an admin", logging.WARNING, user=user_id, action=verb)
        await deps.store.record_config_denial(
            user_id=user_id,
            reason="not an admin",
            details={"action": f"schedule.{verb}", "schedule_id": schedule_id},
        )
        await _update(client, view_id, notice_view(schedule_text.schedule_admin_only_logged()))
        return
    parent = Parent(view_id=view_id, opened_at=opened_version(view))
    if verb in ("add", "edit"):
        editor = await editor_view(client, deps, user_id=user_id, schedule_id=schedule_id, parent=parent)
        note = (
            editor
            if isinstance(editor, str)
            else await _push(client, payload.trigger_id or "", editor)
        )
    else:
        note = await _change(deps, verb, str(schedule_id), by=user_id)
    if note is not None:
        await refresh_config_view(client, deps, view_id=view_id, opened_at=parent.opened_at, note=note)


async def _push(client: Any, trigger_id: str, view: dict[str, Any]) -> str | None:
    """Push the editor over the config modal; None when it opened, else what to tell the admin."""
    try:
        await client.views_push(trigger_id=trigger_id, view=view)
    except SLACK_FAILURES as exc:
        log_event(_log, "schedule editor not pushed", logging.WARNING, error=error_code(exc))
        return schedule_text.schedule_modal_failed()
    return None


async def _change(deps: Deps, verb: ScheduleVerb, schedule_id: str, *, by: str) -> str:
    """Pause, resume or delete (audited by the store); the note shown in the refreshed modal."""
    if verb == "delete":
        deleted = await deps.store.delete_schedule(schedule_id, by=by)
        if deleted is None:
            return schedule_text.schedule_unknown(escape_mrkdwn(schedule_id))
        return schedule_text.schedule_deleted(deleted.id, escape_mrkdwn(deleted.name))
    action: ScheduleAction = "resume" if verb == "resume" else "pause"
    changed = await deps.store.set_schedule_enabled(schedule_id, action == "resume", by=by, action=action)
    if changed is None:
        return schedule_text.schedule_unknown(escape_mrkdwn(schedule_id))
    name = escape_mrkdwn(changed.name)
    if action == "pause":
        return schedule_text.schedule_paused_here(changed.id, name)
    return schedule_text.schedule_resumed(changed.id, name)


async def _update(client: Any, view_id: str, view: dict[str, Any]) -> None:
    try:
        await client.views_update(view_id=view_id, view=view)
    except SLACK_FAILURES as exc:
        log_event(_log, "views.update failed", logging.WARNING, error=error_code(exc))


def register_schedule_handlers(app: AsyncApp, deps: Deps) -> None:
    """Register the schedule editor's submission, the config modal's Schedules buttons and the reminders Mute."""
    register_schedule_editor(app, deps)

    @app.action(ACTION_PATTERN)
    async def _on_config_button(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        await handle_config_button(deps, client, body=body)

    @app.action(MUTE_ACTION_ID)
    async def _on_mute(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        payload = BlockActions.of(body)
        if payload is None:  # the app's middleware already ignores these
            log_event(_log, "malformed mute click ignored", logging.WARNING)
            return
        await deps.store.mute_reminders(payload.user.id, until=None)
        await respond(text=schedule_text.reminders_muted(None), replace_original=False, response_type="ephemeral")
