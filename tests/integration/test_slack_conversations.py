"""Mentions and DMs end to end: signed HTTP (or the Socket Mode request path) into the real app, the real Agent
and tools on the local store, the fake model, answers in the fake Slack — one answer per question, in its thread."""

from __future__ import annotations

import json
import threading

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.models.blocks import Block

from tests.fakes.anthropic_server import Reply, text_reply, tool_use, tool_use_reply
from tests.fakes.slack_blocks import block_text_length, check_blocks
from tests.fakes.slack_payloads import TEAM_ID, event_callback, mention, message
from tests.slack_harness import (
    ALICE,
    ALICE_DM,
    BOB,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
)


def _ask(bot: SlackBot, text: str, *, channel: str = OPS_CHANNEL, user: str = ALICE, thread_ts: str | None = None) -> str:
    return bot.slack.post_user_message(channel, user=user, text=text, thread_ts=thread_ts)


async def test_a_mention_is_answered_in_its_thread_with_live_tasks_and_a_trace(bot: SlackBot) -> None:
    question = f"{MENTION} what is the state of OPS-1?"
    asked = _ask(bot, question)
    bot.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]), text_reply("OPS-1 is *In Progress*."))
    assert await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=question, ts=asked)) == 200
    await bot.settle()
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    assert answer.thread_ts == asked
    assert "OPS-1 is *In Progress*." in answer.text
    assert [b["type"] for b in answer.blocks] == ["context", "context_actions", "container"]
    tasks = [c for c in answer.chunks if c["type"] == "task_update"]
    assert [t["status"] for t in tasks] == ["in_progress", "complete"] and tasks[0]["title"] == "get_ticket"
    assert bot.slack.statuses[-1] == (OPS_CHANNEL, asked, "")
    assert bot.model.bodies()[0]["messages"][0]["content"][0]["text"].endswith("what is the state of OPS-1?")


async def test_the_trace_is_valid_block_kit_with_one_section_per_call(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    asked = _ask(bot, f"{MENTION} compare OPS-1 and OPS-2")
    calls = [tool_use("get_ticket", {"key": "OPS-1"}), tool_use("get_ticket", {"key": "OPS-2"})]
    bot.model.queue(tool_use_reply(calls), text_reply("Both are open."))
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} compare OPS-1 and OPS-2", ts=asked))
    await bot.settle()
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    assert check_blocks(answer.blocks) is None
    for raw in answer.blocks:
        parsed = Block.parse(raw)
        assert parsed is not None
        parsed.validate_json()
    container = answer.blocks[-1]
    assert container["is_collapsible"] and container["default_collapsed"]
    texts = [child["text"]["text"] for child in container["child_blocks"]]
    assert len(texts) == 2 and all("*get_ticket*" in t and "allowed" in t and " ms" in t for t in texts)
    assert '"key": "OPS-1"' in texts[0] and '"key": "OPS-2"' in texts[1]
    assert "2 tool calls (get_ticket ×2)" in answer.blocks[0]["elements"][0]["text"]


async def test_the_trace_and_the_live_task_show_the_ticket_data_without_the_models_delimiters(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    asked = _ask(bot, f"{MENTION} what is OPS-1?")
    bot.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]), text_reply("It is open."))
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} what is OPS-1?", ts=asked))
    await bot.settle()
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    [section] = answer.blocks[-1]["child_blocks"]
    done = [c for c in answer.chunks if c["type"] == "task_update" and c["status"] == "complete"]
    shown = [section["text"]["text"], *(c.get("output", "") for c in done)]
    assert all('"key":"OPS-1"' in text for text in shown)
    assert not any("tool_output" in text or "untrusted" in text for text in shown)
    assert "<tool_output" in json.dumps(bot.model.bodies()[1]["messages"][-1])  # the model still gets the wrapper


async def test_the_audit_row_of_a_write_leads_to_the_user_the_ticket_and_the_trace_message(bot: SlackBot) -> None:
    asked = _ask(bot, f"{MENTION} tell OPS-1 the fix is out")
    bot.model.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "Fix is out"}, id="toolu_note")]), text_reply("Commented."))
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} tell OPS-1 the fix is out", ts=asked))
    await bot.settle()
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)  # an admin's write runs without confirmation
    (write,) = await bot.deps.store.list_audit(action="write")
    assert (write.user_id, write.tool, write.target, write.status) == (ALICE, "add_comment", "OPS-1", "done")
    assert write.conversation_id and write.tool_use_id == "toolu_note"
    link = await bot.deps.store.trace_link(write.conversation_id, write.tool_use_id)
    assert link is not None
    assert (link.channel_id, link.thread_ts, link.answer_ts) == (OPS_CHANNEL, asked, answer.ts)
    assert write.details is not None and write.details["turn_id"] == link.turn_id
    turn = await bot.deps.store.get_turn(link.turn_id)
    assert turn is not None and turn.answer_ts == answer.ts


