"""Every surface's text passes the outbound boundary: a ticket, a question or an argument carrying a broadcast and
secrets reaches the fake Slack inert and masked, whatever path it takes (answer, stream, tasks, trace, approval
request, ephemeral answer, modal, App Home, ack). The digest's path is covered in test_digest_posting.py."""

from __future__ import annotations

import json

from bot.slack.schedule_editor import CALLBACK_ID as SCHEDULE_EDITOR
from bot.storage.tables import ScheduleRow
from integrations.tickets.base import NewTicket
from tests.fakes.anthropic_server import text_reply, tool_use, tool_use_reply
from tests.fakes.slack_payloads import (
    app_home_opened,
    interactive_body,
    mention,
    message,
    signed_headers,
    slash_command,
)
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import (
    ALICE,
    ALICE_DM,
    BOB,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
)

HOSTILE = "<!channel> @here <!subteam^S0OPS|@oncall> password: hunter2 key AKIAQX7ZL4PCOMP3TEST xoxb-2048150375-4096118831-Zq8pLw3"
LEAKS = ("<!channel>", "<!subteam", "hunter2", "AKIAQX7ZL4PCOMP3TEST", "xoxb-2048150375", '"@here')


def received(bot: SlackBot, *methods: str) -> str:
    """Everything the fake Slack received through the given methods (all when none), as JSON."""
    calls = [c for c in bot.slack.calls() if not methods or c.method in methods]
    assert calls, f"nothing was sent through {methods or 'any method'}"
    return json.dumps([c.args for c in calls], ensure_ascii=False)


def assert_clean(sent: str) -> None:
    leaked = [leak for leak in LEAKS if leak in sent]
    assert leaked == [], f"reached Slack unsanitized: {leaked}"


async def _hostile_ticket(bot: SlackBot) -> str:
    ticket = await bot.deps.tickets.create_ticket(
        NewTicket(project="OPS", summary=f"Rotate {HOSTILE}", description=HOSTILE), reporter=None, via="test"
    )
    return ticket.key


async def _ask(bot: SlackBot, text: str, *, user: str = ALICE) -> None:
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=user, text=text)
    assert await bot.send_event(mention(channel=OPS_CHANNEL, user=user, text=text, ts=asked)) == 200
    await bot.settle()


async def test_the_answer_and_its_streamed_text_are_sanitized(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.model.queue(text_reply(f"Here it is: {HOSTILE} " + "and more words " * 30))
    await _ask(bot, f"{MENTION} show me")
    streamed = received(bot, "chat.startStream", "chat.appendStream", "chat.stopStream")
    assert "hunter2" not in streamed and "password: [redacted]" in streamed
    assert_clean(received(bot))


async def test_task_titles_details_and_outputs_are_sanitized(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    key = await _hostile_ticket(bot)
    bot.model.queue(
        tool_use_reply([tool_use("search_tickets", {"text": HOSTILE}), tool_use("get_ticket", {"key": key})]),
        text_reply("Done."),
    )
    await _ask(bot, f"{MENTION} find it")
    tasks = [c for call in bot.slack.calls() for c in call.args.get("chunks") or [] if c.get("type") == "task_update"]
    assert any(t.get("details") for t in tasks) and any(t.get("output") for t in tasks)
    assert_clean(json.dumps(tasks, ensure_ascii=False))
    assert_clean(received(bot))


async def test_the_trace_is_sanitized(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    key = await _hostile_ticket(bot)
    bot.model.queue(tool_use_reply([tool_use("get_ticket", {"key": key})]), text_reply("Done."))
    await _ask(bot, f"{MENTION} show {key}")
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    trace = json.dumps(answer.blocks, ensure_ascii=False)
    assert "Rotate" in trace
    assert_clean(trace)


async def test_an_approval_request_is_sanitized(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.model.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": HOSTILE})]))
    await _ask(bot, f"{MENTION} comment on OPS-1", user=BOB)  # a member: writes wait for Approve
    buttons = [c for c in bot.slack.calls() if "approve" in json.dumps(c.args.get("blocks") or [])]
    assert buttons, "the approval request was posted"
    assert_clean(received(bot))


async def test_an_ephemeral_answer_is_sanitized(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    # a refused direct call is answered to the asker only, and in their eyes the trace repeats the arguments
    await bot.send_command(
        slash_command("/comment", f"SEC-1 {HOSTILE}", user=BOB, channel=OPS_CHANNEL, response_url=bot.slack.response_url())
    )
    await bot.settle()
    ephemeral = received(bot, "response_url")
    assert '"ephemeral"' in ephemeral and "SEC-1" in ephemeral
    assert_clean(received(bot))


async def test_a_modal_is_sanitized(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    row = ScheduleRow(
        id="d0001", name=f"OPS {HOSTILE}"[:200], kind="digest", channel_id=OPS_CHANNEL, project_key="OPS",
        cron="0 9 * * 1-5", timezone="Europe/Berlin", enabled=True, created_by=ALICE,
        options={"every": "weekdays", "time": "09:00", "stale_days": 3},
    )  # fmt: skip
    await bot.deps.store.save_schedule(row, by=ALICE, action="add")
    await bot.send_command(slash_command("/chatops", "config", user=ALICE, channel=OPS_CHANNEL, response_url=bot.slack.response_url()))
    await bot.settle()
    modal = received(bot, "views.open")
    assert "OPS " in modal
    assert_clean(modal)


async def test_app_home_is_sanitized(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.model.queue(text_reply("Noted."))
    asked = bot.slack.post_user_message(ALICE_DM, user=ALICE, text=HOSTILE)
    await bot.send_event(message(channel=ALICE_DM, user=ALICE, text=HOSTILE, ts=asked))
    await bot.settle()
    await bot.send_event(app_home_opened(user=ALICE))
    await bot.settle()
    home = received(bot, "views.publish")
    assert "recent conversations" in home
    assert_clean(home)


async def test_an_ack_is_sanitized(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    # a view submission's errors are answered in the ack itself; a forged schedule id is echoed in that error
    payload = {
        "type": "view_submission",
        "team": {"id": FakeSlack.TEAM_ID},
        "user": {"id": ALICE, "team_id": FakeSlack.TEAM_ID},
        "api_app_id": FakeSlack.APP_ID,
        "trigger_id": "111.222.abc",
        "view": {"id": "V0ACK", "type": "modal", "callback_id": SCHEDULE_EDITOR,
                 "private_metadata": json.dumps({"schedule_id": HOSTILE}), "state": {"values": {}}},
    }  # fmt: skip
    body = interactive_body(payload)
    status, text, _ = await bot.post(body, signed_headers(body, content_type="application/x-www-form-urlencoded"))
    assert status == 200 and '"response_action": "errors"' in text.replace('":"', '": "')
    assert_clean(text)
