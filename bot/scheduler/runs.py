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
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.logs import get_logger, log_event
from bot.messages import schedules as schedule_text
from bot.scheduler import jobs
from bot.scheduler.run_failures import RunFailures, RunResult
from bot.scheduler.spec import ScheduleSpecError, build_timing, parse_timezone
from bot.storage.retention import as_utc
from bot.storage.tables import ScheduleRow

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.storage.schedules import RunClaim

_log = get_logger("scheduler.runs")



@dataclass(frozen=True)
class RunPolicy:
    """Timings of the exactly-once machinery."""

    lease: timedelta = timedelta(minutes=5)
    """How long a claim holds without renewal; the owner renews every third of it."""
    retry_delays: tuple[timedelta, ...] = (timedelta(minutes=10), timedelta(minutes=30))
    """Delay before each retry of a failed digest; attempts = 1 + len(retry_delays)."""
    grace: timedelta = timedelta(minutes=30)
    """Default misfire grace period (a schedule's `options.grace_minutes` overrides it)."""


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

    def __init__(
        self,
        deps: Deps,
        *,
        expire_approvals: jobs.ApprovalSweep,
        owner: str | None = None,
        policy: RunPolicy | None = None,
    ) -> None:
        self.deps = deps
        self.expire_approvals = expire_approvals
        """The surface's approval sweep (the scheduler never imports a surface)."""
        self.owner = owner or default_owner()
        self.policy = policy or RunPolicy()
        self.failures = RunFailures(deps, retry_delays=self.policy.retry_delays, now=lambda: self.now)

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
                await jobs.housekeeping(self.deps, self.now, expire_approvals=self.expire_approvals)
                await store.finish_run(claim, status="done")
            elif schedule.kind == "approvals":
                await self.expire_approvals(self.deps, self.now)
                await store.finish_run(claim, status="done")
            else:
                await store.finish_run(claim, status="failed", error=f"unknown kind {schedule.kind!r}")
                return RunResult(schedule.id, slot, "failed", error=f"unknown kind {schedule.kind!r}")
            return RunResult(schedule.id, slot, "done")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure becomes a recorded run, never a crash loop
            return await self.failures.handle(schedule, claim, exc)

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
        for run in await self.deps.store.abandon_stale_posting(reason=schedule_text.run_abandoned()):
            log_event(
                _log, "run abandoned", logging.WARNING, schedule=run.schedule_id, slot=str(run.scheduled_for)
            )
        results = []
        for run in await self.deps.store.due_runs():
            schedule = await self.load(run.schedule_id)
            placeholder = schedule or ScheduleRow(id=run.schedule_id, name="", kind="deleted", cron="")
            results.append(await self.run_slot(placeholder, run.scheduled_for))
        return results
