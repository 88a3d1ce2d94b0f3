"""Exactly one run per slot, across processes: claim, lease, post once, retry, misfire catch-up.

Every process may try to run slot `(schedule_id, scheduled_for)`; the database decides who does
(`bot/storage/schedules.py`: unique insert + conditional updates). The owner renews its lease while it works and
flips the run to `posting` (a conditional update) right before it posts, so a process that lost its lease can
never post. An owner that dies before posting is replaced once its lease expires (same slot, attempts + 1); one
that dies while posting is never replaced (`abandoned`): a message is never sent twice.

Misfire rule: the latest slot of each enabled schedule that passed without a run is run once if it is at most
the schedule's grace period old (default 30 minutes), else recorded as `missed` and logged. Older missed slots
are skipped. Slots before the schedule was created, edited or resumed never count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal

from slack_sdk.errors import SlackClientError

from bot import messages
from bot.alerts import report_misconfiguration
from bot.errors import BackendError, Misconfigured
from bot.logs import get_logger, log_event
from bot.scheduler import jobs
from bot.scheduler.spec import ScheduleSpecError, Timing, build_timing, parse_timezone
from bot.slack.client import SLACK_FAILURES
from bot.slack.identity import error_code
from bot.storage.retention import as_utc
from bot.storage.tables import ScheduleRow

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.storage.schedules import RunClaim

_log = get_logger("scheduler.runs")

Outcome = Literal["done", "not_claimed", "lost", "retrying", "failed", "paused", "skipped"]
POSTING_ERRORS_THAT_PAUSE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
)


@dataclass(frozen=True)
class RunPolicy:
    """Timings of the exactly-once machinery."""

    lease: timedelta = timedelta(minutes=5)
    """How long a claim holds without renewal; the owner renews every third of it."""
    retry_delays: tuple[timedelta, ...] = (timedelta(minutes=10), timedelta(minutes=30))
    """Delay before each retry of a failed digest; attempts = 1 + len(retry_delays)."""
    grace: timedelta = timedelta(minutes=30)
    """Default misfire grace period (a schedule's `options.grace_minutes` overrides it)."""


@dataclass(frozen=True)
class RunResult:
    """How one attempt at a slot ended (for logs and tests)."""

    schedule_id: str
    scheduled_for: datetime
    outcome: Outcome
    message_ts: str | None = None
    retry_at: datetime | None = None
    error: str | None = None


HOUSEKEEPING = ScheduleRow(
    id="builtin:housekeeping",
    name="Housekeeping",
    kind="housekeeping",
    cron="17 3 * * *",
    timezone="UTC",
    enabled=True,
    options={"grace_minutes": 23 * 60},
    created_at=datetime(2020, 1, 1, tzinfo=parse_timezone("UTC")),
    updated_at=datetime(2020, 1, 1, tzinfo=parse_timezone("UTC")),
)
"""Built into every process (not stored): retention and vacuum, daily at 03:17 UTC; a day's missed run is caught
up at the next start-up."""
APPROVAL_EXPIRY = ScheduleRow(
    id="builtin:approvals",
    name="Approval expiry",
    kind="approvals",
    cron="*/15 * * * *",
    timezone="UTC",
    enabled=True,
    options={"grace_minutes": 15},
    created_at=HOUSEKEEPING.created_at,
    updated_at=HOUSEKEEPING.updated_at,
)
"""Built in: overdue approvals are declined (and their buttons updated) within 15 minutes of expiring."""
BUILTINS = {HOUSEKEEPING.id: HOUSEKEEPING, APPROVAL_EXPIRY.id: APPROVAL_EXPIRY}


def default_owner() -> str:
    """A process-unique owner name: host, pid and a random suffix (two schedulers in one process differ)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def grace_of(schedule: ScheduleRow, policy: RunPolicy) -> timedelta:
    """The schedule's misfire grace period."""
    minutes = (schedule.options or {}).get("grace_minutes")
    return timedelta(minutes=minutes) if isinstance(minutes, int) and 0 < minutes <= 24 * 60 else policy.grace


class RunCoordinator:
    """Runs slots for one process: claims them, runs the job, records the outcome."""

    def __init__(self, deps: Deps, *, owner: str | None = None, policy: RunPolicy | None = None) -> None:
        self.deps = deps
        self.owner = owner or default_owner()
        self.policy = policy or RunPolicy()

    @property
    def now(self) -> datetime:
        """The deps' clock, in UTC."""
        return as_utc(self.deps.clock())

    async def load(self, schedule_id: str) -> ScheduleRow | None:
        """A stored or built-in schedule."""
        return BUILTINS.get(schedule_id) or await self.deps.store.get_schedule(schedule_id)

    async def run_slot(self, schedule: ScheduleRow, slot: datetime) -> RunResult:
        """Run one slot if this process wins it; every other caller gets `not_claimed`."""
        slot = as_utc(slot)
        claim = await self.deps.store.claim_run(schedule.id, slot, owner=self.owner, lease=self.policy.lease)
        if claim is None:
            return RunResult(schedule.id, slot, "not_claimed")
        log_event(_log, "run claimed", schedule=schedule.id, slot=slot.isoformat(), attempt=claim.attempts)
        fresh = await self.load(schedule.id)
        if fresh is None or not fresh.enabled:
            await self.deps.store.finish_run(claim, status="skipped", error="schedule deleted or paused")
            return RunResult(schedule.id, slot, "skipped")
        heartbeat = asyncio.create_task(self._heartbeat(claim))
        try:
            return await self._run(fresh, claim)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self, claim: RunClaim) -> None:
        """Renew the lease every third of it. A failed renewal is logged and tried again at the next beat: it
        never fails the run (the run's own outcome is what counts; a lease that lapses lets another process
        take over, which the posting claim already guards)."""
        period = self.policy.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            try:
                if not await self.deps.store.renew_lease(claim, lease=self.policy.lease):
                    return
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not fail a run that goes on
                log_event(
                    _log, "lease renewal failed", logging.WARNING,
                    schedule=claim.schedule_id, slot=claim.scheduled_for.isoformat(), error=f"{type(exc).__name__}: {exc}"[:300],
                )  # fmt: skip

    async def _run(self, schedule: ScheduleRow, claim: RunClaim) -> RunResult:
        store, slot = self.deps.store, claim.scheduled_for
        try:
            if schedule.kind == "digest":
                since = self._previous_slot(schedule, slot)

                async def before_post() -> bool:
                    return await store.begin_posting(claim, lease=self.policy.lease)

                ts = await jobs.run_digest(
                    self.deps, schedule, self.now, since=since, before_post=before_post
                )
                if ts is None:
                    log_event(
                        _log, "run lost to another process", schedule=schedule.id, slot=slot.isoformat()
                    )
                    return RunResult(schedule.id, slot, "lost")
                await store.finish_run(claim, status="done", message_ts=ts)
                log_event(_log, "digest posted", schedule=schedule.id, slot=slot.isoformat(), ts=ts)
                return RunResult(schedule.id, slot, "done", message_ts=ts)
            if schedule.kind == "reminders":
                await jobs.send_reminders(self.deps, self.now)
                await store.finish_run(claim, status="done")
            elif schedule.kind == "housekeeping":
                await jobs.housekeeping(self.deps, self.now)
                await store.finish_run(claim, status="done")
            elif schedule.kind == "approvals":
                await jobs.expire_overdue_approvals(self.deps, self.now)
                await store.finish_run(claim, status="done")
            else:
                await store.finish_run(claim, status="failed", error=f"unknown kind {schedule.kind!r}")
                return RunResult(schedule.id, slot, "failed", error=f"unknown kind {schedule.kind!r}")
            return RunResult(schedule.id, slot, "done")
        except jobs.DigestProblem as problem:
            return await self._pause(schedule, claim, problem)
        except Misconfigured as problem:  # before the BackendError below: Jira refusing the bot's credential is both
            return await self._misconfigured(schedule, claim, problem)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure becomes a recorded run, never a crash loop
            if jobs.slack_refused(exc):
                # Slack answered "not ok" (or a 4xx): nothing was posted, so a retry cannot duplicate it.
                error = error_code(exc)
                if error in POSTING_ERRORS_THAT_PAUSE:
                    unusable = jobs.DigestProblem(
                        "channel_missing", messages.digest_channel_missing(schedule.channel_id or "", error)
                    )
                    return await self._pause(schedule, claim, unusable)
                return await self._retry_or_fail(
                    schedule, claim, f"Slack error: {error}", messages.failure_slack()
                )
            if await self._was_posting(claim):
                # A 5xx, a timeout or a dropped connection while posting: Slack may have posted it.
                return await self._outcome_unknown(schedule, claim, exc)
            if isinstance(exc, SlackClientError):
                return await self._retry_or_fail(
                    schedule, claim, f"Slack error: {_describe(exc)}", messages.failure_slack()
                )
            reason = (
                messages.failure_backend() if isinstance(exc, BackendError) else messages.failure_internal()
            )
            return await self._retry_or_fail(schedule, claim, _short(exc), reason)

    async def _misconfigured(self, schedule: ScheduleRow, claim: RunClaim, problem: Misconfigured) -> RunResult:
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
        told = await report_misconfiguration(self.deps, problem, channel=schedule.channel_id, job=job)
        if schedule.kind == "digest" and schedule.channel_id:
            following = _next_slot(schedule, slot)
            zone = parse_timezone(schedule.timezone)
            text = messages.digest_misconfigured(
                schedule.project_key or schedule.name, problem.summary, admins_told=told,
                next_run=_local(following, zone) if following else None,
            )  # fmt: skip
            await self._notify(schedule.channel_id, text)
        return RunResult(schedule.id, slot, "failed", error=error)

    async def _outcome_unknown(self, schedule: ScheduleRow, claim: RunClaim, exc: BaseException) -> RunResult:
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

    def _previous_slot(self, schedule: ScheduleRow, slot: datetime) -> datetime:
        """Where 'new since' starts: the schedule's previous slot (at most a week back)."""
        floor = slot - timedelta(days=7)
        try:
            previous = build_timing(schedule.cron, schedule.timezone).last_at_or_before(
                slot - timedelta(seconds=1)
            )
        except ScheduleSpecError:
            previous = None
        return max(previous, floor) if previous is not None else slot - timedelta(days=1)

    async def _retry_or_fail(
        self, schedule: ScheduleRow, claim: RunClaim, error: str, reason: str
    ) -> RunResult:
        """Record the failure and tell the channel: retrying at a time, or given up until the next slot."""
        store, slot = self.deps.store, claim.scheduled_for
        zone = parse_timezone(schedule.timezone)
        retry_at: datetime | None = None
        if claim.attempts <= len(self.policy.retry_delays):
            retry_at = self.now + self.policy.retry_delays[claim.attempts - 1]
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
            text = messages.digest_failed_retrying(
                reason, schedule.project_key or schedule.name, _local(retry_at, zone)
            )
        else:
            if not await store.finish_run(claim, status="failed", error=error):
                return RunResult(schedule.id, slot, "lost")
            following = _next_slot(schedule, slot)
            text = messages.digest_failed_final(
                reason, schedule.project_key or schedule.name, _local(following, zone) if following else None
            )
        if schedule.kind == "digest" and schedule.channel_id:
            await self._notify(schedule.channel_id, text)
        outcome: Outcome = "retrying" if retry_at is not None else "failed"
        return RunResult(schedule.id, slot, outcome, retry_at=retry_at, error=error)

    async def _pause(self, schedule: ScheduleRow, claim: RunClaim, problem: jobs.DigestProblem) -> RunResult:
        """A configuration problem: record it, pause the schedule (no daily error loop), tell people once."""
        store = self.deps.store
        await store.finish_run(claim, status="failed", error=str(problem))
        await store.set_schedule_enabled(
            schedule.id, False, by="scheduler", action="auto_pause", reason=f"{problem.kind}: {problem}"
        )
        log_event(_log, "schedule paused", logging.WARNING, schedule=schedule.id, reason=problem.kind)
        text = messages.digest_paused(schedule.name, schedule.id, str(problem))
        if problem.kind in ("not_visible", "project_missing") and schedule.channel_id:
            await self._notify(schedule.channel_id, text)
        elif schedule.created_by:
            await self._notify(schedule.created_by, text)  # the channel is unusable: tell its creator by DM
        return RunResult(schedule.id, claim.scheduled_for, "paused", error=str(problem))

    async def _notify(self, channel: str, text: str) -> None:
        try:
            await self.deps.slack.chat_postMessage(channel=channel, text=text)
        except Exception as exc:  # noqa: BLE001 - a failed notice is logged; the run record already says it all
            log_event(_log, "notice not delivered", logging.WARNING, channel=channel, error=_short(exc))

    # ------------------------------------------------------------ misfires and takeovers

    async def catch_up(self, schedules: list[ScheduleRow]) -> list[RunResult]:
        """Apply the misfire rule to each schedule's latest slot (see the module docstring)."""
        now = self.now
        latest: dict[str, tuple[ScheduleRow, datetime]] = {}
        for schedule in schedules:
            if not schedule.enabled:
                continue
            try:
                last = build_timing(schedule.cron, schedule.timezone).last_at_or_before(now)
            except ScheduleSpecError as exc:
                log_event(
                    _log,
                    "schedule has an invalid timing",
                    logging.ERROR,
                    schedule=schedule.id,
                    error=str(exc),
                )
                continue
            if last is not None and last > as_utc(schedule.updated_at):
                latest[schedule.id] = (schedule, last)
        if not latest:
            return []
        since = min(slot for _, slot in latest.values())
        recorded = await self.deps.store.recorded_slots(list(latest), since)
        results: list[RunResult] = []
        for schedule, slot in latest.values():
            if (schedule.id, slot) in recorded:
                continue
            grace = grace_of(schedule, self.policy)
            if now - slot <= grace:
                log_event(_log, "running missed slot", schedule=schedule.id, slot=slot.isoformat())
                results.append(await self.run_slot(schedule, slot))
            else:
                reason = (
                    f"missed: nothing ran it within the grace period ({int(grace.total_seconds() // 60)} min)"
                )
                if await self.deps.store.record_missed(schedule.id, slot, owner=self.owner, reason=reason):
                    log_event(
                        _log,
                        "slot missed, skipped",
                        logging.WARNING,
                        schedule=schedule.id,
                        slot=slot.isoformat(),
                    )
                    results.append(RunResult(schedule.id, slot, "skipped", error=reason))
        return results

    async def sweep(self) -> list[RunResult]:
        """Close runs whose owner died while posting; take over due retries and runs whose owner died."""
        for run in await self.deps.store.abandon_stale_posting(reason=messages.run_abandoned()):
            log_event(
                _log, "run abandoned", logging.WARNING, schedule=run.schedule_id, slot=str(run.scheduled_for)
            )
        results = []
        for run in await self.deps.store.due_runs():
            schedule = await self.load(run.schedule_id)
            placeholder = schedule or ScheduleRow(id=run.schedule_id, name="", kind="deleted", cron="")
            results.append(await self.run_slot(placeholder, run.scheduled_for))
        return results


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
