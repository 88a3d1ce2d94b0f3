"""Slack side of schedules: `/chatops digest ...`, the schedule editor modal, and the reminders Mute button.

The modal and the text commands share one validation (`bot/scheduler/editor.py`); the modal shows its errors
next to each input (`response_action="errors"`). Admin status is checked when the modal opens and again on
submission, from the Slack user id of the request.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from bot import messages
from bot.logs import get_logger, log_event
from bot.policy.roles import role_of
from bot.scheduler.commands import run_command
from bot.scheduler.editor import Draft, save_digest, validate_draft
from bot.scheduler.jobs import MUTE_ACTION_ID
from bot.scheduler.spec import DAYS, describe, name_of

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps

_log = get_logger("scheduler.slack")

CALLBACK_ID = "chatops_schedule_modal"
VALUE = "value"
EVERY_LABELS = {
    "daily": "Every day",
    "weekdays": "Weekdays (Mon–Fri)",
    "weekly": "Once a week",
    "cron": "Cron expression",
}


async def handle_digest_command(
    client: Any, deps: Deps, *, user_id: str, channel_id: str, text: str, trigger_id: str | None = None
) -> str:
    """Handle `/chatops digest <args>`; return the ephemeral reply text (`trigger_id` lets add/edit open the modal)."""
    return await run_command(
        deps, client, user_id=user_id, channel_id=channel_id, text=text, trigger_id=trigger_id
    )


async def open_schedule_modal(
    client: Any,
    deps: Deps,
    *,
    user_id: str,
    trigger_id: str,
    channel_id: str | None = None,
    schedule_id: str | None = None,
) -> str:
    """Open the editor (empty, or filled from `schedule_id`) for an admin; the ephemeral reply text."""
    if await role_of(deps, user_id) != "admin":
        return messages.schedule_admin_only()
    if schedule_id:
        row = await deps.store.get_schedule(schedule_id)
        if row is None:
            return messages.schedule_unknown(schedule_id)
        if row.kind != "digest":
            return messages.schedule_not_digest(schedule_id)
        draft = Draft.of(row)
    else:
        draft = Draft(channel=channel_id or "", timezone=await _user_timezone(client, user_id))
    view = schedule_view(draft, schedule_id=schedule_id, origin=channel_id)
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log_event(_log, "schedule modal not opened", logging.WARNING, error=exc.response.get("error"))
        return messages.schedule_modal_failed()
    return messages.schedule_modal_opened()


async def _user_timezone(client: Any, user_id: str) -> str:
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError:
        return "UTC"
    return str((response.get("user") or {}).get("tz") or "UTC")


def _option(value: str, label: str) -> Option:
    return Option(value=value, label=label)


def schedule_view(draft: Draft, *, schedule_id: str | None, origin: str | None) -> dict[str, Any]:
    """The editor modal, pre-filled from a draft. Block ids are the draft's field names (errors go there)."""
    every_options = [_option(k, v) for k, v in EVERY_LABELS.items()]
    day_options = [_option(d, name_of(i).capitalize()) for i, d in enumerate(DAYS)]
    channel = ConversationSelectElement(
        action_id=VALUE,
        filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
        **(
            {"initial_conversation": draft.channel}
            if draft.channel
            else {"default_to_current_conversation": True}
        ),
    )
    blocks = [
        InputBlock(block_id="project", label="Project key", element=PlainTextInputElement(
            action_id=VALUE, initial_value=draft.project or None, placeholder="OPS", max_length=20)),
        InputBlock(block_id="channel", label="Post to channel", element=channel,
                   hint="The bot must be a member: /invite it first."),
        InputBlock(block_id="every", label="How often", element=StaticSelectElement(
            action_id=VALUE, options=every_options,
            initial_option=next((o for o in every_options if o.value == draft.every), every_options[1]))),
        InputBlock(block_id="time", label="At (not for cron)", optional=True, element=TimePickerElement(
            action_id=VALUE, initial_time=draft.time or "09:00")),
        InputBlock(block_id="day", label="Day (weekly only)", optional=True, element=StaticSelectElement(
            action_id=VALUE, options=day_options,
            initial_option=next((o for o in day_options if o.value == draft.day[:3].lower()), None))),
        InputBlock(block_id="cron", label="Cron (when 'Cron expression')", optional=True,
                   hint="minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5",
                   element=PlainTextInputElement(action_id=VALUE, initial_value=draft.cron or None)),
        InputBlock(block_id="timezone", label="Time zone", element=PlainTextInputElement(
            action_id=VALUE, initial_value=draft.timezone or "UTC", placeholder="Europe/Berlin")),
        InputBlock(block_id="name", label="Name", optional=True, element=PlainTextInputElement(
            action_id=VALUE, initial_value=draft.name or None, max_length=100)),
        InputBlock(block_id="stale_days", label="Stale after (days without update)", element=NumberInputElement(
            action_id=VALUE, is_decimal_allowed=False, initial_value=draft.stale_days or "3", min_value=1,
            max_value=90)),
    ]  # fmt: skip
    view = View(
        type="modal",
        callback_id=CALLBACK_ID,
        title="Edit digest" if schedule_id else "New digest",
        submit="Save",
        close="Cancel",
        blocks=blocks,
        private_metadata=json.dumps({"schedule_id": schedule_id, "origin": origin}),
    )
    return view.to_dict()


