"""The database: engine construction and running blocking session work off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

T = TypeVar("T")


def make_engine(url: str) -> Engine:
    """An engine for SQLite (file or memory) or PostgreSQL (psycopg 3)."""
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
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    """Runs session work in a worker thread so the event loop never blocks on SQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.config_writes = 0
        """Configuration changes committed through this object: caches of the configuration look again."""

    async def run(self, fn: Callable[[Session], T]) -> T:
        """Run `fn(session)` in a thread inside one transaction (committed when fn returns)."""
        return await asyncio.to_thread(self.run_sync, fn)

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
        """Close pooled connections."""
        self.engine.dispose()
