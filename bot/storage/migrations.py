"""Schema migrations: an append-only list of named functions, each applied once and recorded in
`schema_migrations` (the simonw/llm pattern).

Rules for adding one: append a new `@migration` function at the end of this file; never edit, rename or reorder
one that has shipped. Each runs in its own transaction, under a lock, together with the insert that records it
(`bot/storage/migrations_runner.py`). Migrations use frozen SQLAlchemy Core definitions
(`bot/storage/migrations_v1.py` for the first schema), never the SQLModel classes, which keep changing. The
local ticket store's tables (projects, people, tickets, comments, ticket_changes) are created here like every
other table; their SQLModel classes live beside the local backend in `integrations/tickets/local_schema.py`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
)

from bot.logs import get_logger
from bot.storage.db import Database
from bot.storage.migrations_runner import Migration, applied_migrations, apply_migrations
from bot.storage.migrations_v1 import schema_v1, string, ts

__all__ = ["MIGRATIONS", "Migration", "applied_migrations", "migrate", "migrate_sync", "migration"]

MIGRATIONS: list[Migration] = []
"""Every migration, oldest first. Append only."""

_log = get_logger("migrations")


def migration(fn: Migration) -> Migration:
    """Decorator: register `fn` as the next migration (its function name is its permanent id)."""
    MIGRATIONS.append(fn)
    return fn


async def migrate(db: Database) -> None:
    """Create or upgrade the schema (in a worker thread); a no-op when everything is applied."""
    applied = await asyncio.to_thread(migrate_sync, db.engine)
    if applied:
        _log.info("database migrated", extra={"fields": {"applied": ",".join(applied)}})


def migrate_sync(engine: Engine, migrations: Sequence[Migration] | None = None) -> list[str]:
    """Apply the migrations not yet recorded (all of `MIGRATIONS` by default); return the names applied."""
    return apply_migrations(engine, MIGRATIONS if migrations is None else migrations)


# ---------------------------------------------------------------- the migrations


@migration
def m001_initial_schema(conn: Connection) -> None:
    """The schema of the first release; tables that already exist (made by pre-migration builds) are kept."""
    schema = schema_v1()
    existing = set(inspect(conn).get_table_names())
    schema.create_all(
        conn, tables=[t for t in schema.sorted_tables if t.name not in existing], checkfirst=False
    )


@migration
def m002_answers_feedback_agent_context(conn: Connection) -> None:
    """Answers posted in Slack, feedback on them, and each person's last agent-view context."""
    md = MetaData()
    Table(
        "answers", md,
        string("id", 64, primary_key=True, nullable=False),
        string("team_id", 32, nullable=False),
        string("channel_id", 32, nullable=False),
        string("message_ts", 32, nullable=False),
        string("thread_ts", 32, nullable=False),
        string("turn_id", 64, nullable=False, index=True),
        string("user_id", 32, nullable=False),
        string("model", 100, nullable=False),
        string("status", 20, nullable=False),
        Column("tools", JSON(), nullable=True),
        Column("input_tokens", Integer(), nullable=False),
        Column("output_tokens", Integer(), nullable=False),
        Column("latency_ms", Float(), nullable=False),
        ts("created_at"),
        UniqueConstraint("team_id", "channel_id", "message_ts", name="uq_answer_message"),
    )  # fmt: skip
    Table(
        "answer_feedback", md,
        Column("id", Integer(), primary_key=True),
        Column("answer_id", String(64), ForeignKey("answers.id"), nullable=False, index=True),
        string("user_id", 32, nullable=False),
        string("rating", 8, nullable=False),
        Column("comment", Text(), nullable=True),
        ts("created_at"),
        ts("updated_at"),
        UniqueConstraint("answer_id", "user_id", name="uq_feedback_once"),
    )  # fmt: skip
    Table(
        "agent_contexts", md,
        string("user_id", 32, primary_key=True, nullable=False),
        Column("entities", JSON(), nullable=True),
        ts("updated_at"),
    )  # fmt: skip
    md.create_all(conn, checkfirst=True)  # a database made by create_all from tables.py already has them


@migration
def m003_turn_leases(conn: Connection) -> None:
    """Turns are leased (issue #10): the process running a turn (`owner`), until when its claim holds without a
    heartbeat (`lease_until`), and what is needed to end or re-run the turn after a crash (`request`)."""
    md = MetaData()
    added: list[Column[Any]] = [
        Column("owner", String(100), nullable=True),
        Column("lease_until", DateTime(timezone=True), nullable=True),
        Column("request", JSON(), nullable=True),
    ]
    turns = Table("turns", md, *added)
    inspector = inspect(conn)
    present = {c["name"] for c in inspector.get_columns("turns")}
    for column in added:
        if column.name not in present:  # tables made by SQLModel before migrations existed may have them
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE turns ADD COLUMN {column.name} {kind}")
    if "ix_turns_owner" not in {i["name"] for i in inspector.get_indexes("turns")}:
        Index("ix_turns_owner", turns.c.owner).create(conn)

WIDER_KEY_COLUMNS = {("audit_log", "target"): 600, ("summary_cache", "cache_key"): 400, ("schedules", "project_key"): 255}
"""Columns holding ticket or project keys, at the widths keys of up to 255 characters need (issue #9)."""


@migration
def m004_wider_key_columns(conn: Connection) -> None:
    """Jira project keys run to 255 characters (integrations/tickets/keys.py): widen the columns that store keys
    a user or Jira supplies, so PostgreSQL never refuses an audit row, a cached summary or a digest schedule."""
    if conn.dialect.name == "postgresql":
        for (table, column), width in WIDER_KEY_COLUMNS.items():
            conn.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR({width})")
        return
    # SQLite does not enforce lengths, but its declared schema should say what tables.py says: rebuild the tables.
    v1 = schema_v1()
    for name in dict.fromkeys(table for table, _ in WIDER_KEY_COLUMNS):
        widths = {column: width for (table, column), width in WIDER_KEY_COLUMNS.items() if table == name}
        _rebuild_sqlite_table(conn, v1.tables[name], widths)


def _rebuild_sqlite_table(conn: Connection, old: Table, widths: dict[str, int]) -> None:
    """SQLite's way to change a column's declared type: a new table with the same rows, indexes and name."""
    md = MetaData()
    new = old.to_metadata(md)
    for column, width in widths.items():
        new.c[column].type = String(width)
    kept = f"{old.name}__before_m004"
    for index in inspect(conn).get_indexes(old.name):
        conn.exec_driver_sql(f'DROP INDEX "{index["name"]}"')
    conn.exec_driver_sql(f'ALTER TABLE "{old.name}" RENAME TO "{kept}"')
    new.create(conn)
    columns = ", ".join(f'"{c.name}"' for c in new.columns)
    conn.exec_driver_sql(f'INSERT INTO "{old.name}" ({columns}) SELECT {columns} FROM "{kept}"')
    conn.exec_driver_sql(f'DROP TABLE "{kept}"')


@migration
def m005_operator_alerts(conn: Connection) -> None:
    """`operator_alerts`: which configuration problem the admins were last told about by DM, and when."""
    Table(
        "operator_alerts", MetaData(),
        string("problem", 200, primary_key=True, nullable=False),
        Column("summary", Text(), nullable=False),
        ts("first_seen_at"),
        ts("last_sent_at"),
        Column("sent_count", Integer(), nullable=False),
    ).create(conn, checkfirst=True)  # fmt: skip
