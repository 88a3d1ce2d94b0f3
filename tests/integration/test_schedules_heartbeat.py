"""A database error while renewing a run's lease is logged; it never fails a run that went on and finished."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import event, text

from bot.scheduler.runs import RunPolicy
from bot.settings import Settings
from bot.storage.db import Database
from tests.fakes.slack_server import FakeSlack
from tests.schedules_world import SLOT, make_world, seeded_world


async def test_a_failed_lease_renewal_does_not_fail_the_finished_run(
    sqlite_database: Database, slack: FakeSlack, schedule_settings: Settings
) -> None:
    refused = threading.Event()

    def refuse_renewal() -> None:
        refused.set()
        raise sqlite3.OperationalError("disk I/O error")

    @event.listens_for(sqlite_database.engine, "connect")
    def _register(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.create_function("refuse_renewal", 0, refuse_renewal)

    sqlite_database.engine.dispose()  # pooled connections get the function too
    seeded = await seeded_world(sqlite_database, slack, schedule_settings)
    schedules_world = await make_world(sqlite_database, slack, schedule_settings, policy=RunPolicy(lease=timedelta(seconds=0.15)))
    schedule = await seeded.add_digest()
    posting = threading.Event()
    slack.fail("chat.postMessage", hold=posting)  # the digest's post waits while the lease is renewed

    run = asyncio.create_task(schedules_world.coordinator.run_slot(schedule, SLOT))
    await slack.await_call("chat.postMessage")
    # From now on every lease renewal hits a database error (the run already holds its posting claim).
    sqlite_database.run_sync(lambda s: s.execute(text(
        "CREATE TRIGGER no_renewal BEFORE UPDATE OF lease_until ON schedule_runs BEGIN SELECT refuse_renewal(); END"
    )))  # fmt: skip
    assert await asyncio.to_thread(refused.wait, 10), "the heartbeat never tried to renew the lease"
    posting.set()

    result = await run

    assert result.outcome == "done"
    stored = await schedules_world.store.get_run(schedule.id, SLOT)
    assert stored is not None and stored.status == "done" and stored.error is None
