"""Slash commands end to end: acked at once, a forced tool (or no model at all), the answer in a thread."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator

import pytest

from bot.messages import admin as admin_text
from bot.storage.db import Database
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, Reply, text_reply, tool_use, tool_use_reply
from tests.fakes.slack_payloads import slash_command
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import (
    ALICE,
    BOB,
    OPS_CHANNEL,
    SlackBot,
    start_bot,
)


@pytest.fixture
async def viewer_bot(
    slack: FakeSlack, model: AnthropicServer, seeded_sqlite: Database, clock: FixedClock
) -> AsyncIterator[SlackBot]:
    """The app where everyone but the admin (Alice) is a viewer."""
    async for harness in start_bot(slack, model, seeded_sqlite, clock, chatops_default_role="viewer"):
        yield harness


async def _command(bot: SlackBot, command: str, text: str, *, user: str = ALICE, channel: str = OPS_CHANNEL) -> tuple[int, str]:
    return await bot.send_command(slash_command(command, text, user=user, channel=channel, response_url=bot.slack.response_url()))


def _responses(bot: SlackBot) -> list[dict]:
    return [c.args for c in bot.slack.calls("response_url")]


async def test_ticket_with_a_key_shows_the_ticket_without_asking_the_model(bot: SlackBot) -> None:
    status, body = await _command(bot, "/ticket", "ops-1")
    assert (status, body) == (200, "")
    await bot.settle()
    assert bot.model.bodies() == []
    request, answer = bot.slack.bot_messages(OPS_CHANNEL)
    assert request.text == f"<@{ALICE}> used /ticket"
    assert answer.thread_ts == request.ts
    assert "OPS-1" in answer.text and "Rotate TLS certificates" in answer.text
    assert "get_ticket" in json.dumps(answer.blocks)


async def test_a_described_ticket_runs_the_model_with_the_get_ticket_tool_forced(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]), text_reply("That is OPS-1."))
    await _command(bot, "/ticket", "the TLS rotation one")
    await bot.settle()
    body = bot.model.bodies()[0]
    assert body["tool_choice"]["type"] == "tool" and body["tool_choice"]["name"] == "get_ticket"
    assert body["messages"][0]["content"][0]["text"].endswith("/ticket the TLS rotation one")
    assert bot.slack.bot_messages(OPS_CHANNEL)[-1].text == "That is OPS-1."


async def test_tickets_forces_the_search_tool(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.model.queue(tool_use_reply([tool_use("search_tickets", {"project": "OPS"})]), text_reply("3 open tickets."))
    await _command(bot, "/tickets", "open tickets in OPS")
    await bot.settle()
    assert bot.model.bodies()[0]["tool_choice"]["name"] == "search_tickets"
    request, answer = bot.slack.bot_messages(OPS_CHANNEL)
    assert answer.thread_ts == request.ts and answer.text == "3 open tickets."


async def test_summary_of_a_project_forces_the_workload_digest(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.model.queue(tool_use_reply([tool_use("workload_digest", {"project": "OPS"})]), text_reply("Maya has the most."))
    await _command(bot, "/summary", "OPS")
    await bot.settle()
    assert bot.model.bodies()[0]["tool_choice"]["name"] == "workload_digest"


async def test_comment_with_key_and_text_is_added_directly_for_an_admin(bot: SlackBot) -> None:
    await _command(bot, "/comment", "OPS-1 Deployed the fix to staging")
    await bot.settle()
    assert bot.model.bodies() == []
    comments = await bot.deps.tickets.list_comments("OPS-1", limit=50)
    assert any("Deployed the fix to staging" in c.body for c in comments.comments)


async def test_a_members_comment_waits_for_approval_in_the_thread(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    await _command(bot, "/comment", "OPS-1 Deployed the fix to staging", user=BOB)
    await bot.settle()
    request, answer = bot.slack.bot_messages(OPS_CHANNEL)
    assert answer.thread_ts == request.ts
    assert any(b["type"] == "actions" for b in answer.blocks)
    comments = await bot.deps.tickets.list_comments("OPS-1", limit=50)
    assert not any("Deployed the fix" in c.body for c in comments.comments)


@pytest.mark.parametrize(
    ("command", "text"),
    [("/ticket", ""), ("/comment", "OPS-1"), ("/tickets", "   "), ("/chatops", "frobnicate")],
)
async def test_usage_errors_are_answered_ephemerally_in_the_ack(sqlite_bot: SlackBot, command: str, text: str) -> None:
    status, body = await _command(sqlite_bot, command, text)
    reply = json.loads(body)
    assert status == 200 and reply["response_type"] == "ephemeral"
    assert command in reply["text"]
    await sqlite_bot.settle()
    assert sqlite_bot.slack.bot_messages() == [] and sqlite_bot.model.bodies() == []


async def test_the_ack_returns_while_the_model_is_still_working(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    gate = threading.Event()
    bot.model.queue(Reply(content=["Nothing is blocked."], gate=gate))
    status, _ = await _command(bot, "/tickets", "blocked tickets")
    assert status == 200 and not gate.is_set()
    await bot.model.await_messages(1)
    gate.set()
    await bot.settle()
    assert bot.slack.bot_messages(OPS_CHANNEL)[-1].text == "Nothing is blocked."


async def test_help_lists_only_what_the_caller_may_use(viewer_bot: SlackBot) -> None:
    bot = viewer_bot
    await _command(bot, "/chatops", "help", user=BOB)
    await bot.settle()  # one at a time: the responses are read in order
    await _command(bot, "/chatops", "help", user=ALICE)
    await bot.settle()
    viewer, admin = (json.dumps(r["blocks"]) for r in _responses(bot))
    assert "/ticket OPS-12" in viewer and "/comment" not in viewer and "add_comment" not in viewer
    assert "/chatops config" not in viewer
    assert "manages scheduled digests" not in viewer and "/chatops digest preview" in viewer  # admin-only hidden
    assert "/comment" in admin and "add_comment" in admin and "/chatops config" in admin
    assert "manages scheduled digests" in admin
    assert all(r["response_type"] == "ephemeral" for r in _responses(bot))


async def test_a_command_whose_tool_the_caller_may_not_use_is_refused(viewer_bot: SlackBot) -> None:
    await _command(viewer_bot, "/comment", "OPS-1 hello", user=BOB)
    await viewer_bot.settle()
    [reply] = _responses(viewer_bot)
    assert "/comment" in reply["text"] and viewer_bot.slack.bot_messages() == []


async def test_whoami_shows_the_callers_role(viewer_bot: SlackBot) -> None:
    await _command(viewer_bot, "/chatops", "whoami", user=BOB)
    await viewer_bot.settle()
    [reply] = _responses(viewer_bot)
    assert "*viewer*" in reply["text"] and BOB in reply["text"]


async def test_config_opens_the_admin_modal_for_an_admin_only(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    await _command(bot, "/chatops", "config", user=BOB)
    await bot.settle()
    assert bot.slack.calls("views.open") == [] and len(_responses(bot)) == 1
    await _command(bot, "/chatops", "config", user=ALICE)
    await bot.settle()
    [opened] = bot.slack.calls("views.open")
    assert opened.args["trigger_id"] and opened.args["view"]["type"] == "modal"


async def test_config_without_a_trigger_id_tells_the_admin_the_modal_could_not_open(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    fields = slash_command("/chatops", "config", user=ALICE, channel=OPS_CHANNEL, response_url=bot.slack.response_url())
    del fields["trigger_id"]
    assert await bot.send_command(fields) == (200, "")
    await bot.settle()
    [reply] = _responses(bot)
    assert reply["text"] == admin_text.config_modal_failed() and reply["response_type"] == "ephemeral"
    assert bot.slack.calls("views.open") == [] and bot.surface.tasks.failures == 0


async def test_digest_is_handed_to_the_schedules(sqlite_bot: SlackBot) -> None:
    await _command(sqlite_bot, "/chatops", "digest list")
    await sqlite_bot.settle()
    [reply] = _responses(sqlite_bot)
    assert reply["response_type"] == "ephemeral" and reply["text"]


async def test_a_command_in_a_channel_the_bot_is_not_in_is_answered_ephemerally(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.slack.add_channel("C0ELSEWHERE", member=False)
    await _command(bot, "/ticket", "OPS-1", channel="C0ELSEWHERE")
    await bot.settle()
    [reply] = _responses(bot)
    assert reply["response_type"] == "ephemeral"
    assert "Rotate TLS certificates" in json.dumps(reply["blocks"])
    assert bot.slack.bot_messages() == []



def _public_chat_text(bot: SlackBot, channel: str) -> str:
    """Everything the bot sent with chat.* methods into `channel` (posts, streams, updates, ephemerals)."""
    calls = [c for c in bot.slack.calls() if c.method.startswith("chat.") and c.args.get("channel") == channel]
    return json.dumps([c.args for c in calls]).lower()


@pytest.mark.parametrize(
    ("command", "text"),
    [("/comment", "SEC-2 the leaked token was ghp_s3cr3tvalue"), ("/ticket", "sec-2"), ("/summary", "SEC-2")],
)
async def test_a_private_ticket_named_in_a_public_channel_never_reaches_the_channel(
    sqlite_bot: SlackBot, command: str, text: str
) -> None:
    bot = sqlite_bot
    await _command(bot, command, text)
    await bot.settle()
    shown = _public_chat_text(bot, OPS_CHANNEL)
    assert "sec-2" not in shown and "ghp_s3cr3tvalue" not in shown
    [reply] = _responses(bot)  # the refusal goes to the asker only
    assert reply["response_type"] == "ephemeral" and "not available" in json.dumps(reply)
    comments = await bot.deps.tickets.list_comments("SEC-2", limit=50)
    assert not any("ghp_s3cr3tvalue" in c.body for c in comments.comments)


async def test_a_command_posts_only_its_name_in_the_channel_never_its_text(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    await _command(bot, "/comment", "OPS-1 rolled back build 4711 after the canary failed")
    await bot.settle()
    parent = bot.slack.bot_messages(OPS_CHANNEL)[0]
    assert parent.text == f"<@{ALICE}> used /comment" and parent.thread_ts is None
    assert all("4711" not in m.text for m in bot.slack.bot_messages(OPS_CHANNEL) if m.thread_ts is None)
