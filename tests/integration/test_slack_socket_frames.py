"""Socket Mode under malformed frames: `serve` (what `chatops run` runs with SLACK_APP_TOKEN set) connects through
apps.connections.open on the fake Slack and reads its WebSocket. Frames Slack should never send (not JSON, an
envelope without `envelope_id`, a `payload` of the wrong type, an unknown `type`) are logged with the reason,
acknowledged when they name an envelope, never answered and never crash the connection; a `disconnect` makes the
client open a new connection; afterwards a well-formed mention is answered. Waits on acks and calls, never sleeps."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.slack.socket_mode import screen_frame
from tests.fakes.anthropic_server import text_reply
from tests.fakes.slack_payloads import event_callback, mention
from tests.slack_harness import (
    ALICE,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
)


def _mention_payload(bot: SlackBot, text: str) -> dict[str, Any]:
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} {text}")
    return event_callback(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} {text}", ts=asked))


async def _answered(bot: SlackBot, text: str, reply: str) -> None:
    """A well-formed mention over the socket is acknowledged and answered."""
    bot.model.queue(text_reply(reply))
    envelope = await asyncio.to_thread(bot.slack.socket_send, "events_api", _mention_payload(bot, text))
    await asyncio.to_thread(bot.slack.socket_ack, envelope)
    await bot.slack.await_call("chat.postMessage", lambda c: True, count=len(bot.slack.calls("chat.postMessage")) + 1)
    assert bot.slack.bot_messages(OPS_CHANNEL)[-1].text == reply


def _ignored(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if r.getMessage() == "socket frame ignored"]  # type: ignore[attr-defined]


MENTION_LIKE = "payload of a mention, but no envelope_id"
FRAMES: dict[str, tuple[Callable[[SlackBot], Any], str]] = {
    "plain text": (lambda b: "this is not json", "not JSON"),
    "truncated JSON": (lambda b: '{"envelope_id": "e-1", "type": "events_api", "payload": {', "not JSON"),
    "a JSON array": (lambda b: '["events_api", {}]', "a JSON list, not an object"),
    "a JSON string": (lambda b: '"hello"', "a JSON str, not an object"),
    MENTION_LIKE: (lambda b: {"type": "events_api", "payload": _mention_payload(b, "sneaky?")}, "no envelope_id"),
    "envelope_id a number": (lambda b: {"envelope_id": 7, "type": "events_api", "payload": {}}, "no envelope_id"),
    "no type": (lambda b: {"envelope_id": "e-notype", "payload": {}}, "no type"),
}
ACKED: dict[str, tuple[dict[str, Any], str]] = {
    "payload a list": ({"type": "events_api", "payload": [1, 2]}, "payload is a list, not an object"),
    "payload null": ({"type": "slash_commands", "payload": None}, "payload is missing, not an object"),
    "payload a string": ({"type": "interactive", "payload": "{}"}, "payload is a str, not an object"),
    "payload absent": ({"type": "events_api"}, "payload is missing, not an object"),
    "unknown type": ({"type": "mystery_mode", "payload": {"x": 1}}, "unknown envelope type 'mystery_mode'"),
}


async def test_malformed_frames_are_logged_acked_where_possible_and_the_bot_answers_afterwards(
    socket_bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = socket_bot
    caplog.set_level(logging.INFO)
    for build, _ in FRAMES.values():
        await asyncio.to_thread(bot.slack.socket_send_frame, build(bot))
    await asyncio.to_thread(bot.slack.socket_send_frame, b"\x00\x01 binary")  # the SDK ignores binary frames
    acked = {}
    for name, (envelope, _) in ACKED.items():
        envelope_id = f"e-{name.replace(' ', '-')}"
        await asyncio.to_thread(bot.slack.socket_send_frame, {"envelope_id": envelope_id, **envelope})
        acked[name] = envelope_id

    for envelope_id in acked.values():
        ack = await asyncio.to_thread(bot.slack.socket_ack, envelope_id)
        assert ack == {"envelope_id": envelope_id}, "acknowledged, with no payload: nothing was run"
    await _answered(bot, "is OPS-1 open?", "Yes, OPS-1 is open.")

    reasons = [f["reason"] for f in _ignored(caplog)]
    assert reasons == [reason for _, reason in FRAMES.values()] + [reason for _, reason in ACKED.values()]
    assert len(bot.model.bodies()) == 1, "only the well-formed mention reached the model"
    assert [m.text for m in bot.slack.bot_messages(OPS_CHANNEL)] == ["Yes, OPS-1 is open."]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], "no tracebacks from the SDK or Bolt"


async def test_a_disconnect_message_reconnects_and_the_next_mention_is_answered(
    socket_bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = socket_bot
    caplog.set_level(logging.INFO)
    disconnect = {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "applink-fake-1"}}

    await asyncio.to_thread(bot.slack.socket_send_frame, disconnect)
    await asyncio.to_thread(bot.slack.socket_wait_connections, 2)

    assert len(bot.slack.calls("apps.connections.open")) == 2, "a fresh URL for the new connection"
    await _answered(bot, "still there?", "Still here.")
    assert any(r.getMessage() == "Slack asked to reconnect" for r in caplog.records)
    assert _ignored(caplog) == []


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('{"type": "hello", "num_connections": 1}', (None, None)),
        ('{"type": "disconnect", "reason": "warning"}', (None, None)),
        ('{"envelope_id": "e", "type": "events_api", "payload": {}}', (None, "e")),
        ('{"envelope_id": "", "type": "events_api", "payload": {}}', ("no envelope_id", None)),
        ('{"envelope_id": "' + "x" * 201 + '", "type": "events_api", "payload": {}}', ("no envelope_id", None)),
        ("null", ("a JSON NoneType, not an object", None)),
        ('{"type": 3, "envelope_id": "e"}', ("no type", "e")),
    ],
)
def test_screening_a_frame(frame: str, expected: tuple[str | None, str | None]) -> None:
    screened = screen_frame(frame)
    assert (screened.problem, screened.envelope_id) == expected
