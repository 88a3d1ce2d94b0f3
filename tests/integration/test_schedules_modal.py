"""The schedule editor modal and the reminders Mute button, driven through the real Bolt AsyncApp."""

from __future__ import annotations

import json

import pytest
from slack_bolt.async_app import AsyncApp

from bot.settings import Settings
from bot.slack.schedule_buttons import register_schedule_handlers
from bot.slack.schedule_commands import handle_digest_command
from bot.slack.schedule_editor import CALLBACK_ID
from bot.storage.db import Database
from tests.fakes.slack_server import FakeSlack
from tests.schedule_editor_driver import editor_form, editor_submission, submit_editor
from tests.schedules_world import ADMIN, CHANNEL, MEMBER, SchedulesWorld, seeded_world


@pytest.fixture
async def schedules_world(sqlite_database: Database, slack: FakeSlack, schedule_settings: Settings) -> SchedulesWorld:
    """Slack-surface tests: the storage they use runs on both databases in the runs and scheduler tests."""
    return await seeded_world(sqlite_database, slack, schedule_settings)


@pytest.fixture
def app(schedules_world: SchedulesWorld) -> AsyncApp:
    """A Bolt app with only the schedule handlers (listeners finish before the response, as in bolt's tests)."""
    bolt = AsyncApp(
        client=schedules_world.deps.slack, signing_secret=FakeSlack.SIGNING_SECRET, process_before_response=True
    )
    register_schedule_handlers(bolt, schedules_world.deps)
    return bolt


async def test_digest_add_without_arguments_opens_the_editor_for_an_admin(schedules_world: SchedulesWorld) -> None:
    reply = await handle_digest_command(
        schedules_world.deps.slack, schedules_world.deps, user_id=ADMIN, channel_id=CHANNEL, text="add", trigger_id="123.456.abc"
    )

    assert reply == "Opened the digest editor."
    [call] = schedules_world.slack.calls("views.open")
    view = call.args["view"]
    assert view["callback_id"] == CALLBACK_ID
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["timezone"]["element"]["initial_value"] == "Europe/Berlin", "the admin's own time zone"
    assert blocks["channel"]["element"]["initial_conversation"] == CHANNEL


async def test_the_editor_is_not_opened_for_members(schedules_world: SchedulesWorld) -> None:
    reply = await handle_digest_command(
        schedules_world.deps.slack, schedules_world.deps, user_id=MEMBER, channel_id=CHANNEL, text="add", trigger_id="123.456.abc"
    )

    assert reply.startswith("Only chatops admins")
    assert schedules_world.slack.calls("views.open") == []


async def test_a_submission_with_bad_fields_shows_an_error_next_to_each_and_saves_nothing(
    schedules_world: SchedulesWorld, app: AsyncApp
) -> None:
    form = editor_form(
        every={"type": "static_select", "selected_option": {"value": "cron"}},
        cron={"type": "plain_text_input", "value": "0 9 1 * 1"},
        channel={"type": "conversations_select", "selected_conversation": "C0NOTIN"},
        project={"type": "plain_text_input", "value": "GONE"},
    )

    response = await submit_editor(app, editor_submission(ADMIN, form))

    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"cron", "channel", "project"}
    assert body["errors"]["cron"].startswith("Restrict day-of-month or day-of-week, not both")
    assert body["errors"]["channel"].startswith("I'm not in <#C0NOTIN>")
    assert body["errors"]["project"].startswith("Project GONE does not exist")
    assert await schedules_world.store.list_schedules() == []


async def test_an_unknown_time_zone_in_the_editor_is_shown_on_the_time_zone_field(
    schedules_world: SchedulesWorld, app: AsyncApp
) -> None:
    response = await submit_editor(
        app, editor_submission(ADMIN, editor_form(timezone={"type": "plain_text_input", "value": "Berlin"}))
    )

    assert json.loads(response.body)["errors"] == {
        "timezone": "Unknown time zone 'Berlin'; use an IANA name like Europe/Berlin or America/New_York"
    }


async def test_a_valid_submission_saves_the_schedule_and_confirms_to_the_admin(
    schedules_world: SchedulesWorld, app: AsyncApp
) -> None:
    response = await submit_editor(app, editor_submission(ADMIN, editor_form()))

    assert response.status == 200 and not response.body
    [row] = await schedules_world.store.list_schedules()
    assert (row.name, row.cron, row.timezone, row.channel_id) == (
        "Ops morning",
        "0 9 * * 1-5",
        "Europe/Berlin",
        CHANNEL,
    )
    [confirm] = schedules_world.slack.calls("chat.postEphemeral")
    assert confirm.args["user"] == ADMIN and "weekdays at 09:00 Europe/Berlin" in confirm.args["text"]


async def test_a_submission_by_a_member_is_refused_even_with_a_forged_view(
    schedules_world: SchedulesWorld, app: AsyncApp
) -> None:
    response = await submit_editor(app, editor_submission(MEMBER, editor_form()))

    assert json.loads(response.body)["response_action"] == "errors"
    assert await schedules_world.store.list_schedules() == []


async def test_the_mute_button_on_a_reminder_mutes_the_clicker(schedules_world: SchedulesWorld, app: AsyncApp) -> None:
    payload = {
        "type": "block_actions",
        "team": {"id": FakeSlack.TEAM_ID, "domain": "acme"},
        "user": {"id": MEMBER, "team_id": FakeSlack.TEAM_ID},
        "api_app_id": FakeSlack.APP_ID,
        "trigger_id": "123.456.abc",
        "container": {"type": "message", "message_ts": "1763476201.000001", "channel_id": "D0MAYA"},
        "channel": {"id": "D0MAYA"},
        "response_url": schedules_world.slack.response_url("mute"),
        "actions": [{"action_id": "chatops_reminders_mute", "block_id": "b1", "value": "mute",
                     "type": "button", "action_ts": "1763476300.000001"}],
    }  # fmt: skip

    response = await submit_editor(app, payload)

    assert response.status == 200
    assert await schedules_world.store.muted_users() == {MEMBER}
    [said] = schedules_world.slack.calls("response_url")
    assert said.args["text"].startswith("Reminders muted")


async def test_a_submission_slack_sends_again_after_a_late_ack_does_not_add_a_second_schedule(
    schedules_world: SchedulesWorld, app: AsyncApp
) -> None:
    first = await submit_editor(app, editor_submission(ADMIN, editor_form()))
    again = await submit_editor(app, editor_submission(ADMIN, editor_form()))  # same modal (view id): the admin pressed Submit again

    assert first.status == 200 and again.status == 200 and not again.body
    assert len(await schedules_world.store.list_schedules()) == 1
    assert len(schedules_world.slack.calls("chat.postEphemeral")) == 1, "confirmed once"


async def test_two_different_modals_add_two_schedules(schedules_world: SchedulesWorld, app: AsyncApp) -> None:
    await submit_editor(app, editor_submission(ADMIN, editor_form()))
    other = editor_submission(ADMIN, editor_form(name={"type": "plain_text_input", "value": "Ops evening"}))
    other["view"]["id"] = "V0EDITOR2"
    await submit_editor(app, other)

    assert sorted(r.name for r in await schedules_world.store.list_schedules()) == ["Ops evening", "Ops morning"]


async def test_a_submission_with_garbage_metadata_is_handled_as_a_new_schedule(schedules_world: SchedulesWorld, app: AsyncApp) -> None:
    payload = editor_submission(ADMIN, editor_form())
    payload["view"]["private_metadata"] = "{not json"

    response = await submit_editor(app, payload)

    assert response.status == 200
    assert len(await schedules_world.store.list_schedules()) == 1
