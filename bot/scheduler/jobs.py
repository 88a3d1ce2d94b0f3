"""The scheduled jobs: plain async functions of `(deps, ..., now)`. They know nothing about APScheduler or run
claims (`bot/scheduler/runs.py` decides who runs what, once); tests call them with a fixed `now`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, MarkdownTextObject, SectionBlock

from bot.errors import ConfigError
from bot.logs import get_logger, log_event
from bot.messages import schedules as schedule_text
from bot.scheduler.digest import Digest, collect_digest, digest_blocks, headline, ticket_lines
from bot.scheduler.spec import parse_timezone
from bot.slack_api.channel_kinds import channel_type_from_info
from bot.tools.base import Actor, ChannelType
from integrations.slack.failures import SLACK_FAILURES, error_code
from integrations.tickets.base import Person, Ticket, TicketQuery

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.storage.tables import ScheduleRow

_log = get_logger("scheduler.jobs")

DEFAULT_STALE_DAYS = 3
REMINDERS_ID = "reminders"
"""The one reminders schedule: when DMs go out, and `options.projects` = {project: days without update}."""
MUTE_ACTION_ID = "chatops_reminders_mute"
DEDUPE_KEEP = timedelta(days=2)
"""Slack stops retrying a delivery after minutes; two days of dedupe rows is plenty."""
REMINDER_ROWS_KEEP = timedelta(days=7)
APPROVAL_KEEP = timedelta(days=1)
"""Approval rows are kept this long after they expire (late clicks then get 'expired', not 'unknown')."""

ProblemKind = Literal["channel_missing", "not_in_channel", "not_visible", "project_missing"]
BeforePost = Callable[[], Awaitable[bool]]


class DigestProblem(ConfigError):
    """The digest's configuration is wrong (retrying will not help): the schedule should be paused."""

    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def slack_refused(exc: BaseException) -> bool:
    """True when Slack's answer proves the call was not applied: an `ok: false` answer or a 4xx (a 429 too).

    A 5xx, a dropped connection or a timeout may come after Slack applied the call: the outcome is unknown."""
    return isinstance(exc, SlackApiError) and exc.response is not None and exc.response.status_code < 500


@dataclass(frozen=True)
class ChannelInfo:
    """What the digest needs to know about its channel."""

    channel_id: str
    channel_type: ChannelType
    is_member: bool


async def channel_info(client: Any, channel_id: str) -> ChannelInfo:
    """conversations.info, mapped; DigestProblem when the channel is gone or hidden from the bot."""
    try:
        response = await client.conversations_info(channel=channel_id)
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        if error in ("channel_not_found", "not_in_channel", "is_archived"):
            raise DigestProblem(
                "channel_missing", schedule_text.digest_channel_missing(channel_id, error)
            ) from None
        raise
    channel = response.get("channel") or {}
    if channel.get("is_archived"):
        raise DigestProblem("channel_missing", schedule_text.digest_channel_missing(channel_id, "is_archived"))
    kind: ChannelType = channel_type_from_info(channel)
    return ChannelInfo(channel_id, kind, bool(channel.get("is_member", kind == "im")))


def stale_days_of(schedule: ScheduleRow) -> int:
    """The schedule's 'stale after N days' option."""
    value = (schedule.options or {}).get("stale_days", DEFAULT_STALE_DAYS)
    return (
        int(value)
        if isinstance(value, int | str) and str(value).isdigit() and int(value) > 0
        else DEFAULT_STALE_DAYS
    )


async def build_schedule_digest(
    deps: Deps, schedule: ScheduleRow, now: datetime, *, since: datetime
) -> Digest:
    """Check the digest may be built (channel, scope, project) and build it; DigestProblem or BackendError."""
    project = schedule.project_key or ""
    channel = await channel_info(deps.slack, schedule.channel_id or "")
    if not channel.is_member:
        raise DigestProblem("not_in_channel", schedule_text.digest_not_in_channel(channel.channel_id))
    projects = {p.key for p in await deps.tickets.list_projects()}
    if project not in projects:
        raise DigestProblem("project_missing", schedule_text.digest_project_missing(project))
    actor = Actor(
        user_id=schedule.created_by or "", channel_id=channel.channel_id, channel_type=channel.channel_type
    )
    visible = await deps.authorizer.visible_projects(actor)
    if visible is not None and project not in visible:
        raise DigestProblem("not_visible", schedule_text.digest_not_visible(project, channel.channel_id))
    return await collect_digest(
        deps.tickets, project=project, now=now, since=since, stale_days=stale_days_of(schedule)
    )


async def run_digest(
    deps: Deps,
    schedule: ScheduleRow,
    now: datetime,
    *,
    since: datetime | None = None,
    before_post: BeforePost | None = None,
) -> str | None:
    """Build the schedule's digest and post it to its channel; the message ts, or None when `before_post`
    said this process may no longer post. Raises DigestProblem, bot.errors.BackendError or SlackApiError."""
    digest = await build_schedule_digest(deps, schedule, now, since=since or now - timedelta(days=1))
    if before_post is not None and not await before_post():
        return None
    response = await deps.require_slack().chat_postMessage(
        channel=schedule.channel_id or "",
        text=headline(digest),
        blocks=digest_blocks(digest, title=schedule.name),
        unfurl_links=False,
        unfurl_media=False,
    )
    return str(response["ts"])


# ---------------------------------------------------------------- reminders


@dataclass
class ReminderReport:
    """What one reminders run did."""

    sent: list[str] = field(default_factory=list)
    muted: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    """Users whose DM may or may not have gone out (5xx, dropped connection): not retried that day."""