async def test_a_direct_message_is_answered_in_the_thread_of_that_message(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    asked = _ask(bot, "which tickets are blocked?", channel=ALICE_DM)
    bot.model.queue(text_reply("None are blocked."))
    response = await bot.dispatch(event_callback(message(channel=ALICE_DM, user=ALICE, text="which tickets are blocked?", ts=asked)))
    assert response.status == 200
    await bot.settle()
    [answer] = bot.slack.bot_messages(ALICE_DM)
    assert answer.thread_ts == asked and answer.text == "None are blocked."
    assert "a direct message" in bot.model.bodies()[0]["messages"][0]["content"][0]["text"]


async def test_a_reply_in_the_thread_continues_the_conversation_with_its_history(bot: SlackBot) -> None:
    first = _ask(bot, f"{MENTION} who owns OPS-1?")
    bot.model.queue(text_reply("Maya Chen owns OPS-1."), text_reply("She last touched it on Monday."))
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} who owns OPS-1?", ts=first))
    await bot.settle()
    follow_up = _ask(bot, f"{MENTION} when did she last touch it?", thread_ts=first)
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} when did she last touch it?", ts=follow_up, thread_ts=first))
    await bot.settle()
    answers = bot.slack.bot_messages(OPS_CHANNEL)
    assert [a.thread_ts for a in answers] == [first, first]
    second_request = json.dumps(bot.model.bodies()[1]["messages"])
    assert "who owns OPS-1?" in second_request and "Maya Chen owns OPS-1." in second_request


async def test_a_retried_delivery_is_answered_once(bot: SlackBot) -> None:
    asked = _ask(bot, f"{MENTION} status of OPS-1?")
    gate = threading.Event()
    bot.model.queue(Reply(content=["OPS-1 is open."], gate=gate))
    event = mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} status of OPS-1?", ts=asked)
    assert await bot.send_event(event, event_id="EvRetry1") == 200
    await bot.model.await_messages(1)
    # Slack did not see our ack in time and sends the same event again, twice
    assert await bot.send_event(event, event_id="EvRetry1", retry=1) == 200
    assert await bot.send_event(event, event_id="EvRetry1", retry=2) == 200
    gate.set()
    await bot.settle()
    assert len(bot.model.bodies()) == 1
    assert len(bot.slack.bot_messages(OPS_CHANNEL)) == 1


async def test_a_mention_delivered_as_app_mention_and_as_message_is_answered_once(bot: SlackBot) -> None:
    text = f"{MENTION} is OPS-2 done?"
    asked = _ask(bot, text)
    bot.model.queue(text_reply("Not yet."))
    as_mention = mention(channel=OPS_CHANNEL, user=ALICE, text=text, ts=asked)
    as_message = message(channel=OPS_CHANNEL, user=ALICE, text=text, ts=asked, channel_type="channel")
    await bot.send_event(as_mention, event_id="EvMention")
    await bot.send_event(as_message, event_id="EvMessage")
    await bot.settle()
    assert len(bot.model.bodies()) == 1
    assert len(bot.slack.bot_messages(OPS_CHANNEL)) == 1


