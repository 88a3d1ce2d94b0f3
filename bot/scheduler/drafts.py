"""Adding and editing digest schedules: one draft, validated field by field, saved audited.

The same validation serves the text commands and the modal: `validate_draft` returns `{field: message}` for
every problem it finds (invalid cron, unknown time zone, a channel the bot is not in, a project that does not
exist or that the channel may not show), so the modal can show each next to its input.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.errors import ChatopsError
from bot.messages import schedules as schedule_text
from bot.scheduler.jobs import DEFAULT_STALE_DAYS, DigestProblem, channel_info
from bot.scheduler.spec import EVERY, ScheduleSpecError, build_timing, to_cron
from bot.storage.tables import ScheduleRow
from bot.tools.base import Actor
from integrations.slack.failures import SLACK_FAILURES, error_code
from integrations.tickets.keys import project_key

if TYPE_CHECKING:
    from bot.deps import Deps

FIELDS = ("name", "project", "channel", "every", "time", "day", "cron", "timezone", "stale_days")
CHECK_TIMEOUT = 2.5
"""Seconds allowed for checking the project with the ticket backend (a modal must be answered within 3 s)."""


@dataclass(frozen=True)
class Draft:
    """What an admin asked for; strings as typed, validated by `validate_draft`."""

    project: str = ""
    channel: str = ""
    every: str = "weekdays"
    time: str = "09:00"
    day: str = ""
    cron: str = ""
    timezone: str = "UTC"
    name: str = ""
    stale_days: str = str(DEFAULT_STALE_DAYS)

    @classmethod
    def of(cls, row: ScheduleRow) -> Draft:
        """The draft that would produce this schedule (for editing)."""
        options = row.options or {}
        return cls(
            project=row.project_key or "",
            channel=row.channel_id or "",
            every=str(options.get("every", "cron")),
            time=str(options.get("time", "")),
            day=str(options.get("day", "")),
            cron=row.cron,
            timezone=row.timezone,
            name=row.name,
            stale_days=str(options.get("stale_days", DEFAULT_STALE_DAYS)),
        )

    def merged(self, changes: dict[str, str]) -> Draft:
        """A copy with some fields replaced; giving a time form clears a stored cron, and vice versa."""
        if "every" in changes and changes["every"] != "cron":
            changes = {"cron": "", **changes}
        return replace(self, **{k: v for k, v in changes.items() if k in FIELDS})


@dataclass(frozen=True)
class Checked:
    """A valid draft: what to store."""

    project: str
    channel_id: str
    cron: str
    timezone: str
    name: str
    options: dict[str, Any]


async def validate_draft(
    deps: Deps, client: Any, draft: Draft, *, scope_user: str
) -> tuple[Checked | None, dict[str, str]]:
    """Check every field; (Checked, {}) when valid, else (None, {field: message}).

    `scope_user` is whose channel scope the digest runs with: its creator (the admin adding it)."""
    errors: dict[str, str] = {}
    project = project_key(draft.project) or draft.project.strip()
    if project_key(project) is None:
        errors["project"] = schedule_text.schedule_bad_project_key(draft.project)
    stale = draft.stale_days.strip() or str(DEFAULT_STALE_DAYS)
    if not stale.isdigit() or not 1 <= int(stale) <= 90:
        errors["stale_days"] = schedule_text.schedule_bad_stale_days(draft.stale_days)
    if draft.every not in EVERY:
        errors["every"] = schedule_text.schedule_bad_every(draft.every)
    cron = ""
    timezone = draft.timezone.strip() or "UTC"
    if "every" not in errors:
        try:
            cron = to_cron(draft.every, time=draft.time, day=draft.day, cron=draft.cron)
            timezone = build_timing(cron, timezone).timezone
        except ScheduleSpecError as exc:
            errors[exc.field] = str(exc)
    if "project" not in errors:
        await _check_project(deps, project, errors)
    channel_id = _channel_id(draft.channel)
    if not channel_id:
        errors["channel"] = schedule_text.schedule_bad_channel(draft.channel)
    else:
        await _check_channel(deps, client, channel_id, project, scope_user=scope_user, errors=errors)
    name = " ".join(draft.name.split())[:100] or f"{project} digest"
    if errors:
        return None, errors
    options: dict[str, Any] = {"stale_days": int(stale), "every": draft.every}
    if draft.every != "cron":
        options["time"] = draft.time.strip()
        if draft.every == "weekly":
            options["day"] = draft.day.strip().lower()[:3]
    return Checked(project, channel_id, cron, timezone, name, options), {}


def _channel_id(text: str) -> str:
    """A channel id from `<#C123|name>`, `<#C123>` or `C123`; '' when it is none of those."""
    text = text.strip()
    match = re.fullmatch(r"<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>", text) or re.fullmatch(
        r"([CGD][A-Z0-9]{2,})", text
    )
    return match.group(1) if match else ""


async def _check_channel(
    deps: Deps, client: Any, channel_id: str, project: str, *, scope_user: str, errors: dict[str, str]
) -> None:
    try:
        info = await channel_info(client, channel_id)
    except DigestProblem:
        errors["channel"] = schedule_text.schedule_channel_unknown(channel_id)
        return
    except SLACK_FAILURES as exc:  # Slack down or refusing: say so on the field, keep the form
        errors["channel"] = schedule_text.schedule_channel_check_failed(error_code(exc))
        return
    if not info.is_member:
        errors["channel"] = schedule_text.digest_not_in_channel(channel_id)
        return
    if "project" in errors:
        return
    actor = Actor(user_id=scope_user, channel_id=channel_id, channel_type=info.channel_type)
    visible = await deps.authorizer.visible_projects(actor)
    if visible is not None and project not in visible:
        errors["project"] = schedule_text.digest_not_visible(project, channel_id)


async def _check_project(deps: Deps, project: str, errors: dict[str, str]) -> None:
    try:
        projects = await asyncio.wait_for(deps.tickets.list_projects(), CHECK_TIMEOUT)
    except TimeoutError:
        errors["project"] = schedule_text.schedule_project_check_failed("the ticket system is slow")
        return
    except ChatopsError as exc:
        errors["project"] = schedule_text.schedule_project_check_failed(str(exc))
        return
    if project not in {p.key for p in projects}:
        errors["project"] = schedule_text.digest_project_missing(project)


async def save_digest(
    deps: Deps, checked: Checked, *, by: str, schedule_id: str | None = None, enabled: bool = True
) -> ScheduleRow:
    """Store a new or edited digest schedule (audited)."""
    existing = await deps.store.get_schedule(schedule_id) if schedule_id else None
    row = ScheduleRow(
        id=schedule_id or new_schedule_id(),
        name=checked.name,
        kind="digest",
        channel_id=checked.channel_id,
        project_key=checked.project,
        cron=checked.cron,
        timezone=checked.timezone,
        enabled=existing.enabled if existing is not None else enabled,
        options=checked.options,
        created_by=existing.created_by if existing is not None else by,
    )
    return await deps.store.save_schedule(row, by=by, action="edit" if existing is not None else "add")


def new_schedule_id() -> str:
    """A short id admins can type: 'd' + 7 hex digits."""
    return "d" + uuid.uuid4().hex[:7]
