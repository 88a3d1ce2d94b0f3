"""The frozen schema of migration 1 (`m001_initial_schema`) and the column helpers migrations share.

Frozen SQLAlchemy Core definitions, never the SQLModel classes (which keep changing): do not edit a shipped
definition, add a migration in `bot/storage/migrations.py` instead. Later migrations use `ts` and `string` too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)


def ts(name: str, *, nullable: bool = False) -> Column[datetime]:
    """A timezone-aware timestamp column (NOT NULL unless `nullable`)."""
    return Column(name, DateTime(timezone=True), nullable=nullable)


def string(
    name: str,
    length: int,
    *,
    nullable: bool = True,
    primary_key: bool = False,
    index: bool = False,
    unique: bool = False,
) -> Column[str]:
    """A VARCHAR(length) column."""
    return Column(
        name,
        String(length),
        nullable=nullable,
        primary_key=primary_key,
        index=index or None,
        unique=unique or None,
    )


def schema_v1() -> MetaData:
    """Frozen copy of bot/storage/tables.py as of migration 1. Do not edit: add a migration instead."""
    md = MetaData()
    Table(
        "projects", md,
        string("key", 20, primary_key=True, nullable=False),
        string("name", 200, nullable=False),
        Column("private", Boolean(), nullable=False),
        Column("next_number", Integer(), nullable=False),
        ts("created_at"),
    )  # fmt: skip
    Table(
        "people", md,
        string("id", 64, primary_key=True, nullable=False),
        string("name", 200, nullable=False),
        string("email", 320, index=True),
        string("slack_user_id", 32, unique=True),
    )  # fmt: skip
    Table(
        "tickets", md,
        string("key", 40, primary_key=True, nullable=False),
        Column("project_key", String(20), ForeignKey("projects.key"), nullable=False, index=True),
        Column("number", Integer(), nullable=False),
        string("summary", 255, nullable=False),
        Column("description", Text(), nullable=False),
        string("status", 60, nullable=False, index=True),
        string("priority", 20),
        string("issue_type", 40, nullable=False),
        Column("assignee_id", String(64), ForeignKey("people.id"), nullable=True, index=True),
        Column("reporter_id", String(64), ForeignKey("people.id"), nullable=True),
        Column("labels", JSON(), nullable=True),
        Column("custom", JSON(), nullable=True),
        ts("created_at"),
        ts("updated_at"),
        Column("version", Integer(), nullable=False),
    )  # fmt: skip
    Table(
        "comments", md,
        Column("id", Integer(), primary_key=True),
        Column("ticket_key", String(40), ForeignKey("tickets.key"), nullable=False, index=True),
        Column("author_id", String(64), ForeignKey("people.id"), nullable=True),
        Column("body", Text(), nullable=False),
        ts("created_at"),
    )  # fmt: skip
    Table(
        "ticket_changes", md,
        Column("id", Integer(), primary_key=True),
        Column("ticket_key", String(40), ForeignKey("tickets.key"), nullable=False, index=True),
        ts("at"),
        string("author_id", 64),
        string("field_name", 60, nullable=False),
        Column("from_value", Text(), nullable=True),
        Column("to_value", Text(), nullable=True),
    )  # fmt: skip
    Table(
        "summary_cache", md,
        string("cache_key", 200, primary_key=True, nullable=False),
        string("fingerprint", 200, nullable=False),
        Column("text", Text(), nullable=False),
        ts("created_at"),
    )  # fmt: skip
    Table(
        "conversations", md,
        string("id", 64, primary_key=True, nullable=False),
        string("team_id", 32, nullable=False),
        string("channel_id", 32, nullable=False),
        string("thread_ts", 32, nullable=False),
        string("user_id", 32, nullable=False),
        ts("created_at"),
        ts("updated_at"),
        UniqueConstraint("team_id", "channel_id", "thread_ts", name="uq_conversation_thread"),
    )  # fmt: skip
    Table(
        "conversation_messages", md,
        Column("id", Integer(), primary_key=True),
        Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
        Column("seq", Integer(), nullable=False),
        string("role", 16, nullable=False),
        Column("content", JSON(), nullable=False),
        ts("created_at"),
        UniqueConstraint("conversation_id", "seq", name="uq_message_seq"),
    )  # fmt: skip
    Table(
        "turns", md,
        string("id", 64, primary_key=True, nullable=False),
        Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
        string("user_id", 32, nullable=False),
        ts("started_at"),
        ts("finished_at", nullable=True),
        string("status", 20, nullable=False),
        string("stop_reason", 40),
        Column("steps", Integer(), nullable=False),
        Column("input_tokens", Integer(), nullable=False),
        Column("output_tokens", Integer(), nullable=False),
        Column("cache_read_tokens", Integer(), nullable=False),
        Column("cache_write_tokens", Integer(), nullable=False),
        Column("error", Text(), nullable=True),
        string("answer_ts", 32),
    )  # fmt: skip
    Table(
        "tool_calls", md,
        Column("id", Integer(), primary_key=True),
        Column("turn_id", String(64), ForeignKey("turns.id"), nullable=False, index=True),
        string("conversation_id", 64, nullable=False, index=True),
        string("tool_use_id", 100, nullable=False),
        string("user_id", 32, nullable=False),
        string("tool", 64, nullable=False),
        Column("arguments", JSON(), nullable=True),
        string("decision", 20, nullable=False),
        Column("decision_reason", Text(), nullable=True),
        string("outcome", 20, nullable=False),
        Column("result", Text(), nullable=True),
        Column("error", Text(), nullable=True),
        Column("duration_ms", Float(), nullable=False),
        ts("created_at"),
    )  # fmt: skip
    Table(
        "audit_log", md,
        Column("id", Integer(), primary_key=True),
        ts("at"),
        string("user_id", 32, nullable=False, index=True),
        string("action", 30, nullable=False),
        string("tool", 64),
        string("target", 100),
        string("status", 20, nullable=False),
        Column("details", JSON(), nullable=True),
        string("conversation_id", 64),
        string("tool_use_id", 100),
        string("idempotency_key", 200, unique=True),
    )  # fmt: skip
    Table(
        "processed_events", md,
        string("key", 200, primary_key=True, nullable=False),
        ts("created_at"),
    )  # fmt: skip
    Table(
        "pending_approvals", md,
        string("id", 64, primary_key=True, nullable=False),
        string("conversation_id", 64, nullable=False, index=True),
        string("turn_id", 64, nullable=False),
        string("tool", 64, nullable=False),
        string("tool_use_id", 100, nullable=False),
        Column("arguments", JSON(), nullable=True),
        Column("state", JSON(), nullable=True),
        string("requester_id", 32, nullable=False),
        string("team_id", 32, nullable=False),
        string("channel_id", 32, nullable=False),
        string("thread_ts", 32, nullable=False),
        string("message_ts", 32),
        string("status", 20, nullable=False, index=True),
        ts("created_at"),
        ts("expires_at"),
        string("decided_by", 32),
        ts("decided_at", nullable=True),
    )  # fmt: skip
    Table(
        "role_assignments", md,
        string("user_id", 32, primary_key=True, nullable=False),
        string("role", 40, nullable=False),
        ts("updated_at"),
        string("updated_by", 32),
    )  # fmt: skip
    Table(
        "config", md,
        string("key", 100, primary_key=True, nullable=False),
        Column("value", JSON(), nullable=True),
        Column("version", Integer(), nullable=False),
        ts("updated_at"),
        string("updated_by", 32),
    )  # fmt: skip
    Table(
        "slack_users", md,
        string("user_id", 32, primary_key=True, nullable=False),
        string("name", 200),
        string("email", 320),
        string("backend_person_id", 128),
        ts("fetched_at"),
    )  # fmt: skip
    Table(
        "schedules", md,
        string("id", 64, primary_key=True, nullable=False),
        string("name", 100, nullable=False),
        string("kind", 20, nullable=False),
        string("channel_id", 32),
        string("project_key", 20),
        string("cron", 100, nullable=False),
        string("timezone", 64, nullable=False),
        Column("enabled", Boolean(), nullable=False),
        Column("options", JSON(), nullable=True),
        string("created_by", 32),
        ts("created_at"),
        ts("updated_at"),
    )  # fmt: skip
    Table(
        "schedule_runs", md,
        Column("id", Integer(), primary_key=True),
        string("schedule_id", 64, nullable=False, index=True),
        ts("scheduled_for"),
        string("owner", 100, nullable=False),
        ts("lease_until"),
        string("status", 20, nullable=False),
        Column("attempts", Integer(), nullable=False),
        ts("started_at"),
        ts("finished_at", nullable=True),
        string("message_ts", 32),
        Column("error", Text(), nullable=True),
        UniqueConstraint("schedule_id", "scheduled_for", name="uq_schedule_slot"),
    )  # fmt: skip
    Table(
        "reminders_sent", md,
        Column("id", Integer(), primary_key=True),
        string("user_id", 32, nullable=False),
        string("day", 10, nullable=False),
        ts("sent_at"),
        UniqueConstraint("user_id", "day", name="uq_reminder_day"),
    )  # fmt: skip
    Table(
        "reminder_mutes", md,
        string("user_id", 32, primary_key=True, nullable=False),
        ts("until", nullable=True),
    )  # fmt: skip
    return md
