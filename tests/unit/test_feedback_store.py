"""The answers-and-feedback store on a real database (SQLite, and PostgreSQL when configured): one rating per person
per answer even when two clicks race, the weekly summary's figures, and retention."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.storage.db import Database
from bot.storage.feedback import AnswerRecord
from bot.storage.migrations import migrate
from bot.storage.store import Store
from bot.storage.tables import TurnRow
from tests.conftest import FixedClock


def _record(ts: str, tools: list[tuple[str, float]], *, turn: str = "t1") -> AnswerRecord:
    return AnswerRecord(
        team_id="T0TEAM", channel_id="C0OPS", message_ts=ts, thread_ts="1.0", turn_id=turn, user_id="U0ALICE",
        model="claude-sonnet-4-6", status="answered", tools=[{"tool": t, "outcome": "ok", "ms": ms} for t, ms in tools],
        input_tokens=100, output_tokens=20, latency_ms=900.0,
    )


async def _store(database: Database, clock: FixedClock) -> Store:
    await migrate(database)
    return Store(database, clock=clock)


async def test_racing_first_clicks_of_one_person_store_one_rating(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    answer_id = await store.record_answer(_record("2.0", []))
    assert answer_id is not None and await store.record_answer(_record("2.0", [])) is None  # same message: once
    results = await asyncio.gather(*(store.rate_answer(answer_id=answer_id, user_id="U0BOB", rating="down") for _ in range(6)))
    assert sum(r.created for r in results) == 1
    assert [(f.user_id, f.rating) for f in await store.feedback_of(answer_id)] == [("U0BOB", "down")]


async def test_the_summary_counts_this_weeks_answers_ratings_and_tools(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    old = await store.record_answer(_record("1.0", [("search_tickets", 5000.0)], turn="t0"))
    clock.advance(8 * 24 * 3600)
    good = await store.record_answer(_record("2.0", [("get_ticket", 100.0)], turn="t1"))
    bad = await store.record_answer(_record("3.0", [("search_tickets", 800.0), ("get_ticket", 300.0), ("get_ticket", 200.0)], turn="t2"))
    assert old and good and bad
    await store.rate_answer(answer_id=old, user_id="U0BOB", rating="down")
    await store.rate_answer(answer_id=good, user_id="U0BOB", rating="up")
    await store.rate_answer(answer_id=bad, user_id="U0BOB", rating="down")
    await store.rate_answer(answer_id=bad, user_id="U0CAROL", rating="down")
    assert await store.comment_feedback(answer_id=bad, user_id="U0CAROL", comment="  wrong project  ")
    summary = await store.feedback_summary(days=7)
    assert (summary.answers, summary.up, summary.down, summary.commented) == (2, 1, 2, 1)
    assert summary.down_tools == [("get_ticket", 1), ("search_tickets", 1)]  # per answer, not per call
    assert [(t.tool, t.calls, t.median_ms, t.max_ms) for t in summary.slowest] == [
        ("search_tickets", 1, 800.0, 800.0),
        ("get_ticket", 3, 200.0, 300.0),
    ]


async def test_housekeeping_purges_old_answers_with_their_feedback_and_stale_views(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    old = await store.record_answer(_record("1.0", []))
    assert old is not None
    await store.rate_answer(answer_id=old, user_id="U0BOB", rating="up")
    await store.save_agent_context("U0BOB", [{"type": "slack#/types/channel_id", "value": "C0OPS"}])
    clock.advance(3 * 24 * 3600)
    recent = await store.record_answer(_record("2.0", []))
    counts = await store.purge_answers(before=clock() - timedelta(days=1), contexts_before=clock() - timedelta(days=1))
    assert counts == {"answers": 1, "answer_feedback": 1, "agent_contexts": 1}
    assert await store.answer_by_id(old) is None and recent and await store.answer_by_id(recent) is not None
    assert await store.agent_context("U0BOB", max_age=timedelta(days=30)) == []


async def test_an_answer_recorded_on_its_turn_sets_the_turns_answer_message_in_the_same_write(
    database: Database, clock: FixedClock
) -> None:
    store = await _store(database, clock)
    await store.begin_turn(team_id="T0TEAM", channel_id="C0OPS", thread_ts="1.0", user_id="U0ALICE", turn_id="t1")

    first = await store.record_answer(_record("2.0", []), on_turn=True)
    again = await store.record_answer(_record("2.0", []), on_turn=True)  # a redelivered answer: recorded once

    turn = await database.run(lambda s: s.get(TurnRow, "t1"))
    assert first is not None and again is None
    assert turn is not None and turn.answer_ts == "2.0"
    assert (await store.answer_by_id(first)) is not None
