"""How a failed run is recorded and told, once the run coordinator (`bot/scheduler/runs.py`) caught the failure.

- Slack refused the post (`ok: false`, a 4xx): nothing was posted, so retry — or pause the schedule when the
  channel is unusable (archived, bot removed).
- A 5xx, a timeout or a dropped connection while posting: Slack may have posted it; recorded, never re-posted.
- A configuration problem (`DigestProblem`): the schedule pauses itself and people are told once.
- A setting only an admin can fix (`bot.errors.Misconfigured`: Jira refusing the bot's credential): the admins get
  the turn's DM (one per problem per hour, `bot/alerts.py`), the run fails with that reason, no retry, no pause.
- Anything else (the ticket system down, a bug): retried after each of `retry_delays`, then given up until the
  next slot; the channel hears each time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal

from slack_sdk.errors import SlackClientError

from bot.errors import BackendError, Misconfigured
from bot.logs import get_logger, log_event
from bot.messages import schedules as schedule_text
from bot.scheduler import jobs
from bot.scheduler.spec import ScheduleSpecError, Timing, build_timing, parse_timezone
from bot.storage.tables import ScheduleRow
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.storage.schedules import RunClaim

_log = get_logger("scheduler.runs")

Outcome = Literal["done", "not_claimed", "lost", "retrying", "failed", "paused", "skipped"]
POSTING_ERRORS_THAT_PAUSE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
)


@dataclass(frozen=True)
class RunResult:
    """How one attempt at a slot ended (for logs and tests)."""

    schedule_id: str
    scheduled_for: datetime
    outcome: Outcome
    message_ts: str | None = None
    retry_at: datetime | None = None
    error: str | None = None


class RunFailures:
    """Records a failed attempt at a slot and tells whom it concerns (see the module docstring)."""

    def __init__(self, deps: Deps, *, retry_delays: tuple[timedelta, ...], now: Callable[[], datetime]) -> None:
        self.deps = deps
        self.retry_delays = retry_delays
        self._now = now

    @property
    def now(self) -> datetime:
        """The coordinator's clock (UTC)."""
        return self._now()

    async def handle(self, schedule: ScheduleRow, claim: RunClaim, exc: Exception) -> RunResult:
        """Record the run that raised `exc` and say how it ended."""
        if isinstance(exc, jobs.DigestProblem):
            return await self.pause(schedule, claim, exc)
        if isinstance(exc, Misconfigured):  # before BackendError: Jira refusing the bot's credential is both
            return await self.misconfigured(schedule, claim, exc)
        if jobs.slack_refused(exc):
            # Slack answered "not ok" (or a 4xx): nothing was posted, so a retry cannot duplicate it.
            error = error_code(exc)
            if error in POSTING_ERRORS_THAT_PAUSE:
                unusable = jobs.DigestProblem("channel_missing", schedule_text.digest_channel_missing(schedule.channel_id or "", error))
                return await self.pause(schedule, claim, unusable)
            return await self.retry_or_fail(schedule, claim, f"Slack error: {error}", schedule_text.failure_slack())
        if await self._was_posting(claim):
            # A 5xx, a timeout or a dropped connection while posting: Slack may have posted it.
            return await self.outcome_unknown(schedule, claim, exc)
        if isinstance(exc, SlackClientError):
            return await self.retry_or_fail(schedule, claim, f"Slack error: {_describe(exc)}", schedule_text.failure_slack())
        reason = schedule_text.failure_backend() if isinstance(exc, BackendError) else schedule_text.failure_internal()
        return await self.retry_or_fail(schedule, claim, _short(exc), reason)

    async def misconfigured(self, schedule: ScheduleRow, claim: RunClaim, problem: Misconfigured) -> RunResult:
        """A setting only an admin can fix (Jira refusing the bot's credential, say): the admins get the same DM as
        from a turn (at most one per problem per hour), the run is recorded as failed with the problem's wording,
        and the channel hears why. No retry (a retry in minutes would meet the same refusal) and no pause (the
        next slot runs as usual once the setting is fixed)."""
        store, slot = self.deps.store, claim.scheduled_for
        error = f"misconfigured: {problem.summary}"
        if not await store.finish_run(claim, status="failed", error=error):
            return RunResult(schedule.id, slot, "lost")
        log_event(
            _log, "run failed: misconfigured", logging.ERROR, schedule=schedule.id, slot=slot.isoformat(),
            problem=problem.problem,
        )  # fmt: skip
        job = f"the scheduled {schedule.kind} {schedule.name!r} (`{schedule.id}`)"
        told = await self.deps.alerts.report(problem, channel=schedule.channel_id, job=job)
        if schedule.kind == "digest" and schedule.channel_id:
            following = _next_slot(schedule, slot)
            zone = parse_timezone(schedule.timezone)
            text = schedule_text.digest_misconfigured(
                schedule.project_key or schedule.name, problem.summary, admins_told=told,
                next_run=_local(following, zone) if following else None,
            )  # fmt: skip
            await self._notify(schedule.channel_id, text)
        return RunResult(schedule.id, slot, "failed", error=error)

    async def outcome_unknown(self, schedule: ScheduleRow, claim: RunClaim, exc: BaseException) -> RunResult:
        """Unknown whether the message went out (5xx, timeout, dropped connection): record it, never re-post."""
        error = f"posting outcome unknown: {_describe(exc)}"
        await self.deps.store.finish_run(claim, status="failed", error=error)
        log_event(
            _log, "digest posting outcome unknown, not re-posted", logging.WARNING, schedule=schedule.id,
            slot=claim.scheduled_for.isoformat(), attempt=claim.attempts, error=_describe(exc),
        )  # fmt: skip
        return RunResult(schedule.id, claim.scheduled_for, "failed", error=error)

    async def _was_posting(self, claim: RunClaim) -> bool:
        run = await self.deps.store.get_run(claim.schedule_id, claim.scheduled_for)
        return run is not None and run.status == "posting" and run.owner == claim.owner

    async def retry_or_fail(
        self, schedule: ScheduleRow, claim: RunClaim, error: str, reason: str
    ) -> RunResult:
        """Record the failure and tell the channel: retrying at a time, or given up until the next slot."""
        store, slot = self.deps.store, claim.scheduled_for
        zone = parse_timezone(schedule.timezone)
        retry_at: datetime | None = None
        if claim.attempts <= len(self.retry_delays):
            retry_at = self.now + self.retry_delays[claim.attempts - 1]
            following = _next_slot(schedule, slot)
            if following is not None and retry_at >= following:
                retry_at = None  # the next regular digest comes first
        log_event(
            _log, "run failed", logging.WARNING, schedule=schedule.id, slot=slot.isoformat(),
            attempt=claim.attempts, error=error, retry_at=retry_at.isoformat() if retry_at else None,
        )  # fmt: skip
        if retry_at is not None:
            # Record the retry before telling the channel, so no other process starts early.
            if not await store.finish_run(claim, status="retrying", error=error, retry_at=retry_at):
                return RunResult(schedule.id, slot, "lost")
            text = schedule_text.digest_failed_retrying(
                reason, schedule.project_key or schedule.name, _local(retry_at, zone)
            )
        else:
            if not await store.finish_run(claim, status="failed", error=error):
                return RunResult(schedule.id, slot, "lost")
            following = _next_slot(schedule, slot)
            text = schedule_text.digest_failed_final(
                reason, schedule.project_key or schedule.name, _local(following, zone) if following else None
            )
        if schedule.kind == "digest" and schedule.channel_id:
            await self._notify(schedule.channel_id, text)
        outcome: Outcome = "retrying" if retry_at is not None else "failed"
        return RunResult(schedule.id, slot, outcome, retry_at=retry_at, error=error)

    async def pause(self, schedule: ScheduleRow, claim: RunClaim, problem: jobs.DigestProblem) -> RunResult:
        """A configuration problem: record it, pause the schedule (no daily error loop), tell people once."""
        store = self.deps.store
        await store.finish_run(claim, status="failed", error=str(problem))
        await store.set_schedule_enabled(
            schedule.id, False, by="scheduler", action="auto_pause", reason=f"{problem.kind}: {problem}"
        )
        log_event(_log, "schedule paused", logging.WARNING, schedule=schedule.id, reason=problem.kind)
        text = schedule_text.digest_paused(schedule.name, schedule.id, str(problem))
        if problem.kind in ("not_visible", "project_missing") and schedule.channel_id:
            await self._notify(schedule.channel_id, text)
        elif schedule.created_by:
            await self._notify(schedule.created_by, text)  # the channel is unusable: tell its creator by DM
        return RunResult(schedule.id, claim.scheduled_for, "paused", error=str(problem))

    async def _notify(self, channel: str, text: str) -> None:
        try:
            await self.deps.require_slack().chat_postMessage(channel=channel, text=text)
        except Exception as exc:  # noqa: BLE001 - a failed notice is logged; the run record already says it all
            log_event(_log, "notice not delivered", logging.WARNING, channel=channel, error=_short(exc))


def _next_slot(schedule: ScheduleRow, slot: datetime) -> datetime | None:
    try:
        timing: Timing = build_timing(schedule.cron, schedule.timezone)
    except ScheduleSpecError:
        return None
    return timing.next_after(slot)


def _local(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%a %H:%M %Z")


def _describe(exc: BaseException) -> str:
    """A Slack failure as its error code and HTTP status (never the whole response), anything else shortened."""
    if isinstance(exc, SLACK_FAILURES):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        return f"{error_code(exc)} (HTTP {status})" if status else error_code(exc)
    return _short(exc)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
