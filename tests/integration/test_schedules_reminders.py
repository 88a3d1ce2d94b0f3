"""Reminder DMs: tickets idle for N days (N per project), at most one DM per person per day, mutable."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.scheduler.jobs import REMINDERS_ID, send_reminders
from bot.storage.tables import ScheduleRow
from tests.schedules_world import ADMIN, MEMBER, SLOT, SchedulesWorld, Spawn


async def _rules(schedules_world: SchedulesWorld, projects: dict[str, int]) -> ScheduleRow:
    row = ScheduleRow(
        id=REMINDERS_ID, name="Reminders", kind="reminders", cron="0 9 * * 1-5", timezone="Europe/Berlin",
        enabled=True, options={"projects": projects}, created_by=ADMIN,
    )  # fmt: skip
    return await schedules_world.store.save_schedule(row, by=ADMIN, action="add")


def _dms(schedules_world: SchedulesWorld, user: str = MEMBER) -> list[str]:
    return [
        c.args["blocks"][0]["text"]["text"]
        for c in schedules_world.slack.calls("chat.postMessage")
        if c.args["channel"] == user
    ]


async def test_an_assignee_gets_one_dm_listing_their_tickets_idle_for_the_projects_n_days(
    schedules_world: SchedulesWorld,
) -> None:
    await _rules(schedules_world, {"OPS": 5})

    report = await send_reminders(schedules_world.deps, SLOT)

    assert report.sent == [MEMBER]
    [dm] = _dms(schedules_world)
    assert dm.startswith("Heads-up: 1 of your ticket has had no update for a while.")
    assert "*OPS-2* Disk alerts on db-2 are noisy — no update for 10 days" in dm
    call = schedules_world.slack.calls("chat.postMessage")[0]
    assert call.args["blocks"][1]["elements"][0]["action_id"] == "chatops_reminders_mute"
    assert _dms(schedules_world, "U0JONAS") == [], "Jonas's tickets moved recently"


async def test_n_is_set_per_project(schedules_world: SchedulesWorld) -> None:
    await _rules(schedules_world, {"OPS": 15, "WEB": 7})

    report = await send_reminders(schedules_world.deps, SLOT)

    assert report.sent == ["U0JONAS"]
    [dm] = _dms(schedules_world, "U0JONAS")
    assert "WEB-1" in dm and "no update for 8 days" in dm
    assert _dms(schedules_world) == [], "OPS-2 is idle 10 days, under OPS's 15"


async def test_reminders_never_show_tickets_of_projects_the_person_may_not_see(schedules_world: SchedulesWorld) -> None:
    await _rules(schedules_world, {"SEC": 10})

    report = await send_reminders(schedules_world.deps, SLOT)

    assert report.sent == [] and _dms(schedules_world) == [], "SEC is private and Maya is a member"


async def test_a_person_gets_at_most_one_reminder_a_day_even_with_two_processes(
    schedules_world: SchedulesWorld, spawn_process: Spawn
) -> None:
    await _rules(schedules_world, {"OPS": 5})
    other = await spawn_process()

    await asyncio.gather(send_reminders(schedules_world.deps, SLOT), send_reminders(other.deps, SLOT))
    await send_reminders(schedules_world.deps, SLOT + timedelta(hours=6))
    assert len(_dms(schedules_world)) == 1

    schedules_world.clock.now = SLOT + timedelta(days=1)
    await send_reminders(schedules_world.deps, schedules_world.clock.now)
    assert len(_dms(schedules_world)) == 2, "a new day, a new reminder"


async def test_muted_users_get_no_reminders(schedules_world: SchedulesWorld) -> None:
    await _rules(schedules_world, {"OPS": 5})
    await schedules_world.store.mute_reminders(MEMBER, until=SLOT + timedelta(days=3))

    report = await send_reminders(schedules_world.deps, SLOT)

    assert report.muted == [MEMBER] and _dms(schedules_world) == []


async def test_a_mute_with_an_end_date_ends(schedules_world: SchedulesWorld) -> None:
    await _rules(schedules_world, {"OPS": 5})
    await schedules_world.store.mute_reminders(MEMBER, until=SLOT - timedelta(minutes=1))

    report = await send_reminders(schedules_world.deps, SLOT)

    assert report.sent == [MEMBER]


async def test_a_dm_slack_refused_is_sent_by_a_later_run_the_same_day(schedules_world: SchedulesWorld) -> None:
    await _rules(schedules_world, {"OPS": 5})
    schedules_world.slack.fail("chat.postMessage", "ratelimited")

    first = await send_reminders(schedules_world.deps, SLOT)
    second = await send_reminders(schedules_world.deps, SLOT + timedelta(hours=1))

    assert (first.failed, second.sent) == ([MEMBER], [MEMBER])
    assert len(schedules_world.slack.bot_messages("D0MAYA")) == 1, "delivered once"


async def test_no_rules_means_no_reminders(schedules_world: SchedulesWorld) -> None:
    report = await send_reminders(schedules_world.deps, SLOT)

    assert report.sent == [] and schedules_world.slack.calls("chat.postMessage") == []


async def test_the_reminders_schedule_runs_through_the_exactly_once_machinery(
    schedules_world: SchedulesWorld, spawn_process: Spawn
) -> None:
    schedule = await _rules(schedules_world, {"OPS": 5})
    other = await spawn_process()

    results = await asyncio.gather(
        schedules_world.coordinator.run_slot(schedule, SLOT), other.coordinator.run_slot(schedule, SLOT)
    )

    assert sorted(r.outcome for r in results) == ["done", "not_claimed"]
    assert len(_dms(schedules_world)) == 1
