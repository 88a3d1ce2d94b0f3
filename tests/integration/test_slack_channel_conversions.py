"""A channel converted between public and private gets its new scope at once: the app's middleware reads Slack's
`channel_convert_to_*` message subtypes (which the message listener ignores) into the channel-type cache."""

from __future__ import annotations

from typing import Any

import pytest

from tests.approvals_world import CHANNEL, TEAM, ApprovalsWorld
from tests.fakes.slack_server import FakeSlack


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
    approvals_world: ApprovalsWorld, subtype: str, cached_before: Any, after: str
) -> None:
    directory = approvals_world.surface.directory
    directory.remember_channel_type(CHANNEL, cached_before)

    response = await approvals_world.dispatch(conversion(subtype))

    assert response.status == 200
    assert await directory.channel_type(CHANNEL) == after
    assert approvals_world.slack.calls("conversations.info") == [], "known from the event, not looked up"


async def test_a_conversion_event_is_not_answered(approvals_world: ApprovalsWorld) -> None:
    await approvals_world.dispatch(conversion("channel_convert_to_private"))

    assert approvals_world.slack.calls("chat.postMessage") == []


def channel_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event_callback around a channel event (shapes as Slack documents them)."""
    return {
        "type": "event_callback",
        "team_id": TEAM,
        "api_app_id": FakeSlack.APP_ID,
        "event_id": f"Ev{event['type']}",
        "event_time": 1763476400,
        "event": {**event, "event_ts": "1763476400.000200"},
    }


async def test_a_channel_shared_with_another_organization_is_scoped_as_slack_connect_at_once(approvals_world: ApprovalsWorld) -> None:
    directory = approvals_world.surface.directory
    directory.remember_channel_type(CHANNEL, "public")

    response = await approvals_world.dispatch(channel_event({"type": "channel_shared", "connected_team_id": "E0OTHER", "channel": CHANNEL}))

    assert response.status == 200
    assert await directory.channel_type(CHANNEL) == "ext_shared"
    assert approvals_world.slack.calls("conversations.info") == []


@pytest.mark.parametrize(("still_shared", "after"), [(False, "public"), (True, "ext_shared")])
async def test_an_unshared_channel_is_asked_again_unless_slack_says_it_is_still_shared(
    approvals_world: ApprovalsWorld, still_shared: bool, after: str
) -> None:
    directory = approvals_world.surface.directory
    directory.remember_channel_type(CHANNEL, "ext_shared")
    event = {"type": "channel_unshared", "previously_connected_team_id": "E0OTHER", "channel": CHANNEL, "is_ext_shared": still_shared}

    await approvals_world.dispatch(channel_event(event))

    assert await directory.channel_type(CHANNEL) == after  # the fake's #ops is an ordinary public channel


async def test_a_renamed_channel_is_looked_up_again_by_id(approvals_world: ApprovalsWorld) -> None:
    directory = approvals_world.surface.directory
    directory.remember_channel_type(CHANNEL, "private")

    response = await approvals_world.dispatch(
        channel_event({"type": "channel_rename", "channel": {"id": CHANNEL, "name": "directmessage", "created": 1360782804}})
    )

    assert response.status == 200
    assert await directory.channel_type(CHANNEL) == "public"
    assert len(approvals_world.slack.calls("conversations.info")) == 1


async def test_a_private_channel_whose_id_changed_for_slack_connect_is_scoped_as_shared(approvals_world: ApprovalsWorld) -> None:
    directory = approvals_world.surface.directory
    await approvals_world.dispatch(channel_event({"type": "channel_id_changed", "old_channel_id": "G0OLD", "new_channel_id": "C0NEW"}))
    assert await directory.channel_type("C0NEW") == "ext_shared"
