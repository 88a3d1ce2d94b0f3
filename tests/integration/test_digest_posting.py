"""What a scheduled digest posts, and how it stops cleanly when its configuration went bad."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from bot.storage.tables import AuditRow
from integrations.tickets.base import NewTicket
from tests.schedules_world import ADMIN, CHANNEL, OUTSIDE, SLOT, SchedulesWorld


def _sections(schedules_world: SchedulesWorld) -> list[str]:
    call = schedules_world.slack.calls("chat.postMessage")[-1]
    return [b["text"]["text"] for b in call.args["blocks"] if b["type"] == "section"]


async def test_the_digest_lists_tickets_needing_attention_grouped_by_assignee(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()

    await schedules_world.coordinator.run_slot(schedule, SLOT)

    headline, jonas, maya, unassigned = _sections(schedules_world)
    assert headline == "Digest for OPS: 1 new, 1 stale, 1 blocked, 1 high priority."
    assert jonas.startswith("*Jonas Weber* (1)") and "*OPS-3* Upgrade the load balancer" in jonas
    assert "_Blocked_ · blocked" in jonas
    assert maya.startswith("*Maya Chen* (2)")
    assert "*OPS-1* Rotate the TLS certificates — _To Do_ · new" in maya
    assert "*OPS-2* Disk alerts on db-2 are noisy — _To Do_ · no update 10d" in maya
    assert unassigned.startswith("*Unassigned* (1)") and "*OPS-4* Payments API returns 502" in unassigned
    assert "highest" in unassigned
    assert "OPS-5" not in "".join(_sections(schedules_world)), "a fresh low-priority ticket needs no attention"


async def test_new_tickets_are_those_created_since_the_previous_slot(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()

    await schedules_world.coordinator.run_slot(schedule, SLOT)

    blocks = schedules_world.slack.calls("chat.postMessage")[-1].args["blocks"]
    footer = blocks[-1]["elements"][0]["text"]
    assert footer.startswith("New since Mon 30 Nov 08:00 UTC"), "Tuesday's digest starts at Monday's slot"


async def test_a_private_project_the_channel_may_not_show_pauses_the_digest_with_a_notice(
    schedules_world: SchedulesWorld,
) -> None:
    schedule = await schedules_world.add_digest(project="SEC")

    result = await schedules_world.coordinator.run_slot(schedule, SLOT)

    assert result.outcome == "paused"
    assert len(schedules_world.posts()) == 1
    assert "Tickets of SEC may not be shown in <#C0OPS>" in schedules_world.posts()[0]
    assert "Pen-test" not in schedules_world.posts()[0]
    stored = await schedules_world.store.get_schedule(schedule.id)
    assert stored is not None and not stored.enabled


async def test_a_digest_whose_project_was_deleted_pauses_itself_and_says_so_once(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest(project="GONE")

    first = await schedules_world.coordinator.run_slot(schedule, SLOT)
    schedules_world.clock.advance(24 * 3600)
    second = await schedules_world.coordinator.run_slot(schedule, SLOT + timedelta(days=1))

    assert (first.outcome, second.outcome) == ("paused", "skipped")
    assert len(schedules_world.posts()) == 1
    assert "Project GONE does not exist" in schedules_world.posts()[0] and "is paused" in schedules_world.posts()[0]
    run = await schedules_world.store.get_run(schedule.id, SLOT)
    assert run is not None and run.status == "failed" and "GONE" in (run.error or "")
    audit = schedules_world.deps.db.run_sync(
        lambda s: s.exec(select(AuditRow).where(AuditRow.action == "schedule.auto_pause")).all()
    )
    assert [(a.user_id, a.target) for a in audit] == [("scheduler", schedule.id)]


async def test_a_digest_for_a_channel_the_bot_is_not_in_pauses_and_tells_its_creator(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest(channel=OUTSIDE)

    result = await schedules_world.coordinator.run_slot(schedule, SLOT)

    assert result.outcome == "paused"
    assert schedules_world.posts(OUTSIDE) == []
    dm = schedules_world.posts(ADMIN)
    assert len(dm) == 1 and "I'm not in <#C0NOTIN>" in dm[0] and f"resume {schedule.id}" in dm[0]


async def test_a_message_slack_refuses_is_retried_later_not_lost(schedules_world: SchedulesWorld) -> None:
    schedule = await schedules_world.add_digest()
    schedules_world.slack.fail("chat.postMessage", "msg_too_long")

    result = await schedules_world.coordinator.run_slot(schedule, SLOT)

    assert result.outcome == "retrying"
    assert result.retry_at == SLOT + timedelta(minutes=10)
    notice = schedules_world.posts(CHANNEL)[-1]
    assert notice == ":warning: The OPS digest failed (Slack refused the message). Retrying at Tue 09:10 CET."


async def test_a_digest_passes_the_outbound_boundary(schedules_world: SchedulesWorld) -> None:
    hostile = "<!channel> password: hunter2 AKIAQX7ZL4PCOMP3TEST"
    await schedules_world.deps.tickets.create_ticket(
        NewTicket(project="OPS", summary=hostile, priority="Highest"), reporter=None, via="test"
    )
    schedule = await schedules_world.add_digest()

    await schedules_world.coordinator.run_slot(schedule, SLOT)

    posted = json.dumps(schedules_world.slack.calls("chat.postMessage")[-1].args, ensure_ascii=False)
    assert "password: [redacted]" in posted
    assert "<!channel>" not in posted and "hunter2" not in posted and "AKIAQX7ZL4PCOMP3TEST" not in posted