async def test_a_mention_in_a_dm_arriving_twice_is_answered_once(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    text = f"{MENTION} is OPS-2 done?"
    asked = _ask(bot, text, channel=ALICE_DM)
    bot.model.queue(text_reply("Not yet."))
    await bot.send_event(message(channel=ALICE_DM, user=ALICE, text=text, ts=asked), event_id="EvDm")
    await bot.send_event(mention(channel=ALICE_DM, user=ALICE, text=text, ts=asked), event_id="EvDmMention")
    await bot.settle()
    assert len(bot.model.bodies()) == 1 and len(bot.slack.bot_messages(ALICE_DM)) == 1


async def test_a_reply_in_a_dm_thread_arriving_as_message_and_as_mention_runs_one_turn(sqlite_bot: SlackBot) -> None:
    # both deliveries claim with their turn's start (a reply in a thread, nothing shown before the turn starts)
    bot = sqlite_bot
    root = _ask(bot, "is OPS-1 done?", channel=ALICE_DM)
    text = f"{MENTION} and OPS-2?"
    asked = _ask(bot, text, channel=ALICE_DM, thread_ts=root)
    gate = threading.Event()
    bot.model.queue(Reply(content=["Not yet."], gate=gate))
    await bot.send_event(message(channel=ALICE_DM, user=ALICE, text=text, ts=asked, thread_ts=root), event_id="EvDmReply")
    await bot.model.await_messages(1)
    await bot.send_event(mention(channel=ALICE_DM, user=ALICE, text=text, ts=asked, thread_ts=root), event_id="EvDmReplyMention")
    gate.set()
    await bot.settle()
    assert len(bot.model.bodies()) == 1 and len(bot.slack.bot_messages(ALICE_DM)) == 1
    conversation = await bot.deps.store.find_conversation(team_id=TEAM_ID, channel_id=ALICE_DM, thread_ts=root)
    assert conversation is not None and len(await bot.deps.store.list_turns(conversation.id)) == 1


async def test_the_ack_returns_before_the_model_has_answered(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    asked = _ask(bot, f"{MENTION} summarize the OPS backlog")
    gate = threading.Event()  # the model "takes 10 s": it answers only when the test says so
    bot.model.queue(Reply(content=["The backlog has 12 open tickets. " * 20], gate=gate, chunk_size=400))
    status = await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} summarize the OPS backlog", ts=asked))
    assert status == 200 and not gate.is_set()  # acked while the model's answer is still held back
    await bot.model.await_messages(1)
    # while the model is still answering, the user already sees the work started and the first words
    await bot.slack.await_call("chat.startStream")
    assert bot.slack.calls("assistant.threads.setStatus")[0].args["thread_ts"] == asked
    assert bot.slack.calls("reactions.add")[0].args["timestamp"] == asked
    assert "The backlog has 12 open tickets." in bot.slack.calls("chat.startStream")[0].args["chunks"][0]["text"]
    gate.set()
    await bot.settle()
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    assert answer.text.count("The backlog has 12 open tickets.") == 20


async def test_messages_from_bots_and_from_itself_are_ignored(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    own = message(channel=ALICE_DM, user="U0BOT", text="an answer", ts="1763476300.000001", bot_id="B0BOT")
    other = message(channel=ALICE_DM, user=None, text="deploy finished", ts="1763476300.000002", subtype="bot_message", bot_id="B0CI")
    for event in (own, other):
        assert (await bot.dispatch(event_callback(event))).status == 200
    await bot.settle()
    assert bot.model.bodies() == [] and bot.slack.bot_messages() == []


async def test_channel_messages_without_a_mention_are_not_answered(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    ts = _ask(bot, "lunch anyone?")
    await bot.dispatch(event_callback(message(channel=OPS_CHANNEL, user=BOB, text="lunch anyone?", ts=ts, channel_type="channel")))
    await bot.settle()
    assert bot.model.bodies() == [] and bot.slack.bot_messages() == []


async def test_an_empty_mention_gets_a_short_help_without_asking_the_model(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    asked = _ask(bot, MENTION)
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"  {MENTION}  ", ts=asked))
    await bot.settle()
    [reply] = bot.slack.bot_messages(OPS_CHANNEL)
    assert reply.thread_ts == asked and "/chatops help" in reply.text
    assert bot.model.bodies() == []


async def test_a_40000_character_message_gets_a_clear_answer_without_asking_the_model(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    text = f"{MENTION} " + "please look at this log line " * 1400
    asked = _ask(bot, text[:100])
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=text, ts=asked))
    await bot.settle()
    [reply] = bot.slack.bot_messages(OPS_CHANNEL)
    assert "characters" in reply.text and "8,000" in reply.text
    assert bot.model.bodies() == []


async def test_a_message_that_is_only_files_is_told_files_cannot_be_read(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    asked = _ask(bot, "", channel=ALICE_DM)
    files = [{"id": "F1", "name": "trace.log", "mimetype": "text/plain"}]
    await bot.dispatch(event_callback(message(channel=ALICE_DM, user=ALICE, text="", ts=asked, subtype="file_share", files=files)))
    await bot.settle()
    [reply] = bot.slack.bot_messages(ALICE_DM)
    assert "files" in reply.text and bot.model.bodies() == []


async def test_a_message_with_files_and_unusual_blocks_is_answered_from_its_text(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    asked = _ask(bot, "what does this error mean?", channel=ALICE_DM)
    bot.model.queue(text_reply("It means the certificate expired."))
    odd = {
        "subtype": "file_share",
        "files": [{"id": "F1", "name": "screenshot.png"}],
        "blocks": [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [{"type": "broadcast", "range": "here"}]}]}, {"type": "some_future_block"}],
        "attachments": [{"fallback": "legacy", "color": "#f00"}],
    }
    await bot.dispatch(event_callback(message(channel=ALICE_DM, user=ALICE, text="what does this error mean?", ts=asked, **odd)))
    await bot.settle()
    [answer] = bot.slack.bot_messages(ALICE_DM)
    assert answer.text == "It means the certificate expired."


