"""Pooled PostgreSQL connections: one that died while idle in the pool (a database restart, a dropped socket) is
replaced before a transaction uses it, without a ping per transaction (bot/storage/db.py: ping_when_idle)."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from bot.storage.db import Database, make_engine
from bot.storage.wait import is_unavailable

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL not set"),
]


def _backend(db: Database) -> int:
    return int(db.run_conn_sync(lambda c: c.execute(text("SELECT pg_backend_pid()")).scalar_one()))


def _terminate(pid: int) -> None:
    admin = create_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()


def test_a_connection_that_died_while_idle_is_replaced_before_the_next_transaction() -> None:
    db = Database(make_engine(os.environ["TEST_DATABASE_URL"], idle_ping_seconds=0.0))
    try:
        dead = _backend(db)  # the pool keeps this connection
        _terminate(dead)

        assert _backend(db) != dead  # no OperationalError: the dead connection was pinged and replaced
    finally:
        db.dispose()


def test_a_connection_used_a_moment_ago_is_handed_out_without_a_ping_and_replaced_after_it_fails() -> None:
    # No ping per transaction: a connection that died within the idle window fails the one transaction that gets it
    # (the turn's own error handling applies), and SQLAlchemy's disconnect detection then empties the pool.
    db = Database(make_engine(os.environ["TEST_DATABASE_URL"], idle_ping_seconds=3600.0))
    try:
        dead = _backend(db)
        _terminate(dead)

        with pytest.raises(OperationalError):
            _backend(db)
        assert _backend(db) != dead
    finally:
        db.dispose()


async def test_postgresql_transactions_run_on_the_databases_own_few_threads() -> None:
    # A burst must not run a transaction per conversation at once (the loop's pool had 32 threads): at most
    # `threads`, on threads of the database's own (the loop's pool keeps the other blocking work).
    db = Database(make_engine(os.environ["TEST_DATABASE_URL"]), threads=2)
    entered, release = threading.Semaphore(0), threading.Event()

    def hold(conn: Connection) -> str:
        conn.execute(text("SELECT 1"))
        entered.release()
        release.wait(10)
        return threading.current_thread().name

    try:
        running = [asyncio.ensure_future(db.run_conn(hold)) for _ in range(5)]  # all submitted before any ends
        for _ in range(2):
            await asyncio.to_thread(entered.acquire, True, 10)
        release.set()
        names = set(await asyncio.gather(*running))

        assert len(names) == 2 and all(n.startswith("chatops-db") for n in names), names
    finally:
        release.set()
        db.dispose()


async def test_a_statement_the_database_refuses_raises_sqlalchemys_error_and_leaves_the_connection_as_it_came() -> None:
    # the turn statements go to the driver in autocommit (Database.run_driver); the pool must get its connection
    # back as it hands them out, and callers see the errors every other query raises
    db = Database(make_engine(os.environ["TEST_DATABASE_URL"]), threads=1)
    try:
        with pytest.raises(DataError):
            await db.run_driver("SELECT 1 / %(zero)s", {"zero": 0})

        assert await db.run_driver("SELECT %(n)s + 1", {"n": 1}) == [(2,)]
        assert db.run_conn_sync(lambda c: c.connection.driver_connection.autocommit) is False
    finally:
        db.dispose()


async def test_a_connection_lost_under_a_driver_statement_reads_as_unavailable_and_is_replaced() -> None:
    db = Database(make_engine(os.environ["TEST_DATABASE_URL"], idle_ping_seconds=3600.0), threads=1)
    try:
        [(dead,)] = await db.run_driver("SELECT pg_backend_pid()", {})
        _terminate(dead)

        with pytest.raises(DBAPIError) as raised:
            await db.run_driver("SELECT pg_backend_pid()", {})
        assert is_unavailable(raised.value)
        [(pid,)] = await db.run_driver("SELECT pg_backend_pid()", {})
        assert pid != dead
    finally:
        db.dispose()
