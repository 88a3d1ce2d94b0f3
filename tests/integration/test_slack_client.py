"""The Web API client's retries, through the real AsyncWebClient against the fake Slack Web API: a 500/503 or a
dropped connection may come after Slack applied the call, so only calls that are safe to repeat are retried; a
post fails instead (and its caller falls back) rather than being sent twice."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_api.client import SlackClient, retry_handlers
from integrations.slack.failures import SLACK_FAILURES
from tests.fakes.slack_payloads import slash_command
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import (
    ALICE,
    ALICE_DM,
    OPS_CHANNEL,
    SlackBot,
)

Call = Callable[[AsyncWebClient, str], Awaitable[Any]]
"""One Web API call; the string is the ts of a message the bot posted in #ops."""
FAULTS = [pytest.param({"status": 500}, id="500"), pytest.param({"status": 503}, id="503"), pytest.param({"drop": True}, id="dropped")]
MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "chatops"}, "blocks": []}
NOT_REPEATABLE: dict[str, Call] = {
    "chat.postMessage": lambda c, ts: c.chat_postMessage(channel=OPS_CHANNEL, text="Deployed."),
    "chat.postEphemeral": lambda c, ts: c.chat_postEphemeral(channel=OPS_CHANNEL, user=ALICE, text="Only you."),
    "chat.startStream": lambda c, ts: c.chat_startStream(channel=ALICE_DM, thread_ts=ts, markdown_text="Hi"),
    "reactions.add": lambda c, ts: c.reactions_add(channel=OPS_CHANNEL, timestamp=ts, name="eyes"),
    "views.open": lambda c, ts: c.views_open(trigger_id="13345224609.738474920.8088930838d88f008e0", view=MODAL),
}
REPEATABLE: dict[str, Call] = {
    "users.info": lambda c, ts: c.users_info(user=ALICE),
    "conversations.info": lambda c, ts: c.conversations_info(channel=OPS_CHANNEL),
    "chat.update": lambda c, ts: c.chat_update(channel=OPS_CHANNEL, ts=ts, text="Edited."),
}


@pytest.fixture(name="client")
def fixture_client(slack: FakeSlack) -> AsyncWebClient:
    """The bot's retry handlers with a 10 ms backoff (the production backoff is slack_sdk's 0.5 s and up)."""
    return SlackClient(
        token=FakeSlack.BOT_TOKEN,
        base_url=slack.api_url,
        retry_handlers=retry_handlers(interval=FixedValueRetryIntervalCalculator(0.01)),
    )


async def _a_posted_message(client: AsyncWebClient) -> str:
    return str((await client.chat_postMessage(channel=OPS_CHANNEL, text="Working on it."))["ts"])


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("method", list(NOT_REPEATABLE))
async def test_a_call_slack_may_have_applied_is_never_sent_twice(
    client: AsyncWebClient, slack: FakeSlack, method: str, fault: dict[str, Any]
) -> None:
    ts = await _a_posted_message(client)
    before = len(slack.calls(method))
    slack.fail(method, applied=True, **fault)  # Slack applies the call, then the answer is lost
    with pytest.raises(SLACK_FAILURES):
        await NOT_REPEATABLE[method](client, ts)
    assert len(slack.calls(method)) == before + 1


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("method", list(REPEATABLE))
async def test_a_call_safe_to_repeat_is_retried_after_a_server_error_or_a_dropped_connection(
    client: AsyncWebClient, slack: FakeSlack, method: str, fault: dict[str, Any]
) -> None:
    ts = await _a_posted_message(client)
    slack.fail(method, applied=True, **fault)
    response = await REPEATABLE[method](client, ts)
    assert response["ok"] is True
    assert len(slack.calls(method)) == 2


async def test_a_command_whose_post_fails_after_slack_applied_it_posts_once_and_answers_ephemerally(
    sqlite_bot: SlackBot,
) -> None:
    bot = sqlite_bot
    bot.slack.fail("chat.postMessage", status=500, applied=True)
    await bot.send_command(slash_command("/ticket", "OPS-1", user=ALICE, channel=OPS_CHANNEL, response_url=bot.slack.response_url()))
    await bot.settle()
    assert len(bot.slack.calls("chat.postMessage")) == 1 and len(bot.slack.bot_messages(OPS_CHANNEL)) == 1
    [reply] = [c.args for c in bot.slack.calls("response_url")]
    assert reply["response_type"] == "ephemeral" and "Rotate TLS certificates" in json.dumps(reply["blocks"])
