"""The digest schedule editor modal: opening it, its view, reading and saving a submission.

The editor and the text commands (bot/slack/schedule_commands.py) share one validation
(`bot/scheduler/drafts.py`); the editor shows its errors next to each input (`response_action="errors"`). The
editor opens on its own (`/chatops digest add`) or is pushed on top of the config modal (its Edit and Add buttons,
bot/slack/schedule_buttons.py); then saving it refreshes the config modal. Admin status is checked from the Slack
user id of every request: opening and each submission. A refused attempt changes nothing, is logged and audited.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

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

from bot.logs import get_logger, log_event
from bot.messages import schedules as schedule_text
from bot.policy.roles import role_of
from bot.scheduler.drafts import Draft, new_schedule_id, save_digest, validate_draft
from bot.scheduler.jobs import slack_refused
from bot.scheduler.spec import DAYS, describe, name_of
from bot.slack.admin_view import refresh_config_view
from bot.slack.payloads import ViewFields, ViewPayload
from bot.slack_api.markdown import escape_mrkdwn
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps

_log = get_logger("scheduler.slack")

CALLBACK_ID = "chatops_schedule_modal"
VALUE = "value"


@dataclass(frozen=True)
class Parent:
    """The config modal an editor was pushed over: its view id and the configuration version it was opened at."""

    view_id: str
    opened_at: int


EVERY_LABELS = {
    "daily": "Every day",
    "weekdays": "Weekdays (Mon–Fri)",
    "weekly": "Once a week",
    "cron": "Cron expression",
}


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
        return schedule_text.schedule_admin_only()
    view = await editor_view(client, deps, user_id=user_id, schedule_id=schedule_id, channel_id=channel_id)
    if isinstance(view, str):
        return view
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SLACK_FAILURES as exc:
        log_event(_log, "schedule modal not opened", logging.WARNING, error=error_code(exc))
        return schedule_text.schedule_modal_failed()
    return schedule_text.schedule_modal_opened()


async def editor_view(
    client: Any,
    deps: Deps,
    *,
    user_id: str,
    schedule_id: str | None,
    channel_id: str | None = None,
    parent: Parent | None = None,
) -> dict[str, Any] | str:
    """The editor view for a new or an existing digest, or the text saying why there is none."""
    if schedule_id:
        row = await deps.store.get_schedule(schedule_id)
        if row is None:
            return schedule_text.schedule_unknown(schedule_id)
        if row.kind != "digest":
            return schedule_text.schedule_not_digest(schedule_id)
        draft = Draft.of(row)
    else:
        draft = Draft(channel=channel_id or "", timezone=await _user_timezone(client, user_id))
    return schedule_view(draft, schedule_id=schedule_id, origin=channel_id, parent=parent)


async def _user_timezone(client: Any, user_id: str) -> str:
    try:
        response = await client.users_info(user=user_id)
    except SLACK_FAILURES as exc:
        log_event(_log, "users.info failed, editor starts in UTC", logging.WARNING, error=error_code(exc))
        return "UTC"
    return str((response.get("user") or {}).get("tz") or "UTC")


def _option(value: str, label: str) -> Option:
    return Option(value=value, label=label)


def schedule_view(
    draft: Draft, *, schedule_id: str | None, origin: str | None, parent: Parent | None = None
) -> dict[str, Any]:
    """The editor modal, pre-filled from a draft. Block ids are the draft's field names (errors go there).

    `parent` is the config modal it was pushed over (refreshed after a save)."""
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
        private_metadata=json.dumps(
            {"schedule_id": schedule_id, "origin": origin, "parent": asdict(parent) if parent else None}
        ),
    )
    return view.to_dict()


@dataclass(frozen=True)
class EditorMetadata:
    """What the editor keeps in its private_metadata: the schedule edited, where it was opened, the config modal
    under it. A field that is missing or of the wrong type (a forged view) reads as None."""

    schedule_id: str | None = None
    origin: str | None = None
    parent: Parent | None = None

    @classmethod
    def of(cls, view: ViewFields) -> EditorMetadata:
        meta = view.metadata()
        schedule_id, origin, parent = meta.get("schedule_id"), meta.get("origin"), meta.get("parent")
        parent_view = parent.get("view_id") if isinstance(parent, dict) else None
        opened_at = parent.get("opened_at", -1) if isinstance(parent, dict) else -1
        return cls(
            schedule_id=schedule_id if isinstance(schedule_id, str) else None,
            origin=origin if isinstance(origin, str) else None,
            parent=Parent(view_id=parent_view, opened_at=opened_at if type(opened_at) is int else -1)
            if isinstance(parent_view, str) and parent_view
            else None,
        )


def draft_from_state(view: ViewFields) -> Draft:
    """Read a submitted editor's state into a draft."""

    def get(block: str) -> str:
        element = view.element(block, VALUE)
        for value in (element.value, element.selected_conversation, element.selected_time):
            if value:
                return value
        return element.selected_option.value if element.selected_option is not None else ""

    return Draft(**{field: get(field) for field in ("project", "channel", "every", "time", "day", "cron",
                                                    "timezone", "name", "stale_days")})  # fmt: skip


