"""Schedules in words: where one posts, when it fires, its next run and a moment in its own time zone.

Shared by every surface that lists schedules (`/chatops digest list`, the Schedules section of the config modal).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.scheduler.spec import ScheduleSpecError, build_timing, describe, parse_timezone
from bot.storage.retention import as_utc
from bot.storage.tables import ScheduleRow


def target_of(row: ScheduleRow) -> str:
    """Where a schedule posts: 'OPS in <#C…>' for a digest, 'DMs to assignees' for reminders."""
    return f"{row.project_key} in <#{row.channel_id}>" if row.kind == "digest" else "DMs to assignees"


def when_of(row: ScheduleRow) -> str:
    """When a schedule fires, in words, with its time zone ('weekdays at 09:00 Europe/Berlin')."""
    return f"{describe(row.cron)} {row.timezone}"


def next_run_of(row: ScheduleRow, now: datetime) -> str | None:
    """The next slot after `now` in the schedule's own time zone; None when paused or invalid."""
    try:
        following = build_timing(row.cron, row.timezone).next_after(now) if row.enabled else None
    except ScheduleSpecError:
        following = None
    return local_time(following, row.timezone) if following else None


def local_time(moment: datetime, zone: str) -> str:
    """`moment` in the time zone `zone` ('Mon 07 Dec 09:00 CET'; UTC when the zone is invalid)."""
    try:
        tz = parse_timezone(zone)
    except ScheduleSpecError:
        tz = UTC
    return as_utc(moment).astimezone(tz).strftime("%a %d %b %H:%M %Z")
