"""A channel converted between public and private gets its new scope at once: the app's middleware reads Slack's
`channel_convert_to_*` message subtypes (which the message listener ignores) into the channel-type cache."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.app import surface_of
from tests.fakes.slack_server import FakeSlack
from tests.integration.test_approvals_world import CHANNEL, TEAM, World, model, slack, world

__all__ = ["model", "slack", "world"]


def conversion(subtype: str, *, channel: str = CHANNEL) -> dict[str, Any]:
    """The event_callback Slack sends when an admin converts `channel`."""
    return {
        "type": "event_callback",
        "team_id": TEAM,
        "api_app_id": FakeSlack.APP_ID,
        "event_id": f"Ev{subtype[-6:]}",
        "event_time": 1763476400,
        "event": {
            "type": "message",
            "subtype": subtype,
            "channel": channel,
            "channel_type": "channel",
            "user": "U0ADMIN",
            "text": "converted this channel",
            "ts": "1763476400.000100",
            "event_ts": "1763476400.000100",
        },
    }


@pytest.mark.parametrize(
    ("subtype", "cached_before", "after"),
    [("channel_convert_to_private", "public", "private"), ("channel_convert_to_public", "private", "public")],
)
async def test_a_conversion_event_updates_the_cached_channel_type_at_once(
    world: World, subtype: str, cached_before: Any, after: str
) -> None:
    directory = surface_of(world.deps).directory
    directory.remember_channel_type(CHANNEL, cached_before)

    response = await world.dispatch(conversion(subtype))

    assert response.status == 200
    assert await directory.channel_type(CHANNEL) == after
    assert world.slack.calls("conversations.info") == [], "known from the event, not looked up"


async def test_a_conversion_event_is_not_answered(world: World) -> None:
    await world.dispatch(conversion("channel_convert_to_private"))

    assert world.slack.calls("chat.postMessage") == []
