"""The database: engine construction and running blocking session work off the event loop.

Session work runs on the database's own threads, never on the event loop's thread pool (which keeps the other
blocking work: the Jira client, file reads):

- On PostgreSQL, two threads per CPU (`db_threads`), not one per conversation in flight. A burst of 200 questions
  used to run up to 32 transactions at once in one process (the loop's pool): on 2 cores they only took turns on
  the interpreter lock and on PostgreSQL's own processes, and every turn waited longer. With 4 threads the same
  burst is answered sooner and with less CPU (`python -m benchmarks slack`, docs/benchmarks.md).
- A SQLite file has one writer at a time, and writers that collide wait in SQLite's busy handler, which sleeps in
  steps of up to 100 ms: under a burst that made every turn seconds slower while using more CPU. So on SQLite all
  session work of a process runs on one thread, one transaction after another (reads are sub-millisecond), and
  nothing ever waits on the file lock within the process.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

T = TypeVar("T")
A = TypeVar("A")


def make_engine(url: str, *, idle_ping_seconds: float | None = None) -> Engine:
    """An engine for SQLite (file or memory) or PostgreSQL (psycopg 3; connections idle for longer than
    `idle_ping_seconds`, default IDLE_PING_SECONDS, are pinged before use)."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                # WAL makes NORMAL durable against application crashes; only an OS crash may lose the last commit.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    ping_when_idle(engine, IDLE_PING_SECONDS if idle_ping_seconds is None else idle_ping_seconds)
    return engine


IDLE_PING_SECONDS = 5.0
"""A pooled PostgreSQL connection unused for longer than this is pinged before it is handed out."""


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Hand out no dead connection (after a database restart or a dropped socket) without a round trip per
    transaction: a connection back in the pool for more than `idle_seconds` is pinged at checkout, and a failed ping
    makes the pool replace it (SQLAlchemy's "pessimistic disconnect handling" recipe with a checkout event).
    `pool_pre_ping` pings at every checkout: on a busy bot one `SELECT 1` per transaction (three per turn), about
    70 µs of CPU each, for connections used milliseconds before."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - whatever the driver raised, this connection is not usable
            raise DisconnectionError("idle connection failed its ping") from exc


def db_threads() -> int:
    """Threads for PostgreSQL session work in one process: two per CPU this process may run on."""
    return 2 * len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2 * (os.cpu_count() or 1)


class Database:
    """Runs session work in a worker thread so the event loop never blocks on SQL."""

    def __init__(self, engine: Engine, *, threads: int | None = None) -> None:
        self.engine = engine
        self.threads = 1 if engine.dialect.name == "sqlite" else max(1, threads or db_threads())
        """How many transactions of this process run at once (one on SQLite)."""
        self._executor: ThreadPoolExecutor | None = None
        self.config_writes = 0
        """Configuration changes committed through this object: caches of the configuration look again."""

    async def run(self, fn: Callable[[Session], T]) -> T:
        """Run `fn(session)` in a thread inside one transaction (committed when fn returns)."""
        return await self._in_thread(self.run_sync, fn)

    async def run_conn(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(connection)` in a thread inside one transaction (committed when fn returns, rolled back when it
        raises): Core statements only, without an ORM session. For the statements every turn runs
        (bot/storage/turn_sql.py), where the session's own work costs more CPU than the SQL."""
        return await self._in_thread(self.run_conn_sync, fn)

    def run_conn_sync(self, fn: Callable[[Connection], T]) -> T:
        """The same, on the calling thread."""
        with self.engine.begin() as connection:
            return fn(connection)

    async def run_driver(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """PostgreSQL only: run ONE statement (psycopg's `%(name)s` parameters) on a pooled connection in
        autocommit, in a thread; its rows. The statement is its own transaction (atomic on its own), one round trip
        instead of three (BEGIN, the statement, COMMIT), and it goes to the driver without SQLAlchemy's execution
        machinery (a `Connection`, its isolation level switched per statement, cost twice the CPU per statement:
        docs/benchmarks.md), for the statements every turn runs (bot/storage/turn_sql.py). The pool's
        checkout (and its idle ping) apply as for any transaction; a driver error is raised as SQLAlchemy's (the
        same `DBAPIError` subclasses, a lost connection invalidated), so callers tell "unavailable" apart alike."""
        return await self._in_thread(self._run_driver_sync, (sql, params))

    def _run_driver_sync(self, statement: tuple[str, Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        sql, params = statement
        dialect = self.engine.dialect
        driver_error = dialect.loaded_dbapi.Error
        pooled = self.engine.raw_connection()
        driver: Any = pooled.driver_connection  # psycopg.Connection
        lost = False
        try:
            driver.autocommit = True
            with driver.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description is not None else []
        except driver_error as exc:
            lost = dialect.is_disconnect(exc, driver, None)
            if lost:
                pooled.invalidate(exc)
            raise DBAPIError.instance(sql, params, exc, driver_error, connection_invalidated=lost, dialect=dialect) from exc
        finally:
            if not lost:
                try:
                    driver.autocommit = False  # as the pool hands connections out
                except driver_error as exc:
                    pooled.invalidate(exc)
            pooled.close()

    async def _in_thread(self, runner: Callable[[A], T], arg: A) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="chatops-db")
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._executor, context.run, runner, arg)

    def run_sync(self, fn: Callable[[Session], T]) -> T:
        """The same, on the calling thread (for start-up code and threads)."""
        with Session(self.engine, expire_on_commit=False) as session:
            result = fn(session)
            session.commit()
            return result

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL."""
        return self.engine.dialect.name == "postgresql"

    async def ping(self) -> bool:
        """True when the database answers."""
        from sqlalchemy import text

        def _ping(session: Session) -> bool:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            return True

        try:
            return await self.run(_ping)
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            return False

    def dispose(self) -> None:
        """Close pooled connections (and the database's threads, started again on the next use)."""
        self.engine.dispose()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)
