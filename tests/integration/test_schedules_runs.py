"""Exactly one run per slot across processes: claims, leases, takeovers, misfires (real database, fake Slack)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.migrations import migrate_sync
from tests.fakes.slack_server import FakeSlack
from tests.schedules_world import ADMIN, SLOT, SchedulesWorld, Spawn, make_world, same_database, seed_ops

LEASE = timedelta(minutes=5)


async def test_a_due_digest_is_posted_once_and_recorded(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()

    result = await schedules_world.coordinator.run_slot(schedule, SLOT)

    assert result.outcome == "done"
    run = await schedules_world.store.get_run(schedule.id, SLOT)
    assert run is not None and run.status == "done" and run.message_ts == result.message_ts
    assert run.finished_at is not None and run.attempts == 1 and run.error is None
    assert schedules_world.posts() == ["Digest for OPS: 1 new, 1 stale, 1 blocked, 1 high priority."]


async def test_a_finished_slot_is_not_run_again(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()
    await schedules_world.coordinator.run_slot(schedule, SLOT)

    again = await schedules_world.coordinator.run_slot(schedule, SLOT)

    assert again.outcome == "not_claimed"
    assert len(schedules_world.posts()) == 1


async def test_four_processes_racing_as_tasks_post_exactly_once(schedules_world: SchedulesWorld, spawn_process: Spawn) -> None:
    schedule = await schedules_world.add_digest()
    others = [await spawn_process() for _ in range(3)]

    results = await asyncio.gather(*(w.coordinator.run_slot(schedule, SLOT) for w in [schedules_world, *others]))

    assert sorted(r.outcome for r in results) == ["done", "not_claimed", "not_claimed", "not_claimed"]
    assert len(schedules_world.posts()) == 1


def test_four_processes_racing_in_parallel_threads_post_exactly_once(
    database: Database, slack: FakeSlack, schedule_settings: Settings
) -> None:
    migrate_sync(database.engine)
    seed_ops(database, SLOT)
    first = asyncio.run(_digest_in_new_world(database, slack, schedule_settings))
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def process() -> None:
        async def race() -> str:
            db = same_database(database)
            w = await make_world(db, slack, schedule_settings)
            await asyncio.to_thread(start.wait, 10)
            result = await w.coordinator.run_slot(first, SLOT)
            db.dispose()
            return result.outcome

        outcomes.append(asyncio.run(race()))

    threads = [threading.Thread(target=process) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(outcomes) == ["done", "not_claimed", "not_claimed", "not_claimed"]
    assert len(slack.calls("chat.postMessage")) == 1


async def _digest_in_new_world(database: Database, slack: FakeSlack, settings: Settings):  # type: ignore[no-untyped-def]
    w = await make_world(database, slack, settings)
    return await w.add_digest()


async def test_a_run_whose_owner_died_before_posting_is_taken_over_for_the_same_slot(
    schedules_world: SchedulesWorld, spawn_process: Spawn
) -> None:
    schedule = await schedules_world.add_digest()
    dead = await schedules_world.store.claim_run(schedule.id, SLOT, owner="dead-process", lease=LEASE)
    assert dead is not None
    other = await spawn_process(now=SLOT + timedelta(minutes=1))

    early = await other.coordinator.sweep()
    other.clock.advance(LEASE.total_seconds())
    late = await other.coordinator.sweep()

    assert early == []
    assert [r.outcome for r in late] == ["done"]
    run = await other.store.get_run(schedule.id, SLOT)
    assert run is not None and run.owner == other.coordinator.owner and run.attempts == 2
    assert len(schedules_world.posts()) == 1
    schedules_world.clock.now = other.clock.now
    assert not await schedules_world.store.begin_posting(dead, lease=LEASE), "the dead owner may no longer post"


async def test_a_run_whose_owner_died_while_posting_is_abandoned_not_reposted(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()
    dying = await schedules_world.store.claim_run(schedule.id, SLOT, owner="dying-process", lease=LEASE)
    assert dying is not None and await schedules_world.store.begin_posting(dying, lease=LEASE)

    schedules_world.clock.advance(LEASE.total_seconds() + 60)
    results = await schedules_world.coordinator.sweep()

    assert results == []
    assert schedules_world.posts() == []
    run = await schedules_world.store.get_run(schedule.id, SLOT)
    assert run is not None and run.status == "abandoned" and "never post twice" in (run.error or "")


async def test_a_slot_whose_owner_died_while_posting_is_not_claimed_by_another_process_firing(
    schedules_world: SchedulesWorld, spawn_process: Spawn
) -> None:
    schedule = await schedules_world.add_digest()
    dying = await schedules_world.store.claim_run(schedule.id, SLOT, owner="dying-process", lease=LEASE)
    assert dying is not None and await schedules_world.store.begin_posting(dying, lease=LEASE)
    other = await spawn_process(now=SLOT + LEASE + timedelta(minutes=1))

    result = await other.coordinator.run_slot(schedule, SLOT)

    assert result.outcome == "not_claimed"
    assert schedules_world.posts() == []


async def test_a_renewed_lease_keeps_other_processes_out(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()
    claim = await schedules_world.store.claim_run(schedule.id, SLOT, owner="busy-process", lease=LEASE)
    assert claim is not None

    schedules_world.clock.advance(LEASE.total_seconds() - 30)
    assert await schedules_world.store.renew_lease(claim, lease=LEASE)
    schedules_world.clock.advance(60)

    assert await schedules_world.store.claim_run(schedule.id, SLOT, owner="other", lease=LEASE) is None


async def test_a_slot_missed_while_everything_was_down_runs_once_on_start_up_within_grace(
    schedules_world: SchedulesWorld, spawn_process: Spawn
) -> None:
    schedule = await schedules_world.add_digest()
    schedules_world.clock.now = SLOT + timedelta(minutes=20)
    other = await spawn_process(now=schedules_world.clock.now)

    first = await schedules_world.coordinator.catch_up([schedule])
    second = await other.coordinator.catch_up([schedule])

    assert [(r.scheduled_for, r.outcome) for r in first] == [(SLOT, "done")]
    assert second == []
    assert len(schedules_world.posts()) == 1


async def test_a_slot_missed_past_the_grace_period_is_skipped_recorded_and_logged(
    schedules_world: SchedulesWorld, caplog: pytest.LogCaptureFixture
) -> None:
    schedule = await schedules_world.add_digest()
    schedules_world.clock.now = SLOT + timedelta(minutes=45)

    results = await schedules_world.coordinator.catch_up([schedule])

    assert [r.outcome for r in results] == ["skipped"]
    assert schedules_world.posts() == []
    run = await schedules_world.store.get_run(schedule.id, SLOT)
    assert run is not None and run.status == "missed" and "grace period (30 min)" in (run.error or "")
    assert "slot missed, skipped" in caplog.text
    assert await schedules_world.coordinator.catch_up([schedule]) == [], "recorded once, not every tick"


async def test_a_longer_grace_period_per_schedule_catches_up_later_slots(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest(grace_minutes=60)
    schedules_world.clock.now = SLOT + timedelta(minutes=45)

    results = await schedules_world.coordinator.catch_up([schedule])

    assert [r.outcome for r in results] == ["done"]


async def test_slots_before_a_schedule_was_created_or_resumed_are_not_caught_up(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()
    schedules_world.clock.now = SLOT + timedelta(minutes=5)
    await schedules_world.store.set_schedule_enabled(schedule.id, False, by=ADMIN, action="pause")
    resumed = await schedules_world.store.set_schedule_enabled(schedule.id, True, by=ADMIN, action="resume")
    assert resumed is not None
    schedules_world.clock.now = SLOT + timedelta(minutes=10)

    assert await schedules_world.coordinator.catch_up([resumed]) == []
    assert schedules_world.posts() == []


async def test_a_run_for_a_schedule_deleted_meanwhile_is_skipped(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()
    await schedules_world.store.delete_schedule(schedule.id, by=ADMIN)

    result = await schedules_world.coordinator.run_slot(schedule, SLOT)

    assert result.outcome == "skipped"
    assert schedules_world.posts() == []
