"""Live progress and final delivery in a thread, through the real AsyncWebClient against the fake Slack Web API.

The progress events here are the ones the loop emits (ProgressEvent); the end-to-end tests with the real Agent
are in test_slack_conversations.py.
"""

from __future__ import annotations

import threading

from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.types import ProgressEvent, TraceEntry, TurnResult
from bot.slack.progress import LiveProgress
from bot.slack.replies import deliver_turn
from integrations.llm.base import Usage
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import live_progress

CHANNEL = "C0OPS"
USER = "U0ALICE"


def _result(text: str, *calls: str) -> TurnResult:
    trace = [
        TraceEntry(tool_use_id=f"toolu_{i}", tool=name, arguments={"key": "OPS-1"}, outcome="ok", summary="found", duration_ms=12)
        for i, name in enumerate(calls)
    ]
    return TurnResult(status="answered", text=text, trace=trace, usage=Usage(input_tokens=100, output_tokens=20), duration_ms=900)


def _started(i: int, tool: str = "get_ticket") -> ProgressEvent:
    return ProgressEvent(kind="tool_started", tool_use_id=f"toolu_{i}", tool=tool, title=tool, detail='{"key": "OPS-1"}')


def _finished(i: int, tool: str = "get_ticket") -> ProgressEvent:
    return ProgressEvent(kind="tool_finished", tool_use_id=f"toolu_{i}", tool=tool, title=tool, detail="OPS-1 Login fails")


def _chunks(slack: FakeSlack) -> list[dict]:
    return [c for m in ("chat.startStream", "chat.appendStream", "chat.stopStream") for call in slack.calls(m) for c in call.args.get("chunks") or []]


