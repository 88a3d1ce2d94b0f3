"""Never post twice: a 5xx or a dropped connection while posting may come after Slack posted, so a digest slot or a
reminder day whose post has an unknown outcome is recorded and never sent again (real database, fake Slack)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.scheduler.jobs import REMINDERS_ID, send_reminders
from bot.storage.tables import PersonRow, ScheduleRow
from tests.schedules_world import ADMIN, CHANNEL, MEMBER, SLOT, SchedulesWorld

HEADLINE = "Digest for OPS: 1 new, 1 stale, 1 blocked, 1 high priority."
LOST_ANSWERS: dict[str, dict[str, Any]] = {
    "500 after posting": {"status": 500, "applied": True},
    "503 after posting": {"status": 503, "applied": True},
    "connection dropped after posting": {"drop": True, "applied": True},
}


def _digests_in_channel(schedules_world: SchedulesWorld) -> list[str]:
    return [m.text for m in schedules_world.slack.bot_messages(CHANNEL) if m.text == HEADLINE]


@pytest.mark.parametrize("fault", LOST_ANSWERS.values(), ids=list(LOST_ANSWERS))
async def test_a_digest_whose_post_answer_was_lost_is_recorded_and_never_posted_again(
    schedules_world: SchedulesWorld, fault: dict[str, Any]
) -> None:
    schedule = await schedules_world.add_digest()
    schedules_world.slack.fail("chat.postMessage", **fault)

    result = await schedules_world.coordinator.run_slot(schedule, SLOT)
    for minutes in (11, 31, 45):  # past both retry times: a retrying run would be taken over here
        schedules_world.clock.now = SLOT + timedelta(minutes=minutes)
        assert await schedules_world.coordinator.sweep() == []
    await schedules_world.coordinator.catch_up([schedule])

    assert result.outcome == "failed"
    run = await schedules_world.store.get_run(schedule.id, SLOT)
    assert run is not None and run.status == "failed" and run.attempts == 1
    assert (run.error or "").startswith("posting outcome unknown")
    assert _digests_in_channel(schedules_world) == [HEADLINE], "posted once, by the call whose answer was lost"
    assert len(schedules_world.slack.calls("chat.postMessage")) == 1, "no retry and no 'retrying' notice"


async def test_a_digest_slack_refused_with_ok_false_is_still_retried(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()
    schedules_world.slack.fail("chat.postMessage", "internal_error")

    first = await schedules_world.coordinator.run_slot(schedule, SLOT)
    schedules_world.clock.now = SLOT + timedelta(minutes=11)
    [retried] = await schedules_world.coordinator.sweep()

    assert (first.outcome, retried.outcome) == ("retrying", "done")
    assert _digests_in_channel(schedules_world) == [HEADLINE]


async def test_a_server_error_before_posting_is_retried_later(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()
    schedules_world.slack.fail("conversations.info", status=500, times=3)  # the first try and both client retries

    first = await schedules_world.coordinator.run_slot(schedule, SLOT)
    schedules_world.clock.now = SLOT + timedelta(minutes=11)
    [retried] = await schedules_world.coordinator.sweep()

    assert (first.outcome, retried.outcome) == ("retrying", "done")
    assert _digests_in_channel(schedules_world) == [HEADLINE]


async def _reminders(schedules_world: SchedulesWorld) -> ScheduleRow:
    row = ScheduleRow(
        id=REMINDERS_ID, name="Reminders", kind="reminders", cron="0 9 * * 1-5", timezone="Europe/Berlin",
        enabled=True, options={"projects": {"OPS": 5}}, created_by=ADMIN,
    )  # fmt: skip
    return await schedules_world.store.save_schedule(row, by=ADMIN, action="add")


def _reminder_dms(schedules_world: SchedulesWorld) -> list[str]:
    return [c.args["text"] for c in schedules_world.slack.calls("chat.postMessage") if c.args.get("channel") == MEMBER]


@pytest.mark.parametrize("fault", LOST_ANSWERS.values(), ids=list(LOST_ANSWERS))
async def test_a_reminder_whose_answer_was_lost_keeps_the_days_claim_and_is_not_resent(
    schedules_world: SchedulesWorld, fault: dict[str, Any]
) -> None:
    await _reminders(schedules_world)
    schedules_world.slack.fail("chat.postMessage", **fault)

    first = await send_reminders(schedules_world.deps, SLOT)
    later = await send_reminders(schedules_world.deps, SLOT + timedelta(hours=2))

    assert (first.uncertain, first.failed, first.sent) == ([MEMBER], [], [])
    assert later.already == [MEMBER] and later.sent == []
    assert len(_reminder_dms(schedules_world)) == 1
    assert len(schedules_world.slack.bot_messages("D0MAYA")) == 1, "delivered once"


async def test_the_reminders_run_with_a_lost_answer_finishes_and_is_not_rerun(schedules_world: SchedulesWorld) -> None:
    schedule = await _reminders(schedules_world)
    schedules_world.slack.fail("chat.postMessage", drop=True, applied=True)

    result = await schedules_world.coordinator.run_slot(schedule, SLOT)
    schedules_world.clock.now = SLOT + timedelta(minutes=31)
    await schedules_world.coordinator.sweep()

    assert result.outcome == "done"
    assert len(schedules_world.slack.bot_messages("D0MAYA")) == 1


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel"])
async def test_a_reminder_slack_refused_gives_the_day_back_for_a_later_run(schedules_world: SchedulesWorld, error: str) -> None:
    await _reminders(schedules_world)
    schedules_world.slack.fail("chat.postMessage", error)

    first = await send_reminders(schedules_world.deps, SLOT)
    later = await send_reminders(schedules_world.deps, SLOT + timedelta(hours=2))

    assert (first.failed, later.sent) == ([MEMBER], [MEMBER])
    assert len(schedules_world.slack.bot_messages("D0MAYA")) == 1


async def test_a_dropped_email_lookup_skips_the_person_without_stopping_the_run(schedules_world: SchedulesWorld) -> None:
    await _reminders(schedules_world)
    schedules_world.deps.db.run_sync(_unlink_maya)
    schedules_world.slack.fail("users.lookupByEmail", drop=True, times=6)  # 3 tries, each GET re-sent once by aiohttp

    report = await send_reminders(schedules_world.deps, SLOT)

    assert report.unmapped == ["maya"] and report.sent == []


def _unlink_maya(session: Session) -> None:
    person = session.exec(select(PersonRow).where(PersonRow.id == "maya")).one()
    person.slack_user_id = None
    session.add(person)
    session.commit()