async def test_a_question_from_a_channel_the_bot_cannot_post_in_is_answered_by_dm(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.slack.add_channel("C0ELSEWHERE", member=False)
    await bot.send_event(mention(channel="C0ELSEWHERE", user=ALICE, text=f"{MENTION} hello?", ts="1763476400.000001"))
    await bot.settle()
    assert bot.model.bodies() == []
    [dm] = bot.slack.bot_messages("D" + ALICE[1:])
    assert "<#C0ELSEWHERE>" in dm.text and "/invite" in dm.text


async def test_an_event_for_an_unknown_channel_is_dropped_cleanly(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    assert await bot.send_event(mention(channel="C0NOSUCH", user=ALICE, text=f"{MENTION} hi", ts="1763476400.000002")) == 200
    await bot.settle()
    assert bot.model.bodies() == []
    assert "C0NOSUCH" in bot.slack.bot_messages("D" + ALICE[1:])[0].text


async def test_a_rate_limited_slack_call_is_retried_and_the_answer_arrives_once(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.slack.fail("chat.startStream", status=429, retry_after=0)
    asked = _ask(bot, f"{MENTION} what is OPS-1?")
    bot.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]), text_reply("OPS-1 is open."))
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} what is OPS-1?", ts=asked))
    await bot.settle()
    assert len(bot.slack.calls("chat.startStream")) == 2
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    assert answer.text == "OPS-1 is open."


async def test_an_answer_longer_than_slacks_limits_arrives_whole_in_several_thread_messages(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    asked = _ask(bot, f"{MENTION} write the incident report")
    sections = [f"## Part {i}\n\n" + "The certificate rotation failed on the edge nodes. " * 30 for i in range(25)]
    code = "```bash\n" + "\n".join(f"kubectl rollout restart deploy/edge-{i}" for i in range(120)) + "\n```"
    report = "\n\n".join([*sections[:12], code, *sections[12:]])
    assert len(report) > 40_000
    bot.model.queue(text_reply(report, chunk_size=2000))
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} write the incident report", ts=asked))
    await bot.settle()
    answers = bot.slack.bot_messages(OPS_CHANNEL)
    assert len(answers) >= 5 and all(a.thread_ts == asked for a in answers)
    shown = [a.blocks[0]["text"] for a in answers]
    assert all(f"## Part {i}" in "".join(shown) for i in range(25))
    assert all(part.count("```") % 2 == 0 for part in shown)
    assert all(check_blocks(a.blocks) is None and block_text_length(a.blocks) <= 13_200 for a in answers)
    assert [b["type"] for b in answers[-1].blocks][-2:] == ["context", "context_actions"]


async def test_mentions_and_messages_are_matched_by_the_first_listeners_bolt_tries(sqlite_bot: SlackBot) -> None:
    # Bolt tries listeners in registration order, building each one's arguments to run its matchers: the listeners
    # of nearly every request come first, not after the nine channel events'
    asked = [
        event_callback(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} status?", ts="1.1")),
        event_callback(message(channel=ALICE_DM, user=ALICE, text="status?", ts="1.2", channel_type="im")),
    ]
    first_two = sqlite_bot.app._async_listeners[:2]
    for listener, body in zip(first_two, asked, strict=True):
        request = AsyncBoltRequest(body=json.dumps(body), mode="socket_mode")
        assert await listener.async_matches(req=request, resp=BoltResponse(status=200))
