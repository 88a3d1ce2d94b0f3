"""Applying migrations: each in its own locked transaction, recorded in `schema_migrations`.

A migration gets a `Connection` inside its own transaction, together with the insert that records it, so a
failure leaves the database at the previous version (PostgreSQL and SQLite both have transactional DDL).
Concurrent starts are safe: each transaction first takes the migration lock (`pg_advisory_xact_lock` on
PostgreSQL, `BEGIN IMMEDIATE` on SQLite) and re-reads what is applied before doing anything. The list of
migrations itself is in `bot/storage/migrations.py`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Column, Connection, DateTime, Engine, MetaData, String, Table, func, insert, select

from bot.errors import ConfigError

Migration = Callable[[Connection], None]

# Any constant works; it only has to be the same in every process of this program.
_LOCK_KEY = 7_245_771_013_001

_RECORD = Table(
    "schema_migrations",
    MetaData(),
    Column("name", String(200), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


def apply_migrations(engine: Engine, migrations: Sequence[Migration]) -> list[str]:
    """Apply the migrations not yet recorded, each in its own locked transaction; return the names applied.

    A database that records a migration this program does not know is newer than the program: ConfigError."""
    known = [m.__name__ for m in migrations]
    with _locked(engine) as conn:
        _RECORD.create(conn, checkfirst=True)
        recorded = _recorded(conn)
    unknown = sorted(recorded - set(known))
    if unknown:
        raise ConfigError(
            "The database schema is newer than this version of chatops "
            f"(unknown migrations: {', '.join(unknown)}). Upgrade chatops, or point DATABASE_URL elsewhere."
        )
    applied: list[str] = []
    for fn in migrations:
        if fn.__name__ in recorded:
            continue
        with _locked(engine) as conn:
            if fn.__name__ in _recorded(conn):
                continue  # another process applied it while we waited for the lock
            fn(conn)
            conn.execute(insert(_RECORD).values(name=fn.__name__, applied_at=datetime.now(UTC)))
        applied.append(fn.__name__)
    return applied


def applied_migrations(engine: Engine) -> list[str]:
    """Names recorded in `schema_migrations`, in the order they were applied (empty before the first run)."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, _RECORD.name):
            return []
        rows = conn.execute(select(_RECORD.c.name).order_by(_RECORD.c.applied_at, _RECORD.c.name))
        return [row[0] for row in rows]


def _recorded(conn: Connection) -> set[str]:
    return {row[0] for row in conn.execute(select(_RECORD.c.name))}


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that holds the migration lock until the transaction ends."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with engine.begin() as conn:
            conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
            yield conn
    elif dialect == "sqlite":
        # pysqlite's implicit transactions do not cover DDL; drive the transaction ourselves so the whole
        # migration and its record commit or roll back together, holding SQLite's write lock throughout.
        with engine.connect() as raw:
            conn = raw.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
    else:
        raise ConfigError(f"Unsupported database {dialect!r}: use SQLite or PostgreSQL.")
