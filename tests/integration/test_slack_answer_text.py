"""Answers read as one text: what the model writes before calling tools is shown as a note (a task), not glued to
the answer; text of separate steps is separated by a paragraph break; the stream and the final message agree."""

from __future__ import annotations

from tests.fakes.anthropic_server import text_reply, tool_use, tool_use_reply
from tests.fakes.slack_payloads import mention
from tests.slack_harness import (
    ALICE,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
)


async def _ask(bot: SlackBot, text: str) -> str:
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=text)
    assert await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=text, ts=asked)) == 200
    await bot.settle()
    return asked


def _streamed_text(bot: SlackBot) -> str:
    text = ""
    for call in bot.slack.calls():
        if call.method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
            text += call.args.get("markdown_text") or ""
            text += "".join(c.get("text", "") for c in call.args.get("chunks") or [] if c.get("type") == "markdown_text")
    return text


async def test_a_note_before_tool_calls_is_a_task_and_the_answer_is_not_glued_to_it(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.model.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-3"})], text="Let me check OPS-3."),
        text_reply("OPS-3 is blocked by the vendor."),
    )
    await _ask(bot, f"{MENTION} what about OPS-3?")

    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    assert answer.text == "OPS-3 is blocked by the vendor."
    assert _streamed_text(bot) == "OPS-3 is blocked by the vendor."
    titles = [c["title"] for c in answer.chunks if c["type"] == "task_update"]
    assert titles[0] == "Let me check OPS-3." and "get_ticket" in titles
    assert bot.slack.calls("chat.update") == [], "the stream already showed exactly the answer"


async def test_a_long_text_before_tool_calls_streams_but_the_final_message_is_the_answer(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    long_note = "I will look at the ticket and its history first, because the state alone may mislead. " * 5
    bot.model.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-3"})], text=long_note.strip()),
        text_reply("OPS-3 is blocked by the vendor."),
    )
    await _ask(bot, f"{MENTION} what about OPS-3?")

    streamed = _streamed_text(bot)
    assert "may mislead.\n\nOPS-3 is blocked" in streamed, "separate steps, separate paragraphs"
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    assert answer.text == "OPS-3 is blocked by the vendor.", "replaced by the answer: stream and result agree"
    [update] = bot.slack.calls("chat.update")
    assert "may mislead" not in str(update.args.get("blocks"))


async def test_a_short_answer_without_tools_is_one_post_carrying_its_context_line_and_buttons(
    sqlite_bot: SlackBot,
) -> None:
    bot = sqlite_bot
    bot.model.queue(text_reply("OPS-1 is open."))
    asked = await _ask(bot, f"{MENTION} is OPS-1 open?")
    assert _streamed_text(bot) == "" and bot.slack.calls("chat.startStream") == [], "nothing to stream: one post"
    [post] = bot.slack.calls("chat.postMessage")
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    assert (answer.text, answer.thread_ts) == ("OPS-1 is open.", asked)
    assert [b["type"] for b in answer.blocks] == ["markdown", "context", "context_actions"]
    assert answer.metadata is not None and answer.metadata["event_type"] == "chatops_message"
    assert post.args["unfurl_links"] is False


async def test_a_posted_answer_leaves_clearing_the_status_to_slack(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.model.queue(text_reply("OPS-1 is open."))
    asked = await _ask(bot, f"{MENTION} is OPS-1 open?")
    [shown] = bot.slack.calls("assistant.threads.setStatus")  # set once; Slack clears it when the reply is posted
    assert shown.args["status"] and bot.slack.methods()[-1] == "chat.postMessage"
    assert bot.slack.statuses[-1] == (OPS_CHANNEL, asked, "")