async def test_work_shows_at_once_as_a_status_and_a_reaction_on_the_question(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    progress, asked = live_progress(slack_client, slack)
    assert await progress.start()
    [status] = slack.calls("assistant.threads.setStatus")
    assert status.args["thread_ts"] == asked and status.args["status"]
    assert 0 < len(status.args["loading_messages"]) <= 10
    [reaction] = slack.calls("reactions.add")
    assert (reaction.args["timestamp"], reaction.args["name"]) == (asked, "eyes")
    await progress.drain()


async def test_each_tool_call_is_a_task_that_goes_from_in_progress_to_complete(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    await progress(_started(1))
    await slack.await_call("chat.startStream")
    await progress(_finished(1))
    await progress.drain()
    tasks = [c for c in _chunks(slack) if c["type"] == "task_update"]
    assert [(t["id"], t["status"]) for t in tasks] == [("toolu_1", "in_progress"), ("toolu_1", "complete")]
    assert tasks[1]["output"] == "OPS-1 Login fails"
    start = slack.calls("chat.startStream")[0].args
    assert (start["thread_ts"], start["recipient_user_id"], start["recipient_team_id"]) == (asked, USER, FakeSlack.TEAM_ID)


async def test_the_answer_finishes_the_stream_with_the_context_line_and_trace(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    await progress(_started(1))
    await progress(_finished(1))
    await progress.drain()
    [ts] = await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("OPS-1 is open.", "get_ticket"), progress=progress)
    [message] = slack.bot_messages(CHANNEL)
    assert message.ts == ts and message.thread_ts == asked and not message.streaming
    assert message.text == "OPS-1 is open."
    assert [b["type"] for b in message.blocks] == ["context", "container"]
    assert slack.methods().count("chat.postMessage") == 0


async def test_answer_text_streams_in_and_is_not_repeated_at_the_end(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    answer = "OPS-1 is open and assigned to Maya. " * 20
    for i in range(0, len(answer), 30):
        await progress(ProgressEvent(kind="text", text=answer[i : i + 30]))
    await slack.await_call("chat.startStream")
    await progress.drain()
    await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result(answer), progress=progress)
    [message] = slack.bot_messages(CHANNEL)
    assert message.text.strip() == answer.strip()
    assert message.text.count("assigned to Maya") == 20
    assert slack.calls("chat.startStream")[0].args["chunks"][0]["type"] == "markdown_text"


async def test_a_short_answer_that_never_left_the_stream_buffer_is_posted_in_one_call(
    slack_client: AsyncWebClient, slack: FakeSlack
) -> None:
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    await progress(ProgressEvent(kind="text", text="OPS-1 is open."))
    await progress.drain()
    [ts] = await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("OPS-1 is open."), progress=progress)
    assert [m for m in slack.methods() if m.startswith("chat.")] == ["chat.postMessage"]
    [message] = slack.bot_messages(CHANNEL)
    assert (message.ts, message.thread_ts, message.text) == (ts, asked, "OPS-1 is open.")
    assert [b["type"] for b in message.blocks] == ["markdown", "context"]
    assert progress.replied


async def test_a_broadcast_in_streamed_text_is_made_inert(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    for piece in ["The ticket says: <!chan", "nel> deploy now ", "x" * 300, " end"]:
        await progress(ProgressEvent(kind="text", text=piece))
    await progress.drain()
    await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("The ticket says: <!channel> deploy now " + "x" * 300 + " end"), progress=progress)
    [message] = slack.bot_messages(CHANNEL)
    assert "<!channel>" not in message.text and "deploy now" in message.text


async def test_an_expired_stream_falls_back_to_updating_the_same_message(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    await progress(_started(1))
    await slack.await_call("chat.startStream")
    slack.expire_streams()
    await progress(_finished(1))
    await slack.await_call("chat.update")
    await progress.drain()
    await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("OPS-1 is open.", "get_ticket"), progress=progress)
    [message] = slack.bot_messages(CHANNEL)
    assert [b["type"] for b in message.blocks] == ["markdown", "context", "container"]
    assert message.blocks[0]["text"] == "OPS-1 is open."
    appended = slack.calls("chat.appendStream")
    assert appended and all(c.method != "chat.postMessage" for c in slack.calls())


async def test_without_streaming_a_progress_message_is_posted_then_updated(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    slack.fail("chat.startStream", "unknown_method")
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    await progress(_started(1))
    await slack.await_call("chat.postMessage")
    await progress(_finished(1))
    await progress.drain()
    await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("OPS-1 is open.", "get_ticket"), progress=progress)
    [message] = slack.bot_messages(CHANNEL)
    assert message.thread_ts == asked
    assert message.blocks[0] == {"type": "markdown", "text": "OPS-1 is open."}
    assert slack.methods().count("chat.postMessage") == 1


async def test_events_that_arrive_while_slack_is_slow_do_not_wait_and_go_out_together(
    slack_client: AsyncWebClient, slack: FakeSlack
) -> None:
    release = threading.Event()
    slack.fail("chat.startStream", hold=release)
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    await progress(_started(0))
    await slack.await_call("chat.startStream")
    for i in range(1, 6):  # the model goes on while Slack holds the first call
        await progress(_started(i))
        await progress(_finished(i))
    release.set()
    await progress.drain()
    assert len(slack.calls("chat.startStream")) + len(slack.calls("chat.appendStream")) == 2
    final = {c["id"]: c["status"] for c in _chunks(slack)}
    assert final == {"toolu_0": "in_progress", **{f"toolu_{i}": "complete" for i in range(1, 6)}}


async def test_a_thread_the_bot_cannot_post_in_is_reported_instead_of_answered(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    slack.add_channel("C0GONE", member=False)
    progress = LiveProgress(slack_client, channel="C0GONE", thread_ts="1.000001", user_id=USER, team_id=FakeSlack.TEAM_ID)
    assert await progress.start() is False


async def test_a_rate_limited_post_is_retried_after_retry_after(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=0)
    asked = slack.post_user_message(CHANNEL, user=USER, text="hi")
    await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("Hello!"))
    assert slack.methods().count("chat.postMessage") == 2
    assert len(slack.bot_messages(CHANNEL)) == 1


async def test_an_answer_longer_than_the_limits_replaces_the_stream_and_continues_in_the_thread(
    slack_client: AsyncWebClient, slack: FakeSlack
) -> None:
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    await progress(_started(1))
    await progress(_finished(1))
    long_answer = "\n\n".join(f"Section {i}: " + "details about the incident timeline " * 40 for i in range(30))
    assert len(long_answer) > 40_000
    await progress(ProgressEvent(kind="text", text=long_answer))
    await progress.drain()
    posted = await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result(long_answer, "get_ticket"), progress=progress)
    messages = slack.bot_messages(CHANNEL)
    assert [m.ts for m in messages] == posted and len(posted) >= 5
    assert all(m.thread_ts == asked for m in messages)
    shown = "\n\n".join(m.blocks[0]["text"] for m in messages)
    assert all(f"Section {i}:" in shown for i in range(30))
    assert [b["type"] for b in messages[-1].blocks][1:] == ["context", "container"]
