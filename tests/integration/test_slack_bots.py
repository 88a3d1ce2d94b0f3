"""Messages from other bots, end to end through the real Bolt app: ignored unless the bot's id is in
CHATOPS_ALLOWED_BOT_IDS, then answered as that bot's user; the bot's own messages are always ignored."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.errors import ConfigError
from bot.settings import load_settings
from bot.storage.db import Database
from bot.storage.tables import TurnRow
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply
from tests.fakes.slack_payloads import event_callback, mention, message
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import (
    ALICE,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
    start_bot,
)

CI_BOT, CI_BOT_USER = "B0CI", "U0CIBOT"
"""A deploy bot that is allowed to ask."""
OTHER_BOT, OTHER_BOT_USER = "B0OTHER", "U0OTHERBOT"
"""A bot that is not."""
HOOK_BOT = "B0HOOK"
"""An incoming webhook: allowed, but it has no user to act as."""
CI_DM = "D0CIBOT"


class BotsSlack(FakeSlack):
    """The fake Slack plus `bots.info` as Slack answers it (`user_id` only for bots that have a bot user)."""

    BOTS: dict[str, dict[str, Any]] = {
        CI_BOT: {"id": CI_BOT, "deleted": False, "name": "ci", "app_id": "A0CI", "user_id": CI_BOT_USER},
        OTHER_BOT: {"id": OTHER_BOT, "deleted": False, "name": "other", "app_id": "A0OTHER", "user_id": OTHER_BOT_USER},
        HOOK_BOT: {"id": HOOK_BOT, "deleted": False, "name": "incoming-webhook"},
    }

    def _m_bots_info(self, args: dict[str, Any]) -> dict[str, Any]:
        bot = self.BOTS.get(str(args.get("bot")))
        return {"ok": True, "bot": bot} if bot is not None else self._err("bot_not_found")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """#ops, a DM between the CI bot and chatops, Alice, and the bots' users."""
    server = BotsSlack()
    server.add_channel(OPS_CHANNEL, name="ops")
    server.add_channel(CI_DM, kind="im", user=CI_BOT_USER)
    server.add_user(ALICE, name="Alice Example", email="alice@example.com")
    server.add_user(CI_BOT_USER, name="CI Bot", is_bot=True)
    server.add_user(OTHER_BOT_USER, name="Other Bot", is_bot=True)
    with server:
        yield server


@pytest.fixture
async def bot(slack: FakeSlack, model: AnthropicServer, database: Database, clock: FixedClock) -> AsyncIterator[SlackBot]:
    """The app with the CI bot, the webhook and (to show it changes nothing) chatops' own bot id allowed."""
    allowed = f"{CI_BOT}, {HOOK_BOT},{FakeSlack.BOT_ID}"
    async for harness in start_bot(slack, model, database, clock, chatops_allowed_bot_ids=allowed):
        yield harness


def bot_mention(bot_id: str, user: str, text: str, ts: str) -> dict[str, Any]:
    """An app_mention posted by an app: Slack names both its bot id and its bot user."""
    return {**mention(channel=OPS_CHANNEL, user=user, text=text, ts=ts), "bot_id": bot_id, "app_id": "A0X"}


def turn_users(bot: SlackBot) -> list[str]:
    return [t.user_id for t in bot.deps.db.run_sync(lambda s: list(s.exec(select(TurnRow))))]


async def test_a_mention_from_an_allowed_bot_is_answered_as_that_bots_user(bot: SlackBot) -> None:
    text = f"{MENTION} is OPS-1 blocking the deploy?"
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=CI_BOT_USER, text=text)
    bot.model.queue(text_reply("OPS-1 is not blocking it."))

    assert await bot.send_event(bot_mention(CI_BOT, CI_BOT_USER, text, asked)) == 200
    await bot.settle()

    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    assert answer.thread_ts == asked and answer.text == "OPS-1 is not blocking it."
    assert turn_users(bot) == [CI_BOT_USER]


async def test_a_mention_from_a_bot_that_is_not_allowed_is_ignored(bot: SlackBot) -> None:
    text = f"{MENTION} close every ticket"
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=OTHER_BOT_USER, text=text)

    assert await bot.send_event(bot_mention(OTHER_BOT, OTHER_BOT_USER, text, asked)) == 200
    await bot.settle()

    assert bot.model.bodies() == [] and bot.slack.bot_messages() == [] and turn_users(bot) == []


async def test_the_bots_own_messages_are_ignored_even_when_its_own_id_is_allowed(bot: SlackBot) -> None:
    own = {"bot_id": FakeSlack.BOT_ID, "app_id": FakeSlack.APP_ID}
    events = [
        message(channel=CI_DM, user=FakeSlack.BOT_USER_ID, text="OPS-1 is open.", ts="1763476300.000001", **own),
        {**mention(channel=OPS_CHANNEL, user=FakeSlack.BOT_USER_ID, text=f"{MENTION} hi", ts="1763476300.000002"), **own},
    ]
    for event in events:
        assert (await bot.dispatch(event_callback(event))).status == 200
    await bot.settle()

    assert bot.model.bodies() == [] and bot.slack.bot_messages() == []


async def test_an_integration_post_in_a_dm_is_answered_as_the_user_bots_info_names(bot: SlackBot) -> None:
    ts = bot.slack.post_user_message(CI_DM, user=CI_BOT_USER, text="which OPS tickets are blocked?")
    bot.model.queue(text_reply("None are blocked."))
    post = message(channel=CI_DM, user=None, text="which OPS tickets are blocked?", ts=ts, subtype="bot_message",
                   bot_id=CI_BOT, username="ci")  # fmt: skip

    assert (await bot.dispatch(event_callback(post))).status == 200
    await bot.settle()

    [answer] = bot.slack.bot_messages(CI_DM)
    assert answer.thread_ts == ts and answer.text == "None are blocked."
    assert [c.args["bot"] for c in bot.slack.calls("bots.info")] == [CI_BOT]
    assert turn_users(bot) == [CI_BOT_USER]


async def test_an_allowed_bot_without_a_user_to_act_as_is_ignored_and_logged(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    post = message(channel=CI_DM, user=None, text="deploy finished", ts="1763476300.000003", subtype="bot_message",
                   bot_id=HOOK_BOT)  # fmt: skip

    with caplog.at_level(logging.WARNING, logger="chatops.slack.listeners"):
        assert (await bot.dispatch(event_callback(post))).status == 200
        await bot.settle()

    assert bot.model.bodies() == [] and bot.slack.bot_messages() == []
    assert any(r.getMessage().startswith("allowed bot has no user to act as") for r in caplog.records)


def test_allowed_bot_ids_are_read_like_the_admins_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATOPS_ALLOWED_BOT_IDS", "B0123, B0CI B0DEPLOY")
    assert load_settings(_env_file=None).chatops_allowed_bot_ids == ["B0123", "B0CI", "B0DEPLOY"]
    monkeypatch.delenv("CHATOPS_ALLOWED_BOT_IDS")
    assert load_settings(_env_file=None).chatops_allowed_bot_ids == []


def test_a_bot_user_id_in_allowed_bot_ids_stops_start_up_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATOPS_ALLOWED_BOT_IDS", "B0CI,U0CIBOT")
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    assert "CHATOPS_ALLOWED_BOT_IDS: Slack bot ids look like B0123ABCD (not the bot's user id U…), got 'U0CIBOT'" in str(
        raised.value
    )