def draft_from_state(values: dict[str, Any]) -> Draft:
    """Read a submitted editor's state into a draft."""

    def get(block: str) -> str:
        element = (values.get(block) or {}).get(VALUE) or {}
        for key in ("value", "selected_conversation", "selected_time"):
            if element.get(key):
                return str(element[key])
        selected = element.get("selected_option") or {}
        return str(selected.get("value") or "")

    return Draft(**{field: get(field) for field in ("project", "channel", "every", "time", "day", "cron",
                                                    "timezone", "name", "stale_days")})  # fmt: skip


def register_schedule_handlers(app: AsyncApp, deps: Deps) -> None:
    """Register the schedule editor's submission and the reminders Mute button."""

    @app.view(CALLBACK_ID)
    async def _on_submit(ack: Any, body: dict[str, Any], client: Any, view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        if await role_of(deps, user_id) != "admin":
            await ack(response_action="errors", errors={"project": messages.schedule_admin_only()})
            return
        meta = json.loads(view.get("private_metadata") or "{}")
        schedule_id = meta.get("schedule_id")
        existing = await deps.store.get_schedule(schedule_id) if schedule_id else None
        if schedule_id and existing is None:
            await ack(response_action="errors", errors={"project": messages.schedule_unknown(schedule_id)})
            return
        draft = draft_from_state(view["state"]["values"])
        scope_user = existing.created_by if existing is not None and existing.created_by else user_id
        checked, errors = await validate_draft(deps, client, draft, scope_user=scope_user)
        if checked is None:
            await ack(response_action="errors", errors=errors)
            return
        try:
            row = await save_digest(deps, checked, by=user_id, schedule_id=schedule_id)
        except Exception:  # noqa: BLE001 - keep the form open with its input rather than lose it
            _log.exception("schedule not saved")
            await ack(response_action="errors", errors={"project": messages.schedule_save_failed()})
            return
        await ack()
        when = f"{describe(row.cron)} {row.timezone}"
        text = messages.schedule_saved(
            row.id, row.name, row.channel_id or "", when, "updated" if existing else "added"
        )
        await _tell(client, channel=meta.get("origin") or user_id, user=user_id, text=text)

    @app.action(MUTE_ACTION_ID)
    async def _on_mute(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await deps.store.mute_reminders(body["user"]["id"], until=None)
        await respond(text=messages.reminders_muted(None), replace_original=False, response_type="ephemeral")


async def _tell(client: Any, *, channel: str, user: str, text: str) -> None:
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError:
        await client.chat_postMessage(channel=user, text=text)
