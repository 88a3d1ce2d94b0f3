"""How the bot is served: HTTP mode (signed requests only, health check) and Socket Mode, and what
`chatops run` says when tokens are missing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.cli import main
from bot.slack.server import build_http_app, serve
from bot.storage.db import Database, make_engine
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply
from tests.fakes.slack_payloads import event_callback, mention, signed_headers
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import (
    ALICE,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
    start_bot,
)


@pytest.fixture
async def socket_bot(
    slack: FakeSlack, model: AnthropicServer, seeded_sqlite: Database, clock: FixedClock
) -> AsyncIterator[SlackBot]:
    """The app with an app-level token (Socket Mode)."""
    async for harness in start_bot(slack, model, seeded_sqlite, clock, slack_app_token=FakeSlack.APP_TOKEN):
        yield harness


async def test_an_unsigned_request_is_rejected_with_401(sqlite_bot: SlackBot) -> None:
    body = json.dumps(event_callback(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} hi", ts="1.000001")))
    status, _, _ = await sqlite_bot.post(body, {"content-type": "application/json"})
    assert status == 401
    await sqlite_bot.settle()
    assert sqlite_bot.slack.bot_messages() == [] and sqlite_bot.model.bodies() == []


async def test_a_request_signed_with_another_secret_is_rejected(sqlite_bot: SlackBot) -> None:
    body = json.dumps(event_callback(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} hi", ts="1.000001")))
    status, _, _ = await sqlite_bot.post(body, signed_headers(body, secret="someone-else"))
    assert status == 401


async def test_a_replayed_request_older_than_five_minutes_is_rejected(sqlite_bot: SlackBot) -> None:
    body = json.dumps(event_callback(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} hi", ts="1.000001")))
    status, _, _ = await sqlite_bot.post(body, signed_headers(body, timestamp=int(time.time()) - 600))
    assert status == 401


@pytest.mark.parametrize(("signed", "expected"), [(True, 400), (False, 401)])
async def test_a_malformed_body_is_rejected_cleanly(sqlite_bot: SlackBot, signed: bool, expected: int) -> None:
    body = '{"type": "event_callback", "event": {'
    headers = signed_headers(body) if signed else {"content-type": "application/json"}
    status, text, _ = await sqlite_bot.post(body, headers)
    assert status == expected and "error" in json.loads(text)


async def test_the_url_verification_challenge_is_answered(sqlite_bot: SlackBot) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"})
    status, text, _ = await sqlite_bot.post(body, signed_headers(body))
    assert status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


async def test_healthz_is_200_when_the_database_answers(sqlite_bot: SlackBot) -> None:
    async with sqlite_bot.session.get(f"{sqlite_bot.url}/healthz") as resp:
        assert resp.status == 200 and (await resp.json())["database"] == "up"


async def test_healthz_is_503_when_the_database_does_not_answer(sqlite_bot: SlackBot, tmp_path: Path) -> None:
    broken = Database(make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"))
    app = build_http_app(sqlite_bot.app, dataclasses.replace(sqlite_bot.deps, db=broken))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert resp.status == 503 and (await resp.json())["database"] == "down"
    finally:
        await runner.cleanup()


async def test_socket_mode_connects_through_slack_api_url_and_answers(socket_bot: SlackBot) -> None:
    bot = socket_bot
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(bot.app, bot.surface, http=False, host="127.0.0.1", port=0, stop=stop))
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} is OPS-1 open?")
    bot.model.queue(text_reply("Yes, OPS-1 is open."))
    payload = event_callback(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} is OPS-1 open?", ts=asked))
    envelope = await asyncio.to_thread(bot.slack.socket_send, "events_api", payload)
    await asyncio.to_thread(bot.slack.socket_ack, envelope)
    # Slack redelivers over the socket when it thinks the ack was late: still one answer
    again = await asyncio.to_thread(bot.slack.socket_send, "events_api", payload, retry_attempt=1, retry_reason="timeout")
    await asyncio.to_thread(bot.slack.socket_ack, again)
    await bot.slack.await_call("chat.postMessage")
    stop.set()
    await serving
    [opened] = bot.slack.calls("apps.connections.open")
    assert opened.token == FakeSlack.APP_TOKEN
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    assert answer.thread_ts == asked and answer.text == "Yes, OPS-1 is open."
    assert len(bot.model.bodies()) == 1


def test_run_without_tokens_names_each_missing_setting_and_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "ANTHROPIC_API_KEY", "manifest.yml"):
        assert name in err
    assert "Traceback" not in err


def test_http_mode_asks_for_the_signing_secret_instead_of_the_app_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-x")
    assert main(["run", "--http", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_SIGNING_SECRET" in err and "SLACK_APP_TOKEN" not in err and "SLACK_BOT_TOKEN:" not in err
    assert "xoxb-1-2" not in err and "sk-ant-x" not in err
