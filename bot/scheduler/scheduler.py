"""APScheduler wiring, nothing else: stored schedules become `AsyncIOScheduler` cron jobs in this process.

Each enabled schedule (plus the built-in housekeeping) is one job whose trigger is its cron expression in its
time zone. A job only names the schedule; when it fires, `RunCoordinator.run_slot` decides in the database
whether this process runs the slot. A periodic tick reloads the jobs when the schedules' fingerprint changed,
takes over due retries and runs whose owner died, and applies the misfire rule (also once at start-up).

    scheduler = await start_scheduler(deps, expire_approvals=sweep)   # on deps.scheduler, the process's APScheduler
    ...
    await stop_scheduler(deps)
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.logs import get_logger, log_event
from bot.scheduler.jobs import ApprovalSweep
from bot.scheduler.runs import BUILTINS, RunCoordinator, RunResult, grace_of
from bot.scheduler.spec import ScheduleSpecError, build_timing
from bot.storage.tables import ScheduleRow

if TYPE_CHECKING:
    from bot.deps import Deps

_log = get_logger("scheduler")

TICK_JOB_ID = "chatops:tick"


class ChatopsScheduler:
    """This process's scheduler: APScheduler jobs mirroring the stored schedules."""

    def __init__(
        self,
        deps: Deps,
        *,
        coordinator: RunCoordinator,
        tick: timedelta = timedelta(seconds=30),
        aps: AsyncIOScheduler | None = None,
    ) -> None:
        self.deps = deps
        self.coordinator = coordinator
        self.tick_every = tick
        self.aps = aps if aps is not None else AsyncIOScheduler(timezone=UTC)
        self._version: str | None = None
        self._signatures: dict[str, tuple[str, str]] = {}

    async def start(self, *, paused: bool = False) -> None:
        """Load the schedules, start APScheduler, and run (or record as missed) slots missed while down."""
        await self.reload()
        self.aps.add_job(
            self.tick, IntervalTrigger(seconds=self.tick_every.total_seconds()), id=TICK_JOB_ID,
            coalesce=True, max_instances=1, replace_existing=True,
        )  # fmt: skip
        self.aps.start(paused=paused)
        log_event(_log, "scheduler started", owner=self.coordinator.owner, jobs=len(self._signatures))
        await self.catch_up()

    async def stop(self) -> None:
        """Stop firing jobs. A run in progress keeps its claim until its lease expires (another process may
        then take it over if it had not started posting)."""
        if self.aps.running:
            self.aps.shutdown(wait=False)

    async def reload(self, *, force: bool = False) -> bool:
        """Mirror the stored schedules as jobs when they changed since the last load; True when reloaded."""
        version = await self.deps.store.schedules_version()
        if version == self._version and not force:
            return False
        wanted: dict[str, ScheduleRow] = {
            row.id: row for row in await self.deps.store.list_schedules() if row.enabled
        }
        wanted.update(BUILTINS)
        for schedule_id in list(self._signatures):
            if schedule_id not in wanted:
                self._remove(schedule_id)
        for schedule_id, row in wanted.items():
            signature = (row.cron, row.timezone)
            if self._signatures.get(schedule_id) == signature:
                continue
            try:
                timing = build_timing(row.cron, row.timezone)
            except ScheduleSpecError as exc:
                # A row edited outside the validated paths: skip it loudly rather than stop every schedule.
                log_event(_log, "schedule not loaded", logging.ERROR, schedule=schedule_id, error=str(exc))
                self._remove(schedule_id)
                continue
            self.aps.add_job(
                self.fire, timing.trigger, args=[schedule_id], id=schedule_id, replace_existing=True,
                coalesce=True, max_instances=1, misfire_grace_time=int(grace_of(row, self.coordinator.policy).total_seconds()),
            )  # fmt: skip
            self._signatures[schedule_id] = signature
        self._version = version
        log_event(_log, "schedules loaded", jobs=len(self._signatures))
        return True

    def _remove(self, schedule_id: str) -> None:
        self._signatures.pop(schedule_id, None)
        try:
            self.aps.remove_job(schedule_id)
        except JobLookupError:
            pass

    async def fire(self, schedule_id: str) -> RunResult | None:
        """A job fired: run the schedule's current slot (the latest fire time at or before now), once."""
        schedule = await self.coordinator.load(schedule_id)
        if schedule is None or not schedule.enabled:
            return None
        try:
            slot = build_timing(schedule.cron, schedule.timezone).last_at_or_before(self.coordinator.now)
        except ScheduleSpecError:
            return None
        if slot is None:
            return None
        return await self.coordinator.run_slot(schedule, slot)

    async def catch_up(self) -> list[RunResult]:
        """The misfire rule over every enabled schedule (see bot/scheduler/runs.py)."""
        schedules = await self.deps.store.list_schedules(enabled_only=True)
        return await self.coordinator.catch_up([*schedules, *BUILTINS.values()])

    async def tick(self) -> None:
        """Periodic: reload on change, take over due runs, apply the misfire rule. Never raises."""
        try:
            await self.reload()
            await self.coordinator.sweep()
            await self.catch_up()
        except Exception:  # noqa: BLE001 - a database blip must not stop the next tick
            _log.exception("scheduler tick failed")


async def start_scheduler(
    deps: Deps, *, expire_approvals: ApprovalSweep, paused: bool = False
) -> ChatopsScheduler:
    """Mirror the stored schedules onto this process's APScheduler (`deps.scheduler`) and start it.

    `expire_approvals` is the surface's approval sweep (bot/slack/server.py gives the Slack one)."""
    coordinator = RunCoordinator(deps, expire_approvals=expire_approvals)
    scheduler = ChatopsScheduler(deps, coordinator=coordinator, aps=deps.scheduler)
    await scheduler.start(paused=paused)
    return scheduler


async def stop_scheduler(deps: Deps) -> None:
    """Stop this process's APScheduler (`deps.scheduler`), if it was started."""
    if deps.scheduler.running:
        deps.scheduler.shutdown(wait=False)
