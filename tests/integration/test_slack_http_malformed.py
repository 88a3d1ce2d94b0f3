"""The request layer, case by case: each malformed but validly signed body seen to crash the app before gets a 200
(ignored) or a 400, never a 5xx; its unsigned copy gets a 401 (the signature is checked first, on the raw bytes);
and the bot answers normally afterwards. test_slack_http_properties.py covers the space around these."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.fakes.anthropic_server import text_reply
from tests.fakes.slack_agent import feedback_click
from tests.fakes.slack_payloads import event_callback, mention, slash_command
from tests.integration.test_slack_http_properties import sign
from tests.slack_harness import (
    ALICE,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def _event(**event: Any) -> bytes:
    return json.dumps(event_callback(event)).encode()


def _interactive(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


VIEW = {"id": "V1", "callback_id": "chatops.schedule", "private_metadata": "{}", "state": {"values": {}}}
NOTE_VIEW = {"id": "V3", "callback_id": "answer_feedback_comment", "private_metadata": "a1",
             "state": {"values": {"what_went_wrong": {"text": {"value": "wrong ticket"}}}}}  # fmt: skip
CONFIG_VIEW = {"id": "V2", "callback_id": "chatops.config", "private_metadata": '{"version": 1}', "state": {"values": {}}}


def _click(action: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": ALICE}, "team": {"id": "T1"}, "trigger_id": "1.2.3",
            "container": {"type": "message", "channel_id": OPS_CHANNEL, "message_ts": "1763476299.000002"},
            "actions": [{"type": "button", "block_id": "b", **action}], **more}  # fmt: skip

MENTION_EVENT = mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} hi", ts="1763476299.000001")
CASES: list[tuple[str, bytes, str, int]] = [
    ("invalid UTF-8", b'{"type": "event_callback", "event": "\xff\xfe"}', JSON, 400),
    ("unknown charset", _event(**MENTION_EVENT), JSON + "; charset=x-klingon", 400),
    ("JSON array", b"[1, 2, 3]", JSON, 400),
    ("JSON scalar", b"42", JSON, 400),
    ("JSON null", b"null", JSON, 400),
    ("event null", json.dumps({**event_callback({}), "event": None}).encode(), JSON, 200),
    ("event a string", json.dumps({**event_callback({}), "event": "app_mention"}).encode(), JSON, 200),
    ("user an int", _event(**{**MENTION_EVENT, "user": 42}), JSON, 200),
    ("ts a float", _event(**{**MENTION_EVENT, "ts": 1763476299.1}), JSON, 200),
    ("actions empty", _interactive({"type": "block_actions", "user": {"id": ALICE}, "actions": []}), FORM, 200),
    ("view submission with a string user", _interactive({"type": "view_submission", "user": ALICE, "view": VIEW}), FORM, 200),
    ("view submission with garbage metadata",
     _interactive({"type": "view_submission", "user": {"id": ALICE}, "view": {**VIEW, "private_metadata": "{oops"}}), FORM, 200),
    ("duplicate payload keys", urlencode([("payload", json.dumps({"type": "shortcut"})), ("payload", "[]")]).encode(), FORM, 400),
    ("payload not JSON", b"payload=%7Bnope", FORM, 400),
    ("payload an array", _interactive([1]), FORM, 400),
    ("command without user", urlencode({k: v for k, v in slash_command(
        "/ticket", "OPS-1", user=ALICE, channel=OPS_CHANNEL, response_url="https://x").items() if k != "user_id"}).encode(), FORM, 200),
    ("empty body", b"", JSON, 400),
    # the listeners that read payloads through bot/slack/payloads.py: a field of the wrong type is ignored, never a crash
    ("config submission with a forged version",
     _interactive({"type": "view_submission", "user": {"id": ALICE}, "view": {**CONFIG_VIEW, "private_metadata": '{"version": "x"}'}}), FORM, 200),
    ("config submission with an input's state a string",
     _interactive({"type": "view_submission", "user": {"id": ALICE},
                   "view": {**CONFIG_VIEW, "state": {"values": {"default_role": {"value": "admin"}}}}}), FORM, 200),
    ("config submission with a selected option a string",
     _interactive({"type": "view_submission", "user": {"id": ALICE},
                   "view": {**CONFIG_VIEW, "state": {"values": {"default_role": {"value": {"selected_option": "admin"}}}}}}), FORM, 200),
    ("schedule button outside a modal", _interactive(_click({"action_id": "chatops.schedule.pause", "value": "d1"})), FORM, 200),
    ("schedule button with a view id a number",
     _interactive(_click({"action_id": "chatops.schedule.pause", "value": "d1"}, view={**CONFIG_VIEW, "id": 7})), FORM, 200),
    ("MCP menu with a selected option a string",
     _interactive(_click({"action_id": "chatops.mcp.tool", "selected_option": "srv|tool"}, view=CONFIG_VIEW)), FORM, 200),
    ("approval click with a container a string",
     _interactive({**_click({"action_id": "chatops.approval/v1/approve/a1", "value": "a1"}), "container": "C1"}), FORM, 200),
    ("mute click with the user's id a number", _interactive({**_click({"action_id": "chatops_reminders_mute"}), "user": {"id": 7}}), FORM, 200),
    ("feedback click with is_ephemeral a string",
     _interactive({**_click({"action_id": "answer_feedback", "value": "up"}),
                   "container": {"channel_id": OPS_CHANNEL, "message_ts": "1763476299.000002", "is_ephemeral": "true"}}), FORM, 200),
    ("feedback click with a block id a number",
     _interactive({**_click({"action_id": "answer_feedback", "value": "down", "block_id": 7}),
                   "container": {"channel_id": OPS_CHANNEL, "message_ts": "1763476299.000002", "is_ephemeral": True}}), FORM, 200),
    ("feedback click with a value a list", _interactive(_click({"action_id": "answer_feedback", "value": ["up"]})), FORM, 200),
    ("feedback click without a container or channel",
     _interactive({k: v for k, v in _click({"action_id": "answer_feedback", "value": "up"}).items() if k != "container"}), FORM, 200),
    ("feedback note with its text a number",
     _interactive({"type": "view_submission", "user": {"id": ALICE},
                   "view": {**NOTE_VIEW, "state": {"values": {"what_went_wrong": {"text": {"value": 42}}}}}}), FORM, 200),
    ("feedback note with its answer id a number",
     _interactive({"type": "view_submission", "user": {"id": ALICE}, "view": {**NOTE_VIEW, "private_metadata": 7}}), FORM, 200),
]  # fmt: skip


@pytest.mark.parametrize(("name", "raw", "content_type", "status"), CASES, ids=[c[0] for c in CASES])
async def test_a_malformed_signed_body_is_refused_or_ignored_never_a_5xx(
    sqlite_bot: SlackBot, name: str, raw: bytes, content_type: str, status: int
) -> None:
    async def post(headers: dict[str, str]) -> int:
        async with sqlite_bot.session.post(f"{sqlite_bot.url}/slack/events", data=raw, headers=headers) as resp:
            await resp.read()
            return resp.status

    assert await post({"content-type": content_type, **sign(raw)}) == status
    assert await post({"content-type": content_type}) == 401
    assert await post({"content-type": content_type, **sign(raw, timestamp=int(time.time()) - 301)}) == 401
    await sqlite_bot.surface.tasks.join(timeout=10)
    assert sqlite_bot.surface.tasks.failures == 0

    sqlite_bot.model.queue(text_reply("Fine."))
    asked = sqlite_bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} ok?")
    assert await sqlite_bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} ok?", ts=asked)) == 200
    await sqlite_bot.settle()
    assert any(m.text == "Fine." for m in sqlite_bot.slack.thread(OPS_CHANNEL, asked))


async def test_a_feedback_click_with_a_field_of_the_wrong_type_rates_nothing(sqlite_bot: SlackBot) -> None:
    """A click Slack would never send (`is_ephemeral` a string) on a recorded answer is ignored, not counted as a
    click on an ordinary message; a well-formed click afterwards is."""
    sqlite_bot.model.queue(text_reply("OPS-1 is open."))
    asked = sqlite_bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} OPS-1?")
    await sqlite_bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} OPS-1?", ts=asked))
    await sqlite_bot.settle()
    [answer_message] = sqlite_bot.slack.bot_messages(OPS_CHANNEL)
    answer = await sqlite_bot.deps.store.answer_at(
        team_id=sqlite_bot.slack.TEAM_ID, channel_id=OPS_CHANNEL, message_ts=answer_message.ts
    )
    assert answer is not None
    click = feedback_click(user=ALICE, channel=OPS_CHANNEL, message_ts=answer_message.ts, value="up")
    for forged in ("false", 0, None):
        click["container"]["is_ephemeral"] = forged
        assert await sqlite_bot.send_interactive(click) == 200
        await sqlite_bot.settle()
        if forged is None:  # absent or null is what Slack sends for an ordinary message: counted
            assert [f.rating for f in await sqlite_bot.deps.store.feedback_of(answer.id)] == ["up"]
        else:
            assert await sqlite_bot.deps.store.feedback_of(answer.id) == []
