"""Who and where, as Slack says: a channel's kind comes from the event or conversations.info by id (never from its
name), is trusted for a few minutes only, and a channel converted between public and private gets the scope of
its new kind."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from bot.slack.identity import CHANNEL_CACHE_TTL
from bot.slack_api.channel_kinds import channel_type_from_event
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import text_reply, tool_use, tool_use_reply
from tests.fakes.slack_data import ChannelKind
from tests.fakes.slack_payloads import event_callback, mention, signed_headers, slash_command
from tests.slack_harness import (
    ALICE,
    ALICE_DM,
    MENTION,
    OPS_CHANNEL,
    PRIVATE_CHANNEL,
    SlackBot,
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
    actor = await directory.actor(user_id=ALICE, team_id=None, channel_id=OPS_CHANNEL, channel_kind="group", ext_shared=False)
    assert actor.channel_type == "private"
    assert await directory.channel_type(OPS_CHANNEL) == "private"
    assert len(sqlite_bot.slack.calls("conversations.info")) == 1


async def test_questions_arriving_together_share_one_lookup_of_the_person_and_the_channel(sqlite_bot: SlackBot) -> None:
    directory = sqlite_bot.surface.directory
    slow = threading.Event()
    sqlite_bot.slack.fail("users.info", hold=slow)  # the first lookup is still under way when the others ask
    asking = [
        asyncio.create_task(directory.actor(user_id=ALICE, team_id=None, channel_id=OPS_CHANNEL)) for _ in range(10)
    ]
    await sqlite_bot.slack.await_call("users.info")
    slow.set()
    actors = await asyncio.gather(*asking)
    assert {(a.name, a.channel_type) for a in actors} == {("Alice Example", "public")}
    assert len(sqlite_bot.slack.calls("users.info")) == 1
    assert len(sqlite_bot.slack.calls("conversations.info")) == 1


# ---------------------------------------------------------------- a name decides nothing

TRAP = "C0TRAP"


async def test_a_public_channel_named_directmessage_never_gets_private_tickets_by_slash_command(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.slack.add_channel(TRAP, name="directmessage")  # anyone may name a public channel so
    fields = slash_command("/ticket", "SEC-2", user=ALICE, channel=TRAP, response_url=bot.slack.response_url())
    fields["channel_name"] = "directmessage"
    await bot.send_command(fields)
    await bot.settle()

    posted = json.dumps([m.text for m in bot.slack.bot_messages(TRAP)] + [m.blocks for m in bot.slack.bot_messages(TRAP)])
    assert "leaked CI token" not in posted
    assert "leaked CI token" not in json.dumps([c.args for c in bot.slack.calls("response_url")])
    assert bot.slack.calls("conversations.info")[-1].args["channel"] == TRAP, "the kind was asked of Slack by id"


async def test_a_public_channel_named_directmessage_never_gets_private_tickets_by_mention(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.slack.add_channel(TRAP, name="directmessage")
    bot.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "SEC-2"})]), text_reply("Here is what I found."))
    text = f"{MENTION} show SEC-2"
    asked = bot.slack.post_user_message(TRAP, user=ALICE, text=text)
    await bot.send_event(mention(channel=TRAP, user=ALICE, text=text, ts=asked))
    await bot.settle()

    [tool_result] = bot.model.bodies()[-1]["messages"][-1]["content"]
    assert tool_result["is_error"] is True and "leaked CI token" not in json.dumps(tool_result)
    assert "leaked CI token" not in json.dumps([c.args for c in bot.slack.calls()])


async def test_in_a_real_dm_the_same_ticket_is_shown(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    await bot.send_command(slash_command("/ticket", "SEC-2", user=ALICE, channel=ALICE_DM, response_url=bot.slack.response_url()))
    await bot.settle()
    assert "leaked CI token" in json.dumps([m.blocks for m in bot.slack.bot_messages(ALICE_DM)])


# ---------------------------------------------------------------- kinds Slack states

@pytest.mark.parametrize(
    ("kind", "expected"),
    [("public", "public"), ("private", "private"), ("im", "im"), ("mpim", "mpim"), ("ext_shared", "ext_shared")],
)
async def test_the_kind_is_what_conversations_info_says(sqlite_bot: SlackBot, kind: ChannelKind, expected: str) -> None:
    sqlite_bot.slack.add_channel("C0KIND", name="directmessage", kind=kind, user=ALICE if kind == "im" else None)
    assert await sqlite_bot.surface.directory.channel_type("C0KIND") == expected


async def test_a_failed_lookup_is_unknown_and_not_cached(sqlite_bot: SlackBot) -> None:
    directory = sqlite_bot.surface.directory
    sqlite_bot.slack.fail("conversations.info", "internal_error")
    assert await directory.channel_type(OPS_CHANNEL) == "unknown"
    assert await directory.channel_type(OPS_CHANNEL) == "public"


@pytest.mark.parametrize(
    ("channel_type", "ext_shared", "expected"),
    [("channel", False, "public"), ("group", False, "private"), ("channel", True, "ext_shared"), ("im", True, "ext_shared"), ("im", None, "im"),
     ("mpim", None, "mpim"), ("channel", None, None), ("directmessage", None, None), ("privategroup", False, None),
     (None, None, None), (7, None, None)],
)  # fmt: skip
def test_an_event_states_a_kind_only_with_slacks_own_fields(channel_type: object, ext_shared: object, expected: object) -> None:
    assert channel_type_from_event(channel_type, ext_shared=ext_shared) == expected


async def test_a_mention_in_a_slack_connect_channel_is_scoped_as_one(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]), text_reply("Done."))
    text = f"{MENTION} show OPS-1"
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=text)
    body = event_callback(mention(channel=OPS_CHANNEL, user=ALICE, text=text, ts=asked))
    body["is_ext_shared_channel"] = True  # the envelope says other organizations read this channel
    raw = json.dumps(body)
    await bot.post(raw, signed_headers(raw))
    await bot.settle()
    [tool_result] = bot.model.bodies()[-1]["messages"][-1]["content"]
    assert tool_result["is_error"] is True and "Rotate the TLS" not in json.dumps(tool_result)
