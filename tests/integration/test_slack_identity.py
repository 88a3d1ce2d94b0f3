"""Who and where, as Slack says: a channel's type is looked up with conversations.info and trusted for a few
minutes only, so a channel converted between public and private gets the scope of its new type."""

from __future__ import annotations

import json

from bot.slack.identity import CHANNEL_CACHE_TTL
from tests.conftest import FixedClock
from tests.fakes.slack_server import slash_command
from tests.integration.test_slack_harness import (  # fixture_*: registered by their declared names
    ALICE,
    OPS_CHANNEL,
    PRIVATE_CHANNEL,
    SlackBot,
    fixture_bot,  # noqa: F401
    fixture_model,  # noqa: F401
    fixture_seeded_sqlite,  # noqa: F401
    fixture_seeded_sqlite_file,  # noqa: F401
    fixture_slack,  # noqa: F401
    fixture_sqlite_bot,  # noqa: F401
)


async def _show_private_projects_in_private_channels(bot: SlackBot) -> None:
    version = await bot.deps.store.config_version()
    await bot.deps.store.apply_config(
        actor_id=ALICE, expected_version=version, values={"policy.channel_scopes": {"by_type": {"private": ["*"]}}}
    )


async def _ticket(bot: SlackBot, key: str, channel: str) -> None:
    await bot.send_command(slash_command("/ticket", key, user=ALICE, channel=channel, response_url=bot.slack.response_url()))
    await bot.settle()


async def test_a_private_channel_made_public_loses_the_private_scope_once_the_cached_type_expires(
    bot: SlackBot, clock: FixedClock
) -> None:
    await _show_private_projects_in_private_channels(bot)
    await _ticket(bot, "SEC-1", PRIVATE_CHANNEL)
    assert "SEC-1" in json.dumps([m.text for m in bot.slack.bot_messages(PRIVATE_CHANNEL)])

    bot.slack.channels[PRIVATE_CHANNEL].kind = "public"  # someone converts #secret to a public channel
    clock.advance(CHANNEL_CACHE_TTL.total_seconds() + 1)
    shown_before = len(bot.slack.bot_messages(PRIVATE_CHANNEL))
    await _ticket(bot, "SEC-1", PRIVATE_CHANNEL)

    assert len(bot.slack.bot_messages(PRIVATE_CHANNEL)) == shown_before  # nothing more in the now-public channel
    refusal = bot.slack.calls("response_url")[-1].args
    assert refusal["response_type"] == "ephemeral" and "not available" in json.dumps(refusal)


async def test_a_channel_type_is_asked_once_while_fresh_and_again_after_it_expires(
    sqlite_bot: SlackBot, clock: FixedClock
) -> None:
    directory = sqlite_bot.surface.directory
    assert await directory.channel_type(OPS_CHANNEL) == "public"
    sqlite_bot.slack.channels[OPS_CHANNEL].kind = "private"

    clock.advance(CHANNEL_CACHE_TTL.total_seconds() - 1)
    assert await directory.channel_type(OPS_CHANNEL) == "public"  # fresh: no second lookup
    clock.advance(2)
    assert await directory.channel_type(OPS_CHANNEL) == "private"
    assert len(sqlite_bot.slack.calls("conversations.info")) == 2


async def test_a_type_stated_by_slack_in_a_payload_replaces_the_cached_one(sqlite_bot: SlackBot) -> None:
    directory = sqlite_bot.surface.directory
    assert await directory.channel_type(OPS_CHANNEL) == "public"
    # e.g. the channel_convert_to_private message, or any message event in the converted channel
    actor = await directory.actor(user_id=ALICE, team_id=None, channel_id=OPS_CHANNEL, channel_kind="group")
    assert actor.channel_type == "private"
    assert await directory.channel_type(OPS_CHANNEL) == "private"
    assert len(sqlite_bot.slack.calls("conversations.info")) == 1
