"""Schema migrations: an append-only list of named functions, each applied once and recorded in
`schema_migrations` (the simonw/llm pattern).

Rules for adding one: append a new `@migration` function at the end; never edit, rename or reorder one that
has shipped. A migration gets a `Connection` inside its own transaction, together with the insert that records
it, so a failure leaves the database at the previous version (PostgreSQL and SQLite both have transactional
DDL). Concurrent starts are safe: each transaction first takes the migration lock (`pg_advisory_xact_lock` on
PostgreSQL, `BEGIN IMMEDIATE` on SQLite) and re-reads what is applied before doing anything. Migrations use
frozen SQLAlchemy Core definitions, never the SQLModel classes, which keep changing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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
    func,
    insert,
    inspect,
    select,
)

from bot.errors import ConfigError
from bot.logs import get_logger
from bot.storage.db import Database

Migration = Callable[[Connection], None]

MIGRATIONS: list[Migration] = []
"""Every migration, oldest first. Append only."""

# Any constant works; it only has to be the same in every process of this program.
_LOCK_KEY = 7_245_771_013_001

_log = get_logger("migrations")

_RECORD = Table(
    "schema_migrations",
    MetaData(),
    Column("name", String(200), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


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
    """Apply the migrations not yet recorded, each in its own locked transaction; return the names applied."""
    migrations = MIGRATIONS if migrations is None else migrations
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


# ---------------------------------------------------------------- the migrations


@migration
def m001_initial_schema(conn: Connection) -> None:
    """The schema of the first release; tables that already exist (made by pre-migration builds) are kept."""
    schema = _schema_v1()
    existing = set(inspect(conn).get_table_names())
    schema.create_all(
        conn, tables=[t for t in schema.sorted_tables if t.name not in existing], checkfirst=False
    )



def _ts(name: str, *, nullable: bool = False) -> Column[datetime]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _str(
    name: str,
    length: int,
    *,
    nullable: bool = True,
    primary_key: bool = False,
    index: bool = False,
    unique: bool = False,
) -> Column[str]:
    return Column(
        name,
        String(length),
        nullable=nullable,
        primary_key=primary_key,
        index=index or None,
        unique=unique or None,
    )


def _schema_v1() -> MetaData:
    """Frozen copy of bot/storage/tables.py as of migration 1. Do not edit: add a migration instead."""
    md = MetaData()
    Table(
        "projects", md,
        _str("key", 20, primary_key=True, nullable=False),
        _str("name", 200, nullable=False),
        Column("private", Boolean(), nullable=False),
        Column("next_number", Integer(), nullable=False),
        _ts("created_at"),
    )  # fmt: skip
    Table(
        "people", md,
        _str("id", 64, primary_key=True, nullable=False),
        _str("name", 200, nullable=False),
        _str("email", 320, index=True),
        _str("slack_user_id", 32, unique=True),
    )  # fmt: skip
    Table(
        "tickets", md,
        _str("key", 40, primary_key=True, nullable=False),
        Column("project_key", String(20), ForeignKey("projects.key"), nullable=False, index=True),
        Column("number", Integer(), nullable=False),
        _str("summary", 255, nullable=False),
        Column("description", Text(), nullable=False),
        _str("status", 60, nullable=False, index=True),
        _str("priority", 20),
        _str("issue_type", 40, nullable=False),
        Column("assignee_id", String(64), ForeignKey("people.id"), nullable=True, index=True),
        Column("reporter_id", String(64), ForeignKey("people.id"), nullable=True),
        Column("labels", JSON(), nullable=True),
        Column("custom", JSON(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        Column("version", Integer(), nullable=False),
    )  # fmt: skip
    Table(
        "comments", md,
        Column("id", Integer(), primary_key=True),
        Column("ticket_key", String(40), ForeignKey("tickets.key"), nullable=False, index=True),
        Column("author_id", String(64), ForeignKey("people.id"), nullable=True),
        Column("body", Text(), nullable=False),
        _ts("created_at"),
    )  # fmt: skip
    Table(
        "ticket_changes", md,
        Column("id", Integer(), primary_key=True),
        Column("ticket_key", String(40), ForeignKey("tickets.key"), nullable=False, index=True),
        _ts("at"),
        _str("author_id", 64),
        _str("field_name", 60, nullable=False),
        Column("from_value", Text(), nullable=True),
        Column("to_value", Text(), nullable=True),
    )  # fmt: skip
    Table(
        "summary_cache", md,
        _str("cache_key", 200, primary_key=True, nullable=False),
        _str("fingerprint", 200, nullable=False),
        Column("text", Text(), nullable=False),
        _ts("created_at"),
    )  # fmt: skip
    Table(
        "conversations", md,
        _str("id", 64, primary_key=True, nullable=False),
        _str("team_id", 32, nullable=False),
        _str("channel_id", 32, nullable=False),
        _str("thread_ts", 32, nullable=False),
        _str("user_id", 32, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        UniqueConstraint("team_id", "channel_id", "thread_ts", name="uq_conversation_thread"),
    )  # fmt: skip
    Table(
        "conversation_messages", md,
        Column("id", Integer(), primary_key=True),
        Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
        Column("seq", Integer(), nullable=False),
        _str("role", 16, nullable=False),
        Column("content", JSON(), nullable=False),
        _ts("created_at"),
        UniqueConstraint("conversation_id", "seq", name="uq_message_seq"),
    )  # fmt: skip
    Table(
        "turns", md,
        _str("id", 64, primary_key=True, nullable=False),
        Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
        _str("user_id", 32, nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        _str("status", 20, nullable=False),
        _str("stop_reason", 40),
        Column("steps", Integer(), nullable=False),
        Column("input_tokens", Integer(), nullable=False),
        Column("output_tokens", Integer(), nullable=False),
        Column("cache_read_tokens", Integer(), nullable=False),
        Column("cache_write_tokens", Integer(), nullable=False),
        Column("error", Text(), nullable=True),
        _str("answer_ts", 32),
    )  # fmt: skip
    Table(
        "tool_calls", md,
        Column("id", Integer(), primary_key=True),
        Column("turn_id", String(64), ForeignKey("turns.id"), nullable=False, index=True),
        _str("conversation_id", 64, nullable=False, index=True),
        _str("tool_use_id", 100, nullable=False),
        _str("user_id", 32, nullable=False),
        _str("tool", 64, nullable=False),
        Column("arguments", JSON(), nullable=True),
        _str("decision", 20, nullable=False),
        Column("decision_reason", Text(), nullable=True),
        _str("outcome", 20, nullable=False),
        Column("result", Text(), nullable=True),
        Column("error", Text(), nullable=True),
        Column("duration_ms", Float(), nullable=False),
        _ts("created_at"),
    )  # fmt: skip
    Table(
        "audit_log", md,
        Column("id", Integer(), primary_key=True),
        _ts("at"),
        _str("user_id", 32, nullable=False, index=True),
        _str("action", 30, nullable=False),
        _str("tool", 64),
        _str("target", 100),
        _str("status", 20, nullable=False),
        Column("details", JSON(), nullable=True),
        _str("conversation_id", 64),
        _str("tool_use_id", 100),
        _str("idempotency_key", 200, unique=True),
    )  # fmt: skip
    Table(
        "processed_events", md,
        _str("key", 200, primary_key=True, nullable=False),
        _ts("created_at"),
    )  # fmt: skip
    Table(
        "pending_approvals", md,
        _str("id", 64, primary_key=True, nullable=False),
        _str("conversation_id", 64, nullable=False, index=True),
        _str("turn_id", 64, nullable=False),
        _str("tool", 64, nullable=False),
        _str("tool_use_id", 100, nullable=False),
        Column("arguments", JSON(), nullable=True),
        Column("state", JSON(), nullable=True),
        _str("requester_id", 32, nullable=False),
        _str("team_id", 32, nullable=False),
        _str("channel_id", 32, nullable=False),
        _str("thread_ts", 32, nullable=False),
        _str("message_ts", 32),
        _str("status", 20, nullable=False, index=True),
        _ts("created_at"),
        _ts("expires_at"),
        _str("decided_by", 32),
        _ts("decided_at", nullable=True),
    )  # fmt: skip
    Table(
        "role_assignments", md,
        _str("user_id", 32, primary_key=True, nullable=False),
        _str("role", 40, nullable=False),
        _ts("updated_at"),
        _str("updated_by", 32),
    )  # fmt: skip
    Table(
        "config", md,
        _str("key", 100, primary_key=True, nullable=False),
        Column("value", JSON(), nullable=True),
        Column("version", Integer(), nullable=False),
        _ts("updated_at"),
        _str("updated_by", 32),
    )  # fmt: skip
    Table(
        "slack_users", md,
        _str("user_id", 32, primary_key=True, nullable=False),
        _str("name", 200),
        _str("email", 320),
        _str("backend_person_id", 128),
        _ts("fetched_at"),
    )  # fmt: skip
    Table(
        "schedules", md,
        _str("id", 64, primary_key=True, nullable=False),
        _str("name", 100, nullable=False),
        _str("kind", 20, nullable=False),
        _str("channel_id", 32),
        _str("project_key", 20),
        _str("cron", 100, nullable=False),
        _str("timezone", 64, nullable=False),
        Column("enabled", Boolean(), nullable=False),
        Column("options", JSON(), nullable=True),
        _str("created_by", 32),
        _ts("created_at"),
        _ts("updated_at"),
    )  # fmt: skip
    Table(
        "schedule_runs", md,
        Column("id", Integer(), primary_key=True),
        _str("schedule_id", 64, nullable=False, index=True),
        _ts("scheduled_for"),
        _str("owner", 100, nullable=False),
        _ts("lease_until"),
        _str("status", 20, nullable=False),
        Column("attempts", Integer(), nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        _str("message_ts", 32),
        Column("error", Text(), nullable=True),
        UniqueConstraint("schedule_id", "scheduled_for", name="uq_schedule_slot"),
    )  # fmt: skip
    Table(
        "reminders_sent", md,
        Column("id", Integer(), primary_key=True),
        _str("user_id", 32, nullable=False),
        _str("day", 10, nullable=False),
        _ts("sent_at"),
        UniqueConstraint("user_id", "day", name="uq_reminder_day"),
    )  # fmt: skip
    Table(
        "reminder_mutes", md,
        _str("user_id", 32, primary_key=True, nullable=False),
        _ts("until", nullable=True),
    )  # fmt: skip
    return md


@migration
def m002_answers_feedback_agent_context(conn: Connection) -> None:
    """Answers posted in Slack, feedback on them, and each person's last agent-view context."""
    md = MetaData()
    Table(
        "answers", md,
        _str("id", 64, primary_key=True, nullable=False),
        _str("team_id", 32, nullable=False),
        _str("channel_id", 32, nullable=False),
        _str("message_ts", 32, nullable=False),
        _str("thread_ts", 32, nullable=False),
        _str("turn_id", 64, nullable=False, index=True),
        _str("user_id", 32, nullable=False),
        _str("model", 100, nullable=False),
        _str("status", 20, nullable=False),
        Column("tools", JSON(), nullable=True),
        Column("input_tokens", Integer(), nullable=False),
        Column("output_tokens", Integer(), nullable=False),
        Column("latency_ms", Float(), nullable=False),
        _ts("created_at"),
        UniqueConstraint("team_id", "channel_id", "message_ts", name="uq_answer_message"),
    )  # fmt: skip
    Table(
        "answer_feedback", md,
        Column("id", Integer(), primary_key=True),
        Column("answer_id", String(64), ForeignKey("answers.id"), nullable=False, index=True),
        _str("user_id", 32, nullable=False),
        _str("rating", 8, nullable=False),
        Column("comment", Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        UniqueConstraint("answer_id", "user_id", name="uq_feedback_once"),
    )  # fmt: skip
    Table(
        "agent_contexts", md,
        _str("user_id", 32, primary_key=True, nullable=False),
        Column("entities", JSON(), nullable=True),
        _ts("updated_at"),
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
    v1 = _schema_v1()
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
        _str("problem", 200, primary_key=True, nullable=False),
        Column("summary", Text(), nullable=False),
        _ts("first_seen_at"),
        _ts("last_sent_at"),
        Column("sent_count", Integer(), nullable=False),
    ).create(conn, checkfirst=True)  # fmt: skip
