"""A well-formed request no listener handles (an event the app did not ask for, a button whose action nobody
listens to): acknowledged with 200 over HTTP and over the socket, logged once, nothing posted. A 404 would make
Slack redeliver the event, or show the person an error on the button."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.fakes.slack_payloads import event_callback
from tests.slack_harness import (
    ALICE,
    OPS_CHANNEL,
    SlackBot,
)

REACTION = {"type": "reaction_added", "user": ALICE, "reaction": "eyes", "item": {"type": "message", "channel": OPS_CHANNEL, "ts": "1.000100"}, "event_ts": "2.000100"}
LINK_BUTTON: dict[str, Any] = {
    "type": "block_actions", "user": {"id": ALICE}, "team": {"id": "T0TEAM"}, "trigger_id": "1.2",
    "container": {"type": "message", "channel_id": OPS_CHANNEL, "message_ts": "1.000100"},
    "actions": [{"action_id": "open_in_jira", "block_id": "b1", "type": "button", "value": "OPS-1"}],
}  # fmt: skip


def _ignored(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if r.getMessage() == "request ignored"]  # type: ignore[attr-defined]


async def test_over_http_an_unhandled_event_and_action_get_200_and_a_log_line(bot: SlackBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    event_status = await bot.send_event(REACTION)
    action_status = await bot.send_interactive(LINK_BUTTON)
    await bot.settle()

    assert (event_status, action_status) == (200, 200)
    assert [(f["reason"], f["type"]) for f in _ignored(caplog)] == [("no listener for it", "event_callback"), ("no listener for it", "block_actions")]
    assert bot.slack.bot_messages() == [] and bot.model.bodies() == []


async def test_over_the_socket_they_are_acknowledged(socket_bot: SlackBot) -> None:  # noqa: F811
    event = await asyncio.to_thread(socket_bot.slack.socket_send, "events_api", event_callback(REACTION))
    action = await asyncio.to_thread(socket_bot.slack.socket_send, "interactive", LINK_BUTTON)

    for envelope in (event, action):
        assert (await asyncio.to_thread(socket_bot.slack.socket_ack, envelope)) == {"envelope_id": envelope}
    assert socket_bot.slack.bot_messages() == []
