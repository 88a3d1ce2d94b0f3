"""`/chatops digest ...` as text: admins add, edit, pause, resume and delete schedules with field errors and an
audit trail; anyone previews and mutes their own reminders."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.settings import Settings
from bot.slack.schedule_commands import handle_digest_command
from bot.storage.db import Database
from bot.storage.tables import AuditRow, ScheduleRow
from tests.fakes.slack_server import FakeSlack
from tests.schedules_world import ADMIN, CHANNEL, MEMBER, SchedulesWorld, seeded_world


@pytest.fixture
async def schedules_world(sqlite_database: Database, slack: FakeSlack, schedule_settings: Settings) -> SchedulesWorld:
    """Slack-surface tests: the storage they use runs on both databases in the runs and scheduler tests."""
    return await seeded_world(sqlite_database, slack, schedule_settings)


async def _say(schedules_world: SchedulesWorld, text: str, *, user: str = ADMIN, channel: str = CHANNEL) -> str:
    return await handle_digest_command(
        schedules_world.deps.slack, schedules_world.deps, user_id=user, channel_id=channel, text=text
    )


def _audit(schedules_world: SchedulesWorld) -> list[tuple[str, str, str | None]]:
    rows = schedules_world.deps.db.run_sync(lambda s: s.exec(select(AuditRow).order_by(AuditRow.id)).all())  # type: ignore[arg-type]
    return [(r.user_id, r.action, r.target) for r in rows if r.action.startswith("schedule.")]


async def _schedules(schedules_world: SchedulesWorld) -> list[ScheduleRow]:
    return await schedules_world.store.list_schedules()


async def test_an_admin_adds_a_weekday_digest_for_this_channel_in_a_time_zone(schedules_world: SchedulesWorld) -> None:
    reply = await _say(schedules_world, "add OPS weekdays 09:00 tz=Europe/Berlin")

    [row] = await _schedules(schedules_world)
    assert (
        reply == f"Digest `{row.id}` (OPS digest) added: posts to <#C0OPS> weekdays at 09:00 Europe/Berlin."
    )
    assert (row.kind, row.project_key, row.channel_id, row.cron, row.timezone) == (
        "digest", "OPS", CHANNEL, "0 9 * * 1-5", "Europe/Berlin",
    )  # fmt: skip
    assert row.created_by == ADMIN and row.enabled
    assert _audit(schedules_world) == [(ADMIN, "schedule.add", row.id)]


async def test_a_cron_expression_and_a_named_channel_are_accepted(schedules_world: SchedulesWorld) -> None:
    reply = await _say(schedules_world, 'add OPS cron "30 8 * * mon,thu" <#C0OPS|ops> name="Ops twice a week" stale=5')

    [row] = await _schedules(schedules_world)
    assert "added" in reply
    assert (row.cron, row.name, (row.options or {})["stale_days"]) == (
        "30 8 * * mon,thu",
        "Ops twice a week",
        5,
    )


async def test_an_invalid_cron_expression_is_refused_with_a_clear_error_and_nothing_is_saved(
    schedules_world: SchedulesWorld,
) -> None:
    reply = await _say(schedules_world, 'add OPS cron "0 9 * *"')

    assert reply.startswith("Not saved:\n• *cron*: '0 9 * *' needs 5 fields")
    assert await _schedules(schedules_world) == [] and _audit(schedules_world) == []


async def test_an_unknown_time_zone_is_refused_with_a_hint(schedules_world: SchedulesWorld) -> None:
    reply = await _say(schedules_world, "add OPS daily 09:00 tz=europe/berlin")

    assert reply == (
        "Not saved:\n• *timezone*: Unknown time zone 'europe/berlin'; did you mean Europe/Berlin?"
    )
    assert await _schedules(schedules_world) == []


async def test_a_channel_the_bot_is_not_in_is_refused(schedules_world: SchedulesWorld) -> None:
    reply = await _say(schedules_world, "add OPS daily 09:00 <#C0NOTIN|random>")

    assert (
        reply
        == "Not saved:\n• *channel*: I'm not in <#C0NOTIN>. Invite me with `/invite @chatops`, then try again."
    )
    assert await _schedules(schedules_world) == []


async def test_a_project_that_does_not_exist_is_refused(schedules_world: SchedulesWorld) -> None:
    reply = await _say(schedules_world, "add NOPE daily 09:00")

    assert (
        reply
        == "Not saved:\n• *project*: Project NOPE does not exist (or I can't see it in the ticket system)."
    )


async def test_a_project_the_channel_may_not_show_is_refused(schedules_world: SchedulesWorld) -> None:
    reply = await _say(schedules_world, "add SEC daily 09:00")

    assert "*project*: Tickets of SEC may not be shown in <#C0OPS>" in reply
    assert await _schedules(schedules_world) == []


async def test_every_problem_is_reported_at_once(schedules_world: SchedulesWorld) -> None:
    reply = await _say(schedules_world, "add NOPE daily 25:00 tz=Nowhere/City stale=0")

    for field in ("*project*", "*time*", "*stale days*"):
        assert field in reply


async def test_members_cannot_change_schedules(schedules_world: SchedulesWorld) -> None:
    reply = await _say(schedules_world, "add OPS daily 09:00", user=MEMBER)

    assert reply.startswith("Only chatops admins can manage digest schedules.")
    assert await _schedules(schedules_world) == []


async def test_edit_changes_only_what_is_given_and_is_audited(schedules_world: SchedulesWorld) -> None:
    await _say(schedules_world, "add OPS weekdays 09:00 tz=Europe/Berlin")
    [row] = await _schedules(schedules_world)

    reply = await _say(schedules_world, f"edit {row.id} weekly fri 16:30")

    [edited] = await _schedules(schedules_world)
    assert "updated: posts to <#C0OPS> Fridays at 16:30 Europe/Berlin" in reply
    assert (edited.cron, edited.timezone, edited.project_key) == ("30 16 * * 5", "Europe/Berlin", "OPS")
    assert _audit(schedules_world)[-1] == (ADMIN, "schedule.edit", row.id)


async def test_pause_resume_and_delete_are_audited(schedules_world: SchedulesWorld) -> None:
    await _say(schedules_world, "add OPS daily 09:00")
    [row] = await _schedules(schedules_world)

    paused = await _say(schedules_world, f"pause {row.id}")
    stored = await schedules_world.store.get_schedule(row.id)
    resumed = await _say(schedules_world, f"resume {row.id}")
    deleted = await _say(schedules_world, f"delete {row.id}")

    assert paused.startswith(f"Paused `{row.id}`") and stored is not None and not stored.enabled
    assert resumed == f"Resumed `{row.id}` (OPS digest)."
    assert deleted == f"Deleted `{row.id}` (OPS digest)."
    assert await _schedules(schedules_world) == []
    assert [a[1] for a in _audit(schedules_world)] == [
        "schedule.add",
        "schedule.pause",
        "schedule.resume",
        "schedule.delete",
    ]


async def test_an_unknown_schedule_id_gets_a_clear_answer(schedules_world: SchedulesWorld) -> None:
    assert (
        await _say(schedules_world, "pause nope") == "There is no schedule `nope`. `/chatops digest list` shows them."
    )


async def test_list_shows_each_schedule_with_its_next_run_in_its_time_zone(schedules_world: SchedulesWorld) -> None:
    await _say(schedules_world, "add OPS weekdays 09:00 tz=Europe/Berlin")
    [row] = await _schedules(schedules_world)

    reply = await _say(schedules_world, "list")

    assert reply == (
        f"• `{row.id}` *OPS digest* → OPS in <#C0OPS> · weekdays at 09:00 Europe/Berlin · next Wed 02 Dec 09:00 CET"
    )


async def test_anyone_may_preview_the_digest_of_a_project_they_may_see_here(schedules_world: SchedulesWorld) -> None:
    reply = await _say(schedules_world, "preview OPS", user=MEMBER)

    assert reply.startswith("_Preview (only you can see this):_\n*Digest for OPS: 1 new, 1 stale, 1 blocked")
    assert "*Maya Chen* (2)" in reply


async def test_a_preview_says_the_same_for_a_hidden_project_and_an_unknown_one(schedules_world: SchedulesWorld) -> None:
    hidden = await _say(schedules_world, "preview SEC", user=MEMBER)
    unknown = await _say(schedules_world, "preview NOPE", user=MEMBER)

    assert hidden.replace("SEC", "X") == unknown.replace("NOPE", "X")
    assert "Pen-test" not in hidden


async def test_users_mute_and_unmute_their_own_reminders(schedules_world: SchedulesWorld) -> None:
    muted = await _say(schedules_world, "mute 7", user=MEMBER)
    assert muted == "Reminders muted until Tue 08 Dec."
    assert await schedules_world.store.muted_users() == {MEMBER}

    assert await _say(schedules_world, "unmute", user=MEMBER) == "Reminders are on again."
    assert await schedules_world.store.muted_users() == set()


async def test_admins_set_reminders_per_project_and_their_time(schedules_world: SchedulesWorld) -> None:
    first = await _say(schedules_world, "reminders OPS 5")
    timed = await _say(schedules_world, "reminders weekdays 09:30 tz=Europe/Berlin")
    off = await _say(schedules_world, "reminders OPS off")

    assert first == "Reminder DMs go out weekdays at 09:00 UTC: OPS after 5 days."
    assert timed == "Reminder DMs go out weekdays at 09:30 Europe/Berlin: OPS after 5 days."
    assert off.startswith("Reminders are off.")


async def test_an_unclosed_quote_gets_a_clear_answer(schedules_world: SchedulesWorld) -> None:
    assert (await _say(schedules_world, 'add OPS cron "0 9 * * 1')).startswith("A quote is not closed.")


async def test_a_preview_is_refused_when_the_admins_switched_off_the_tools_that_list_tickets(schedules_world: SchedulesWorld) -> None:
    version = await schedules_world.store.config_version()
    await schedules_world.store.apply_config(
        actor_id=ADMIN, expected_version=version, values={"policy.enabled_tools": ["get_ticket", "add_comment"]}
    )

    reply = await _say(schedules_world, "preview OPS", user=MEMBER)

    assert "Maya Chen" not in reply and "OPS-" not in reply
    assert reply == (await _say(schedules_world, "preview NOPE", user=MEMBER)).replace("NOPE", "OPS")
