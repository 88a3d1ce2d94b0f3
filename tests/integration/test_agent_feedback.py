"""👍/👎 on every answer, end to end: the real Bolt app answers through the fake Slack and model; clicks arrive as
signed `block_actions` with Slack's feedback-buttons shape; ratings land in the real database and in the App Home."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.feedback import ephemeral_answer_ts
from tests.fakes.anthropic_server import text_reply, tool_use, tool_use_reply
from tests.fakes.slack_agent import feedback_click, feedback_note
from tests.fakes.slack_payloads import app_home_opened, mention, slash_command
from tests.slack_harness import (
    ALICE,
    BOB,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
)


async def _send(bot: SlackBot, payload: dict[str, Any]) -> int:
    """Deliver an interaction and wait for its background work."""
    status = await bot.send_interactive(payload)
    await bot.settle()
    return status


ANSWERING_MODEL = "claude-sonnet-4-6-20260217"
"""The model id the API names in its answer (the setting asks for the alias `claude-sonnet-4-6`)."""


async def _answered(bot: SlackBot, question: str = "what is OPS-1?") -> str:
    """Ask in #ops with one get_ticket call; returns the ts of the answer message."""
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} {question}")
    bot.model.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})], model=ANSWERING_MODEL),
        text_reply("OPS-1 is open.", model=ANSWERING_MODEL),
    )
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} {question}", ts=asked))
    await bot.settle()
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    return answer.ts


async def test_every_answer_carries_feedback_buttons_and_is_recorded_with_its_turn(bot: SlackBot) -> None:
    ts = await _answered(bot)
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    [block] = [b for b in answer.blocks if b["type"] == "context_actions"]
    [element] = block["elements"]
    assert element["type"] == "feedback_buttons" and element["action_id"] == "answer_feedback"
    assert (element["positive_button"]["value"], element["negative_button"]["value"]) == ("up", "down")
    assert [b["type"] for b in answer.blocks][-1] == "container"  # the trace stays last
    stored = await bot.deps.store.answer_at(team_id=bot.slack.TEAM_ID, channel_id=OPS_CHANNEL, message_ts=ts)
    assert stored is not None
    # the model that answered, as the API named it on the turn, not the setting read when the answer was posted
    assert (stored.model, stored.user_id, stored.status) == (ANSWERING_MODEL, ALICE, "answered")
    assert [t["tool"] for t in stored.tools or []] == ["get_ticket"]
    assert stored.input_tokens > 0 and stored.output_tokens > 0 and stored.latency_ms >= 0


async def test_a_click_is_stored_once_per_person_and_a_second_click_changes_it(bot: SlackBot) -> None:
    ts = await _answered(bot)
    answer = await bot.deps.store.answer_at(team_id=bot.slack.TEAM_ID, channel_id=OPS_CHANNEL, message_ts=ts)
    assert answer is not None
    for _ in range(2):
        assert await _send(bot, feedback_click(user=BOB, channel=OPS_CHANNEL, message_ts=ts, value="up")) == 200
    assert [(f.user_id, f.rating) for f in await bot.deps.store.feedback_of(answer.id)] == [(BOB, "up")]
    assert len(bot.slack.calls("chat.postEphemeral")) == 1  # thanked once, not for the repeat

    await _send(bot, feedback_click(user=BOB, channel=OPS_CHANNEL, message_ts=ts, value="down"))
    await _send(bot, feedback_click(user=ALICE, channel=OPS_CHANNEL, message_ts=ts, value="up"))
    rows = await bot.deps.store.feedback_of(answer.id)
    assert sorted((f.user_id, f.rating) for f in rows) == [(ALICE, "up"), (BOB, "down")]
    [opened] = bot.slack.calls("views.open")
    assert opened.args["view"]["callback_id"] == "answer_feedback_comment"
    assert opened.args["view"]["private_metadata"] == answer.id


async def test_a_thumbs_down_keeps_the_optional_note_of_its_author_only(bot: SlackBot) -> None:
    ts = await _answered(bot)
    answer = await bot.deps.store.answer_at(team_id=bot.slack.TEAM_ID, channel_id=OPS_CHANNEL, message_ts=ts)
    assert answer is not None
    await _send(bot, feedback_click(user=BOB, channel=OPS_CHANNEL, message_ts=ts, value="down"))
    assert await _send(bot, feedback_note(user=BOB, answer_id=answer.id, text="It missed the blocker.")) == 200
    # Alice never rated it: her note (a forged submission) changes nothing
    assert await _send(bot, feedback_note(user=ALICE, answer_id=answer.id, text="forged")) == 200
    [row] = await bot.deps.store.feedback_of(answer.id)
    assert (row.user_id, row.rating, row.comment) == (BOB, "down", "It missed the blocker.")

    await _send(bot, feedback_click(user=BOB, channel=OPS_CHANNEL, message_ts=ts, value="up"))
    [row] = await bot.deps.store.feedback_of(answer.id)
    assert (row.rating, row.comment) == ("up", None)


