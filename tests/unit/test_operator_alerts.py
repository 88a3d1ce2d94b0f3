"""`claim_alert`: one DM per problem per window, however many callers race for it (real SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from bot.storage.db import Database
from bot.storage.migrations import migrate_sync
from bot.storage.store import Store
from tests.conftest import FixedClock
from tests.schedules_world import same_database

HOUR = timedelta(hours=1)


async def test_the_first_sighting_claims_and_later_ones_wait_for_the_window(database: Database, clock: FixedClock) -> None:
    migrate_sync(database.engine)
    store = Store(database, clock=clock)

    assert await store.claim_alert("model.auth", summary="key refused", window=HOUR)
    assert not await store.claim_alert("model.auth", summary="key refused", window=HOUR)
    assert await store.claim_alert("jira.credentials", summary="jira refused", window=HOUR)  # another problem
    clock.advance(3599)
    assert not await store.claim_alert("model.auth", summary="key refused", window=HOUR)
    clock.advance(1)
    assert await store.claim_alert("model.auth", summary="key refused again", window=HOUR)

    row = await store.get_alert("model.auth")
    assert row is not None and row.sent_count == 2 and row.summary == "key refused again"
    assert row.last_sent_at - row.first_seen_at == HOUR


def test_processes_racing_in_parallel_threads_claim_once(database: Database, clock: FixedClock) -> None:
    migrate_sync(database.engine)
    start = threading.Barrier(6)
    wins: list[bool] = []

    def process() -> None:
        async def race() -> bool:
            db = same_database(database)
            try:
                await asyncio.to_thread(start.wait, 10)
                return await Store(db, clock=clock).claim_alert("model.auth", summary="key refused", window=HOUR)
            finally:
                db.dispose()

        wins.append(asyncio.run(race()))

    threads = [threading.Thread(target=process) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(wins) == [False] * 5 + [True]
