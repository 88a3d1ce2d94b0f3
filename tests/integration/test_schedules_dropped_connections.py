"""The schedule editor when Slack's answer is lost: a dropped connection on views.open, conversations.info or the
confirmation gets a clear message or a log line, never a crashed handler, and nothing is sent twice."""

from __future__ import annotations

import json

import pytest
from slack_bolt.async_app import AsyncApp

from bot.messages import schedules as schedule_text
from bot.slack.schedule_buttons import register_schedule_handlers
from bot.slack.schedule_commands import handle_digest_command
from tests.fakes.slack_server import FakeSlack
from tests.schedule_editor_driver import editor_form, editor_submission, submit_editor
from tests.schedules_world import ADMIN, CHANNEL, SchedulesWorld


@pytest.fixture
def app(schedules_world: SchedulesWorld) -> AsyncApp:
    """A Bolt app with the schedule handlers (listeners finish before the response)."""
    bolt = AsyncApp(
        client=schedules_world.deps.slack, signing_secret=FakeSlack.SIGNING_SECRET, process_before_response=True
    )
    register_schedule_handlers(bolt, schedules_world.deps)
    return bolt


async def test_a_dropped_connection_on_views_open_tells_the_admin_the_editor_did_not_open(
    schedules_world: SchedulesWorld,
) -> None:
    schedules_world.slack.fail("views.open", drop=True)

    reply = await handle_digest_command(
        schedules_world.deps.slack, schedules_world.deps, user_id=ADMIN, channel_id=CHANNEL, text="add", trigger_id="123.456.abc"
    )

    assert reply == schedule_text.schedule_modal_failed()
    assert len(schedules_world.slack.calls("views.open")) == 1, "views.open is never sent twice"


async def test_a_dropped_connection_while_checking_the_channel_keeps_the_form_open_with_an_error(
    schedules_world: SchedulesWorld, app: AsyncApp
) -> None:
    schedules_world.slack.fail("conversations.info", drop=True, times=6)  # 3 tries, each GET re-sent once by aiohttp

    response = await submit_editor(app, editor_submission(ADMIN, editor_form()))

    assert response.status == 200
    errors = json.loads(response.body)["errors"]
    assert errors == {"channel": schedule_text.schedule_channel_check_failed("ServerDisconnectedError")}
    assert await schedules_world.store.list_schedules() == []


async def test_a_confirmation_whose_answer_was_lost_is_not_sent_again_by_dm(
    schedules_world: SchedulesWorld, app: AsyncApp
) -> None:
    schedules_world.slack.fail("chat.postEphemeral", drop=True, applied=True)

    response = await submit_editor(app, editor_submission(ADMIN, editor_form()))

    assert response.status == 200 and not response.body
    assert len(await schedules_world.store.list_schedules()) == 1
    assert len(schedules_world.slack.calls("chat.postEphemeral")) == 1
    assert schedules_world.slack.calls("chat.postMessage") == [], "the ephemeral may have been shown: no second copy"


async def test_a_confirmation_slack_refused_is_sent_by_dm(schedules_world: SchedulesWorld, app: AsyncApp) -> None:
    schedules_world.slack.fail("chat.postEphemeral", "user_not_in_channel")

    response = await submit_editor(app, editor_submission(ADMIN, editor_form()))

    assert response.status == 200
    [dm] = schedules_world.slack.calls("chat.postMessage")
    assert dm.args["channel"] == ADMIN and "Ops morning" in dm.args["text"]
