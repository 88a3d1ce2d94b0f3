"""APScheduler wiring: stored schedules become cron jobs in their time zones, reloaded when they change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.scheduler.scheduler import TICK_JOB_ID, ChatopsScheduler
from bot.storage.tables import ScheduleRow
from tests.schedules_world import ADMIN, SLOT, SchedulesWorld, Spawn


@pytest.fixture
async def scheduler(schedules_world: SchedulesWorld) -> AsyncIterator[ChatopsScheduler]:
    """The process's scheduler, built on the world's coordinator (started paused by each test)."""
    sched = ChatopsScheduler(schedules_world.deps, coordinator=schedules_world.coordinator)
    yield sched
    await sched.stop()


def _next(sched: ChatopsScheduler, job_id: str, schedules_world: SchedulesWorld) -> str:
    job = sched.aps.get_job(job_id)
    assert job is not None, f"no job {job_id}"
    return job.trigger.get_next_fire_time(None, schedules_world.clock()).isoformat()


async def test_each_enabled_schedule_becomes_a_cron_job_in_its_own_time_zone(
    schedules_world: SchedulesWorld, scheduler: ChatopsScheduler
) -> None:
    await schedules_world.add_digest(schedule_id="berlin", cron="0 9 * * 1-5", timezone="Europe/Berlin")
    await schedules_world.add_digest(schedule_id="newyork", cron="30 8 * * *", timezone="America/New_York")
    paused = await schedules_world.add_digest(schedule_id="paused")
    await schedules_world.store.set_schedule_enabled(paused.id, False, by=ADMIN, action="pause")

    await scheduler.start(paused=True)

    ids = {job.id for job in scheduler.aps.get_jobs()}
    assert ids == {"berlin", "newyork", "builtin:housekeeping", "builtin:approvals", TICK_JOB_ID}
    assert isinstance(scheduler.aps.get_job("berlin").trigger, CronTrigger)
    assert _next(scheduler, "berlin", schedules_world) == "2026-12-01T09:00:00+01:00"
    assert _next(scheduler, "newyork", schedules_world) == "2026-12-01T08:30:00-05:00"


async def test_a_change_made_by_another_process_reloads_the_jobs_on_the_next_tick(
    schedules_world: SchedulesWorld, scheduler: ChatopsScheduler, spawn_process: Spawn
) -> None:
    await schedules_world.add_digest(schedule_id="one")
    await schedules_world.add_digest(schedule_id="two")
    await scheduler.start(paused=True)
    other = await spawn_process()

    await other.store.set_schedule_enabled("one", False, by=ADMIN, action="pause")
    edited = await other.store.get_schedule("two")
    assert edited is not None
    edited.cron, edited.timezone = "15 7 * * *", "Asia/Tokyo"
    await other.store.save_schedule(edited, by=ADMIN, action="edit")
    await scheduler.tick()

    assert scheduler.aps.get_job("one") is None
    assert _next(scheduler, "two", schedules_world) == "2026-12-02T07:15:00+09:00"


async def test_nothing_reloads_while_the_schedules_are_unchanged(
    schedules_world: SchedulesWorld, scheduler: ChatopsScheduler
) -> None:
    await schedules_world.add_digest()
    await scheduler.start(paused=True)

    assert await scheduler.reload() is False


async def test_a_stored_schedule_with_a_broken_timing_is_skipped_and_logged_not_fatal(
    schedules_world: SchedulesWorld, scheduler: ChatopsScheduler, caplog: pytest.LogCaptureFixture
) -> None:
    await schedules_world.add_digest(schedule_id="good")
    broken = ScheduleRow(id="broken", name="x", kind="digest", channel_id="C0OPS", project_key="OPS",
                         cron="0 9 * *", timezone="Mars/Olympus", enabled=True, created_by=ADMIN)  # fmt: skip
    await schedules_world.store.save_schedule(broken, by=ADMIN, action="add")

    await scheduler.start(paused=True)

    assert scheduler.aps.get_job("good") is not None and scheduler.aps.get_job("broken") is None
    assert "schedule not loaded" in caplog.text


async def test_a_fired_job_runs_the_slot_that_just_became_due(
    schedules_world: SchedulesWorld, scheduler: ChatopsScheduler
) -> None:
    await schedules_world.add_digest()
    schedules_world.clock.now = SLOT - timedelta(minutes=1)
    await scheduler.start(paused=True)
    schedules_world.clock.now = SLOT + timedelta(seconds=2)

    result = await scheduler.fire("d0001")

    assert result is not None and (result.scheduled_for, result.outcome) == (SLOT, "done")
    assert len(schedules_world.posts()) == 1


async def test_start_up_runs_a_slot_missed_while_down(schedules_world: SchedulesWorld, scheduler: ChatopsScheduler) -> None:
    await schedules_world.add_digest()
    schedules_world.clock.now = SLOT + timedelta(minutes=10)

    await scheduler.start(paused=True)

    assert len(schedules_world.posts()) == 1
    run = await schedules_world.store.get_run("d0001", SLOT)
    assert run is not None and run.status == "done"