def register_schedule_editor(app: AsyncApp, deps: Deps) -> None:
    """Register the schedule editor's submission."""

    @app.view(CALLBACK_ID)
    async def _on_submit(ack: Any, body: dict[str, Any], client: Any) -> None:
        payload = ViewPayload.of(body)
        if payload is None:  # the app's middleware already ignores these
            log_event(_log, "malformed schedule submission ignored", logging.WARNING)
            await ack()
            return
        user_id, view = payload.user.id, payload.view
        meta = EditorMetadata.of(view)  # None fields when missing or forged
        if await role_of(deps, user_id) != "admin":
            await ack(response_action="errors", errors={"project": schedule_text.schedule_admin_only()})
            log_event(
                _log, "schedule change refused: not an admin", logging.WARNING, user=user_id, action="save"
            )
            await deps.store.record_config_denial(
                user_id=user_id,
                reason="not an admin",
                details={"action": "schedule.save", "schedule_id": meta.schedule_id},
            )
            return
        schedule_id = meta.schedule_id
        existing = await deps.store.get_schedule(schedule_id) if schedule_id else None
        if schedule_id and existing is None:
            await ack(response_action="errors", errors={"project": schedule_text.schedule_unknown(schedule_id)})
            return
        draft = draft_from_state(view)
        scope_user = existing.created_by if existing is not None and existing.created_by else user_id
        checked, errors = await validate_draft(deps, client, draft, scope_user=scope_user)
        if checked is None:
            await ack(response_action="errors", errors=errors)
            return
        # A new schedule's id comes from the modal's view id: when our ack missed Slack's 3 s and the admin submits
        # the same modal again, the second submission finds the first one's row instead of adding a duplicate.
        new_id = None if existing is not None else schedule_id_for_view(payload.team.id if payload.team else None, view.id)
        if new_id is not None and (taken := await deps.store.get_schedule(new_id)) is not None:
            if taken.created_by == user_id:
                await ack()
                log_event(_log, "schedule resubmission: already saved", schedule_id=new_id, user=user_id)
                return
            new_id = new_schedule_id()  # another schedule has this id (7 hex digits collide, rarely)
        try:
            row = await save_digest(deps, checked, by=user_id, schedule_id=schedule_id or new_id)
        except Exception:  # noqa: BLE001 - keep the form open with its input rather than lose it
            if new_id is not None and await _saved_by_earlier_submission(deps, new_id, user_id):
                await ack()  # a concurrent submission of the same modal saved it first
                return
            _log.exception("schedule not saved")
            await ack(response_action="errors", errors={"project": schedule_text.schedule_save_failed()})
            return
        await ack()
        when = f"{describe(row.cron)} {row.timezone}"
        text = schedule_text.schedule_saved(
            row.id, escape_mrkdwn(row.name), row.channel_id or "", when, "updated" if existing else "added"
        )
        if meta.parent is not None:
            # Pushed over the config modal: the ack closed the editor; the list underneath shows the change.
            await refresh_config_view(
                client, deps, view_id=meta.parent.view_id, opened_at=meta.parent.opened_at, note=text
            )
            return
        await _tell(client, channel=meta.origin or user_id, user=user_id, text=text)



def schedule_id_for_view(team_id: str | None, view_id: str) -> str:
    """The id a new schedule gets from the modal that creates it: 'd' + 7 hex digits of its team and view id (the
    same for every submission of that modal), or a fresh id when the view has none."""
    if not view_id:
        return new_schedule_id()
    return "d" + hashlib.sha256(f"{team_id}:{view_id}".encode()).hexdigest()[:7]


async def _saved_by_earlier_submission(deps: Deps, schedule_id: str, user_id: str) -> bool:
    """Whether `schedule_id` was already created by this admin (an earlier submission of the same modal)."""
    row = await deps.store.get_schedule(schedule_id)
    return row is not None and row.created_by == user_id


async def _tell(client: Any, *, channel: str, user: str, text: str) -> None:
    """Tell `user` in `channel` (ephemeral); by DM only when Slack refused that, so nobody is told twice."""
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
        return
    except SLACK_FAILURES as exc:
        if not slack_refused(exc):
            # a 5xx or a dropped connection: it may have been shown; the saved schedule is in the list anyway
            log_event(_log, "confirmation may not have been shown", logging.WARNING, error=error_code(exc))
            return
        log_event(
            _log, "ephemeral confirmation refused, sending a DM", logging.WARNING, error=error_code(exc)
        )
    try:
        await client.chat_postMessage(channel=user, text=text)
    except SLACK_FAILURES as exc:
        log_event(_log, "confirmation not delivered", logging.WARNING, user=user, error=error_code(exc))
