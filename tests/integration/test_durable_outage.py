"""Database outages while the bot runs, and graceful shutdown (issue #10).

An outage is the real thing for SQLAlchemy: the bot's database engine is swapped for one that cannot connect (a
SQLite file in a missing directory), so every query fails the way an unreachable server does; swapping back is the
database coming up again. Shutdown is `serve()` with its stop event set while a turn is still running.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.messages import agent as agent_text
from bot.slack.recovery import TurnKeeper
from bot.slack.server import serve
from bot.storage.db import Database, make_engine
from bot.storage.wait import wait_for_database
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, Reply, text_reply
from tests.fakes.slack_payloads import event_callback, mention, signed_headers
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import (
    ALICE,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
    start_bot,
)


def _outage(bot: SlackBot, tmp_path: Path) -> Engine:
    """Point the running bot's database at a server that does not answer; returns the engine to restore."""
    saved = bot.deps.db.engine
    bot.deps.db.engine = make_engine(f"sqlite:///{tmp_path / 'gone' / 'bot.db'}")
    return saved


async def test_a_question_during_an_outage_is_answered_temporarily_unavailable_and_work_resumes(
    sqlite_bot: SlackBot, tmp_path: Path
) -> None:
    bot = sqlite_bot
    saved = _outage(bot, tmp_path)
    async with bot.session.get(f"{bot.url}/healthz") as resp:
        assert resp.status == 503 and (await resp.json())["database"] == "down"
    keeper = TurnKeeper(bot.surface)
    assert await keeper.tick() == []  # the heartbeat and sweep fail quietly, nothing crashes

    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} what is OPS-1?")
    assert await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} what is OPS-1?", ts=asked)) == 200
    await bot.settle()
    [reply] = bot.slack.bot_messages(OPS_CHANNEL)
    assert reply.thread_ts == asked and agent_text.database_unavailable() in reply.text
    assert [s for s in bot.slack.statuses if s[1] == asked][-1][2] == ""
    assert bot.model.bodies() == []

    bot.deps.db.engine = saved  # the database is back
    assert await keeper.tick() == []
    async with bot.session.get(f"{bot.url}/healthz") as resp:
        assert resp.status == 200
    later = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} and now?")
    bot.model.queue(text_reply("OPS-1 is open."))
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} and now?", ts=later))
    await bot.settle()
    assert [m.text for m in bot.slack.bot_messages(OPS_CHANNEL) if m.thread_ts == later] == ["OPS-1 is open."]


async def test_waiting_for_the_database_logs_one_line_per_attempt_then_returns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "later"
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            missing.mkdir()  # the database comes up during the third wait

    await wait_for_database(f"sqlite:///{missing / 'bot.db'}", deadline_seconds=60, sleep=sleep)
    assert slept == [1.0, 2.0, 4.0]
    lines = [r.getMessage() for r in caplog.records if "not reachable" in r.getMessage()]
    assert lines == [f"database not reachable at {missing / 'bot.db'}, retrying in {s:g} s" for s in (1, 2, 4)]


async def test_sigterm_drains_running_answers_and_healthz_says_draining(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(bot.app, bot.surface, http=True, host="127.0.0.1", port=0, stop=stop))
    gate = threading.Event()
    bot.model.queue(Reply(content=["OPS-1 is open."], gate=gate))
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} what is OPS-1?")
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} what is OPS-1?", ts=asked))
    await bot.model.await_messages(1)
    stop.set()  # SIGTERM
    while not bot.deps.lifecycle.draining:
        await asyncio.sleep(0)  # let serve() see the stop event
    async with bot.session.get(f"{bot.url}/healthz") as resp:
        assert resp.status == 503 and (await resp.json())["draining"] is True
    body = json.dumps(event_callback(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} more?", ts="1.2")))
    status, _, _ = await bot.post(body, signed_headers(body))
    assert status == 503  # no new events: Slack redelivers them to another process
    gate.set()
    await serving
    [answer] = bot.slack.bot_messages(OPS_CHANNEL)
    assert answer.thread_ts == asked and answer.text == "OPS-1 is open."


async def test_answers_still_running_at_the_shutdown_deadline_are_ended_with_an_explicit_message(
    slack: FakeSlack, model: AnthropicServer, seeded_sqlite: Database, clock: FixedClock
) -> None:
    async for bot in start_bot(slack, model, seeded_sqlite, clock, chatops_shutdown_seconds=0.0):
        await _ended_at_the_deadline(bot)


async def _ended_at_the_deadline(bot: SlackBot) -> None:
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(bot.app, bot.surface, http=True, host="127.0.0.1", port=0, stop=stop, keeper=TurnKeeper(bot.surface)))
    gate = threading.Event()
    bot.model.queue(Reply(content=["OPS-1 is open."], gate=gate))
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} what is OPS-1?")
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} what is OPS-1?", ts=asked))
    await bot.model.await_messages(1)
    stop.set()  # SIGTERM, and no time left to finish
    await serving
    gate.set()
    [told] = [m for m in bot.slack.bot_messages(OPS_CHANNEL) if m.thread_ts == asked]
    assert told.text == agent_text.restarted_ended([])
    assert [s for s in bot.slack.statuses if s[1] == asked][-1][2] == ""