async def send_reminders(deps: Deps, now: datetime) -> ReminderReport:
    """DM each assignee the tickets with no update for N days (N per project), at most once a day each."""
    report = ReminderReport()
    schedule = await deps.store.get_schedule(REMINDERS_ID)
    rules = _reminder_rules(schedule)
    if schedule is None or not schedule.enabled or not rules:
        return report
    day = now.astimezone(parse_timezone(schedule.timezone)).date().isoformat()
    people: dict[str, tuple[Person, list[Ticket]]] = {}
    for project, days in sorted(rules.items()):
        query = TicketQuery(
            projects=(project,),
            status_categories=("todo", "in_progress"),
            updated_before=now - timedelta(days=days),
            order_by="updated",
            descending=False,
            limit=100,
        )
        for ticket in (await deps.tickets.search_tickets(query)).tickets:
            if ticket.assignee is not None:
                people.setdefault(ticket.assignee.id, (ticket.assignee, []))[1].append(ticket)
    muted = await deps.store.muted_users()
    for person, tickets in people.values():
        await _remind(deps, person, tickets, now=now, day=day, muted=muted, report=report)
    log_event(
        _log, "reminders sent", sent=len(report.sent), muted=len(report.muted), unmapped=len(report.unmapped),
        failed=len(report.failed), uncertain=len(report.uncertain),
    )  # fmt: skip
    return report


def _reminder_rules(schedule: ScheduleRow | None) -> dict[str, int]:
    raw = ((schedule.options or {}).get("projects") if schedule is not None else None) or {}
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, int) and v > 0}


async def _remind(
    deps: Deps,
    person: Person,
    tickets: list[Ticket],
    *,
    now: datetime,
    day: str,
    muted: set[str],
    report: ReminderReport,
) -> None:
    user_id = await slack_user_of(deps, person)
    if user_id is None:
        report.unmapped.append(person.id)
        return
    if user_id in muted:
        report.muted.append(user_id)
        return
    visible = await deps.authorizer.visible_projects(Actor(user_id=user_id, channel_type="im"))
    shown = [t for t in tickets if visible is None or t.project in visible]
    if not shown:
        return
    if not await deps.store.claim_reminder(user_id, day):
        report.already.append(user_id)
        return
    try:
        await deps.require_slack().chat_postMessage(
            channel=user_id, text=schedule_text.reminder_text(len(shown)), blocks=reminder_blocks(shown, now=now)
        )
    except SLACK_FAILURES as exc:
        if slack_refused(exc):
            # Slack answered "no": nothing was delivered, so give the day's claim back for a later run.
            await deps.store.release_reminder(user_id, day)
            report.failed.append(user_id)
            log_event(_log, "reminder not delivered", logging.WARNING, user=user_id, error=error_code(exc))
        else:
            # Slack may have delivered it: keep the day's claim, so no later run sends it twice.
            report.uncertain.append(user_id)
            log_event(
                _log, "reminder outcome unknown, not resent today", logging.WARNING, user=user_id,
                error=error_code(exc),
            )  # fmt: skip
        return
    report.sent.append(user_id)


async def slack_user_of(deps: Deps, person: Person) -> str | None:
    """The Slack user of a ticket-backend person: stored mapping first, then users.lookupByEmail."""
    known = await deps.store.slack_user_for_person(person.id)
    if known or not person.email:
        return known
    try:
        response = await deps.require_slack().users_lookupByEmail(email=person.email)
    except SLACK_FAILURES as exc:
        log_event(
            _log, "users.lookupByEmail failed", logging.WARNING, person=person.id, error=error_code(exc)
        )
        return None
    return str((response.get("user") or {}).get("id") or "") or None


def reminder_blocks(tickets: list[Ticket], *, now: datetime) -> list[dict[str, Any]]:
    """The reminder DM: the tickets, and a Mute button."""
    lines = ticket_lines(tickets[:20], now=now)
    if len(tickets) > 20:
        lines.append(f"…and {len(tickets) - 20} more")
    text = schedule_text.reminder_text(len(tickets)) + "\n" + "\n".join(lines)
    mute = ButtonElement(text=schedule_text.reminder_mute_button(), action_id=MUTE_ACTION_ID, value="mute")
    blocks = [SectionBlock(text=MarkdownTextObject(text=text[:2900])), ActionsBlock(elements=[mute])]
    return [b.to_dict() for b in blocks]


# ---------------------------------------------------------------- housekeeping


ApprovalSweep = Callable[["Deps", datetime], Awaitable[int]]
"""Declines approvals past their expiry and tells the requester (the Slack surface gives its own:
`bot.slack.approvals_ui.expire_approvals`, which updates the buttons and posts the continued answer)."""


async def housekeeping(deps: Deps, now: datetime, *, expire_approvals: ApprovalSweep) -> dict[str, int]:
    """Retention of conversations and traces; expired approvals declined (through `expire_approvals`); vacuum of
    old approvals, dedupe rows and run history."""
    cutoff = now - timedelta(days=deps.settings.chatops_retention_days)
    counts: dict[str, int] = {}
    counts.update(await deps.store.purge_conversations(before=cutoff))
    counts.update(await deps.store.purge_answers(before=cutoff, contexts_before=now - timedelta(days=1)))
    counts["expired_approvals"] = await expire_approvals(deps, now)
    counts["approvals_deleted"] = await deps.store.purge_approvals(expired_before=now - APPROVAL_KEEP)
    counts["processed_events"] = await deps.store.forget_deliveries(older_than=now - DEDUPE_KEEP)
    counts.update(
        await deps.store.purge_schedule_history(runs_before=cutoff, reminders_before=now - REMINDER_ROWS_KEEP)
    )
    log_event(_log, "housekeeping done", **counts)
    return counts