async def test_clicks_on_unknown_deleted_or_foreign_answers_are_quiet_no_ops(bot: SlackBot) -> None:
    ts = await _answered(bot)
    clicks = [
        feedback_click(user=BOB, channel=OPS_CHANNEL, message_ts="1763470000.000001", value="up"),  # not an answer
        feedback_click(user=BOB, channel=OPS_CHANNEL, message_ts=ts, value="up", team_id="T0OTHER"),  # another workspace
        feedback_click(user=BOB, channel="C0ELSEWHERE", message_ts=ts, value="down"),
        feedback_click(user=BOB, channel=OPS_CHANNEL, message_ts=ts, value="fb:up;drop table"),
    ]
    broken = feedback_click(user=BOB, channel=OPS_CHANNEL, message_ts=ts, value="up")
    broken["container"] = "not an object"
    for payload in [*clicks, broken]:
        assert await _send(bot, payload) == 200
    answer = await bot.deps.store.answer_at(team_id=bot.slack.TEAM_ID, channel_id=OPS_CHANNEL, message_ts=ts)
    assert answer is not None and await bot.deps.store.feedback_of(answer.id) == []
    assert bot.slack.calls("views.open") == [] and bot.slack.calls("chat.postEphemeral") == []


async def test_the_app_home_shows_admins_the_weekly_summary_and_others_only_their_conversations(bot: SlackBot) -> None:
    ts = await _answered(bot)
    await _send(bot, feedback_click(user=BOB, channel=OPS_CHANNEL, message_ts=ts, value="down"))

    await bot.send_event(app_home_opened(user=ALICE))  # ALICE is in CHATOPS_ADMINS
    await bot.send_event(app_home_opened(user=BOB))
    await bot.settle()
    admin_home = json.dumps(bot.slack.home_views[ALICE]["blocks"], ensure_ascii=False)
    assert "This week's answers" in admin_home
    assert "*Answers this week:* 1" in admin_home and "0 👍 / 1 👎" in admin_home
    assert "*Tools in 👎 answers:* get_ticket (1)" in admin_home and "Slowest tools" in admin_home
    member_home = json.dumps(bot.slack.home_views[BOB]["blocks"], ensure_ascii=False)
    assert "This week's answers" not in member_home and "👎" not in member_home
    assert "Your recent conversations" in member_home


async def _ephemeral_answer(bot: SlackBot) -> tuple[str, dict[str, Any]]:
    """/ticket OPS-1 in a channel the bot is not in: answered to Alice only; returns the channel and its buttons."""
    bot.slack.add_channel("C0ELSEWHERE", member=False)
    command = slash_command("/ticket", "OPS-1", user=ALICE, channel="C0ELSEWHERE", response_url=bot.slack.response_url())
    assert (await bot.send_command(command))[0] == 200
    await bot.settle()
    [reply] = [c.args for c in bot.slack.calls("response_url")]
    assert reply["response_type"] == "ephemeral"
    [block] = [b for b in reply["blocks"] if b["type"] == "context_actions"]
    return "C0ELSEWHERE", block


def _ephemeral_click(user: str, channel: str, block_id: str, value: str) -> dict[str, Any]:
    """A click on an ephemeral message: Slack marks the container `is_ephemeral` and names a ts the app never saw."""
    click = feedback_click(user=user, channel=channel, message_ts="1763476499.000042", value=value, block_id=block_id)
    click["container"]["is_ephemeral"] = True
    return click


async def test_an_ephemeral_answer_carries_the_buttons_and_its_askers_click_is_stored_with_its_turn(bot: SlackBot) -> None:
    channel, block = await _ephemeral_answer(bot)
    assert block["elements"][0]["action_id"] == "answer_feedback"
    assert await _send(bot, _ephemeral_click(ALICE, channel, block["block_id"], "down")) == 200
    turn_id = block["block_id"].removeprefix("feedback-")
    answer = await bot.deps.store.answer_at(team_id=bot.slack.TEAM_ID, channel_id=channel, message_ts=ephemeral_answer_ts(turn_id))
    assert answer is not None and (answer.turn_id, answer.user_id, answer.model) == (turn_id, ALICE, "")  # no model asked
    assert [t["tool"] for t in answer.tools or []] == ["get_ticket"]
    assert [(f.user_id, f.rating) for f in await bot.deps.store.feedback_of(answer.id)] == [(ALICE, "down")]
    [opened] = bot.slack.calls("views.open")
    assert opened.args["view"]["private_metadata"] == answer.id


async def test_clicks_on_an_ephemeral_answer_by_anyone_else_or_naming_another_turn_are_ignored(bot: SlackBot) -> None:
    channel, block = await _ephemeral_answer(bot)
    for click in (
        _ephemeral_click(BOB, channel, block["block_id"], "up"),  # nobody but the asker saw it
        _ephemeral_click(ALICE, channel, "feedback-0123456789abcdef", "up"),
        _ephemeral_click(ALICE, channel, "not-ours", "up"),
        _ephemeral_click(ALICE, OPS_CHANNEL, block["block_id"], "up"),  # another channel's
    ):
        assert await _send(bot, click) == 200
    turn_id = block["block_id"].removeprefix("feedback-")
    answer = await bot.deps.store.answer_at(team_id=bot.slack.TEAM_ID, channel_id=channel, message_ts=ephemeral_answer_ts(turn_id))
    assert answer is not None and await bot.deps.store.feedback_of(answer.id) == []
