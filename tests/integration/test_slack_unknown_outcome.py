"""Slack stores a message and then answers 500: every posting path looks before posting again (issue #10).

For each path (stream start, fallback progress message, answer, trace, approval request) the fake applies the
call and answers HTTP 500, as Slack does when its answer is lost. The thread must end with exactly one visible
answer, and no progress message may be left behind.
"""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.types import PendingAction, ProgressEvent, TraceEntry, TurnResult
from bot.slack.posting import post_once
from bot.slack.rendering import render_safely
from bot.slack.replies import deliver_turn
from integrations.llm.base import Usage
from tests.fakes.slack_data import StoredMessage
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import live_progress

CHANNEL = "C0OPS"
USER = "U0ALICE"


def _result(text: str, *, pending: PendingAction | None = None) -> TurnResult:
    trace = [TraceEntry(tool_use_id="toolu_1", tool="get_ticket", arguments={"key": "OPS-1"}, outcome="ok", summary="found", duration_ms=12)]
    return TurnResult(
        status="paused" if pending else "answered", text=text, trace=trace, usage=Usage(input_tokens=10, output_tokens=5), pending=pending
    )


def _tool(kind: str) -> ProgressEvent:
    status = "tool_started" if kind == "start" else "tool_finished"
    return ProgressEvent(kind=status, tool_use_id="toolu_1", tool="get_ticket", title="get_ticket", detail="OPS-1")


def _only_answer(slack: FakeSlack, asked: str) -> StoredMessage:
    """Exactly one message of the bot in the thread, finished (no stream left open, no progress placeholder)."""
    mine = [m for m in slack.thread(CHANNEL, asked) if m.bot_id]
    assert len(mine) == 1, [(m.ts, m.text[:60]) for m in mine]
    assert not mine[0].streaming
    assert "working on it" not in mine[0].text
    return mine[0]


async def test_a_stream_start_stored_despite_a_500_is_reused_not_posted_again(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    slack.fail("chat.startStream", status=500, applied=True)
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    await progress(_tool("start"))
    await progress(_tool("finish"))
    await progress.drain()
    await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("OPS-1 is open."), progress=progress)
    message = _only_answer(slack, asked)
    assert message.blocks[0] == {"type": "markdown", "text": "OPS-1 is open."}
    assert slack.methods().count("chat.postMessage") == 0


async def test_a_short_answer_posted_in_one_call_and_stored_despite_a_500_is_not_posted_twice(
    slack_client: AsyncWebClient, slack: FakeSlack
) -> None:
    slack.fail("chat.postMessage", status=500, applied=True)
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    await progress(ProgressEvent(kind="text", text="OPS-1 is open."))
    await progress.drain()
    [ts] = await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("OPS-1 is open."), progress=progress)
    message = _only_answer(slack, asked)
    assert message.ts == ts and message.blocks[0] == {"type": "markdown", "text": "OPS-1 is open."}
    assert slack.methods().count("chat.postMessage") == 1 and "conversations.replies" in slack.methods()


async def test_a_fallback_progress_message_stored_despite_a_500_becomes_the_answer(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    slack.fail("chat.startStream", "unknown_method")  # no streaming: the fallback message carries the progress
    slack.fail("chat.postMessage", status=500, applied=True)
    progress, asked = live_progress(slack_client, slack)
    await progress.start()
    await progress(_tool("start"))
    await progress(_tool("finish"))
    await progress.drain()
    await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("OPS-1 is open."), progress=progress)
    message = _only_answer(slack, asked)
    assert message.blocks[0] == {"type": "markdown", "text": "OPS-1 is open."}
    assert slack.methods().count("chat.postMessage") == 1
    assert "conversations.replies" in slack.methods()


async def test_an_answer_stored_despite_a_500_is_not_posted_twice(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", status=500, applied=True)
    asked = slack.post_user_message(CHANNEL, user=USER, text="hi")
    [ts] = await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("Hello!"))
    message = _only_answer(slack, asked)
    assert message.ts == ts
    assert slack.methods().count("chat.postMessage") == 1


async def test_a_trace_message_stored_despite_a_500_is_not_posted_twice(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    asked = slack.post_user_message(CHANNEL, user=USER, text="tell me everything")
    long_answer = "\n\n".join(f"Section {i}: " + "details about the incident timeline " * 40 for i in range(12))
    count = len(_rendered(long_answer))
    assert count >= 2  # the answer spans several messages; the last one carries the trace
    for _ in range(count - 1):
        slack.fail("chat.postMessage", status=200)  # an empty fault: answered normally, keeps the queue in step
    slack.fail("chat.postMessage", status=500, applied=True)  # the trace message: stored, answer lost
    posted = await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result(long_answer))
    mine = [m for m in slack.thread(CHANNEL, asked) if m.bot_id]
    assert [m.ts for m in mine] == posted
    assert slack.methods().count("chat.postMessage") == count
    assert [b["type"] for b in mine[-1].blocks][-2:] == ["context", "container"]


async def test_an_approval_request_stored_despite_a_500_is_not_posted_twice(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    pending = PendingAction(
        approval_id="a1", tool="add_comment", arguments={"key": "OPS-1", "body": "done"},
        description="Comment on OPS-1", requester_id=USER, expires_at_iso="2030-01-01T00:00:00+00:00",
    )
    slack.fail("chat.postMessage", status=500, applied=True)
    asked = slack.post_user_message(CHANNEL, user=USER, text="comment on OPS-1")
    [ts] = await deliver_turn(slack_client, None, channel=CHANNEL, thread_ts=asked, result=_result("Approve?", pending=pending))
    message = _only_answer(slack, asked)
    assert message.ts == ts
    assert any(b.get("type") == "actions" for b in message.blocks)
    assert slack.methods().count("chat.postMessage") == 1


async def test_a_post_refused_with_a_4xx_is_not_looked_for(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", "msg_too_long")
    asked = slack.post_user_message(CHANNEL, user=USER, text="hi")
    with pytest.raises(Exception, match="msg_too_long"):
        await post_once(slack_client, channel=CHANNEL, thread_ts=asked, key="k1", text="x")
    assert "conversations.replies" not in slack.methods()


async def test_a_post_lost_before_slack_stored_it_is_sent_again_once(slack_client: AsyncWebClient, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", status=500)  # not applied
    asked = slack.post_user_message(CHANNEL, user=USER, text="hi")
    ts = await post_once(slack_client, channel=CHANNEL, thread_ts=asked, key="k2", text="answer")
    message = _only_answer(slack, asked)
    assert message.ts == ts and message.metadata == {"event_type": "chatops_message", "event_payload": {"key": "k2"}}
    assert slack.methods().count("chat.postMessage") == 2


def _rendered(text: str) -> list[object]:
    return list(render_safely(_result(text), approval=None, channel_type="unknown"))
