"""Every table, as SQLModel classes. The schema is created and upgraded by `bot/storage/migrations.py`
(append-only); a test checks that the migrated schema matches these classes. The local ticket store's tables
(projects, people, tickets, comments, ticket_changes) are defined beside the local backend in
`integrations/tickets/local_schema.py` (integrations never import bot) and re-exported here, so the migrations
and `SQLModel.metadata` still cover every table.

Timestamps are timezone-aware UTC. JSON columns hold provider-neutral data (messages, arguments, details).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

# The local ticket store's tables are re-exported (`X as X`), so `bot.storage.tables` still names every table.
from integrations.tickets.local_schema import CommentRow as CommentRow
from integrations.tickets.local_schema import PersonRow as PersonRow
from integrations.tickets.local_schema import ProjectRow as ProjectRow
from integrations.tickets.local_schema import TicketChangeRow as TicketChangeRow
from integrations.tickets.local_schema import TicketRow as TicketRow
from integrations.tickets.local_schema import json_field as _json
from integrations.tickets.local_schema import text_field as _text
from integrations.tickets.local_schema import timestamp_field as _ts

# ---------------------------------------------------------------- summaries


class SummaryCacheRow(SQLModel, table=True):
    """Model-written summaries, valid while the ticket's fingerprint is unchanged."""

    __tablename__ = "summary_cache"
    cache_key: str = Field(primary_key=True, max_length=400)
    fingerprint: str = Field(max_length=200)
    text: str = _text(nullable=False)
    created_at: datetime = _ts()


# ---------------------------------------------------------------- conversations and traces


class ConversationRow(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "thread_ts", name="uq_conversation_thread"),)
    id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(default="", max_length=32)
    channel_id: str = Field(max_length=32)
    thread_ts: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class MessageRow(SQLModel, table=True):
    __tablename__ = "conversation_messages"
    __table_args__ = (UniqueConstraint("conversation_id", "seq", name="uq_message_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=64)
    seq: int
    role: str = Field(max_length=16)
    content: list[dict[str, Any]] | None = _json(nullable=False)
    created_at: datetime = _ts()


class TurnRow(SQLModel, table=True):
    __tablename__ = "turns"
    id: str = Field(primary_key=True, max_length=64)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=64)
    user_id: str = Field(max_length=32)
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)
    status: str = Field(default="running", max_length=20)
    stop_reason: str | None = Field(default=None, max_length=40)
    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    error: str | None = _text()
    answer_ts: str | None = Field(default=None, max_length=32)
    owner: str | None = Field(default=None, max_length=100, index=True)
    """The process running the turn (bot/storage/leases.py); its claim holds until `lease_until`."""
    lease_until: datetime | None = _ts(nullable=True)
    request: dict[str, Any] | None = _json()
    """What the turn was asked (question, actor, where it is shown): enough to end or re-run it after a crash."""


class ToolCallRow(SQLModel, table=True):
    __tablename__ = "tool_calls"
    id: int | None = Field(default=None, primary_key=True)
    turn_id: str = Field(foreign_key="turns.id", index=True, max_length=64)
    conversation_id: str = Field(index=True, max_length=64)
    tool_use_id: str = Field(max_length=100)
    user_id: str = Field(max_length=32)
    tool: str = Field(max_length=64)
    arguments: dict[str, Any] | None = _json()
    decision: str = Field(default="allow", max_length=20)
    decision_reason: str | None = _text()
    outcome: str = Field(max_length=20)
    result: str | None = _text()
    error: str | None = _text()
    duration_ms: float = 0.0
    created_at: datetime = _ts()


class AuditRow(SQLModel, table=True):
    """Every write (and every denial, approval and config change): who, what, when, and how it ended.

    A write claims its `idempotency_key` before it is sent: a second claim finds the row and never sends again.
    """

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    user_id: str = Field(max_length=32, index=True)
    action: str = Field(max_length=30)
    tool: str | None = Field(default=None, max_length=64)
    target: str | None = Field(default=None, max_length=600)
    status: str = Field(default="done", max_length=20)
    details: dict[str, Any] | None = _json()
    conversation_id: str | None = Field(default=None, max_length=64)
    tool_use_id: str | None = Field(default=None, max_length=100)
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)


class ProcessedEventRow(SQLModel, table=True):
    """Slack deliveries already claimed (event ids and channel:ts pairs), for dedupe across processes."""

    __tablename__ = "processed_events"
    key: str = Field(primary_key=True, max_length=200)
    created_at: datetime = _ts()


class PendingApprovalRow(SQLModel, table=True):
    """A write waiting for Approve/Cancel, with what the loop needs to resume the turn."""

    __tablename__ = "pending_approvals"
    id: str = Field(primary_key=True, max_length=64)
    conversation_id: str = Field(index=True, max_length=64)
    turn_id: str = Field(max_length=64)
    tool: str = Field(max_length=64)
    tool_use_id: str = Field(max_length=100)
    arguments: dict[str, Any] | None = _json()
    state: dict[str, Any] | None = _json()
    requester_id: str = Field(max_length=32)
    team_id: str = Field(default="", max_length=32)
    channel_id: str = Field(max_length=32)
    thread_ts: str = Field(max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    status: str = Field(default="pending", max_length=20, index=True)
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = _ts(nullable=True)


# ---------------------------------------------------------------- policy and configuration


class RoleAssignmentRow(SQLModel, table=True):
    __tablename__ = "role_assignments"
    user_id: str = Field(primary_key=True, max_length=32)
    role: str = Field(max_length=40)
    updated_at: datetime = _ts()
    updated_by: str | None = Field(default=None, max_length=32)


class ConfigRow(SQLModel, table=True):
    """Admin-editable configuration, one JSON value per key; `version` increases on every change."""

    __tablename__ = "config"
    key: str = Field(primary_key=True, max_length=100)
    value: Any = _json()
    version: int = 1
    updated_at: datetime = _ts()
    updated_by: str | None = Field(default=None, max_length=32)


class SlackUserRow(SQLModel, table=True):
    """Cache of users.info: name and email, and the ticket-backend person they map to."""

    __tablename__ = "slack_users"
    user_id: str = Field(primary_key=True, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    backend_person_id: str | None = Field(default=None, max_length=128)
    fetched_at: datetime = _ts()


# ---------------------------------------------------------------- schedules


class ScheduleRow(SQLModel, table=True):
    __tablename__ = "schedules"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=20)
    channel_id: str | None = Field(default=None, max_length=32)
    project_key: str | None = Field(default=None, max_length=255)
    cron: str = Field(max_length=100)
    timezone: str = Field(default="UTC", max_length=64)
    enabled: bool = True
    options: dict[str, Any] | None = _json()
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ScheduleRunRow(SQLModel, table=True):
    """One scheduled run, claimed by exactly one process (unique schedule + slot; lease for crashed owners)."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "scheduled_for", name="uq_schedule_slot"),)
    id: int | None = Field(default=None, primary_key=True)
    schedule_id: str = Field(index=True, max_length=64)
    scheduled_for: datetime = _ts()
    owner: str = Field(max_length=100)
    lease_until: datetime = _ts()
    status: str = Field(default="running", max_length=20)
    attempts: int = 1
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)
    message_ts: str | None = Field(default=None, max_length=32)
    error: str | None = _text()


class ReminderSentRow(SQLModel, table=True):
    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("user_id", "day", name="uq_reminder_day"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32)
    day: str = Field(max_length=10)
    sent_at: datetime = _ts()


class ReminderMuteRow(SQLModel, table=True):
    __tablename__ = "reminder_mutes"
    user_id: str = Field(primary_key=True, max_length=32)
    until: datetime | None = _ts(nullable=True)


# ---------------------------------------------------------------- answers and feedback (agent surface)


class AnswerRow(SQLModel, table=True):
    """One answer posted in Slack, with what produced it (model, tools, tokens, latency) for its feedback."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "message_ts", name="uq_answer_message"),)
    id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(default="", max_length=32)
    channel_id: str = Field(max_length=32)
    message_ts: str = Field(max_length=32)
    thread_ts: str = Field(max_length=32)
    turn_id: str = Field(index=True, max_length=64)
    user_id: str = Field(max_length=32)
    model: str = Field(default="", max_length=100)
    status: str = Field(default="answered", max_length=20)
    tools: list[dict[str, Any]] | None = _json()
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    created_at: datetime = _ts()


class FeedbackRow(SQLModel, table=True):
    """One person's 👍/👎 on one answer (a second click changes it), with an optional "what went wrong"."""

    __tablename__ = "answer_feedback"
    __table_args__ = (UniqueConstraint("answer_id", "user_id", name="uq_feedback_once"),)
    id: int | None = Field(default=None, primary_key=True)
    answer_id: str = Field(foreign_key="answers.id", index=True, max_length=64)
    user_id: str = Field(max_length=32)
    rating: str = Field(max_length=8)
    comment: str | None = _text()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class AgentContextRow(SQLModel, table=True):
    """What a person was last viewing in Slack when the agent pane was open (`app_context_changed`)."""

    __tablename__ = "agent_contexts"
    user_id: str = Field(primary_key=True, max_length=32)
    entities: list[dict[str, Any]] | None = _json()
    updated_at: datetime = _ts()


class OperatorAlertRow(SQLModel, table=True):
    """A configuration problem the admins were told about by DM: at most one DM per problem per hour, across
    processes (claimed by one conditional UPDATE, or the INSERT of the first sighting)."""

    __tablename__ = "operator_alerts"
    problem: str = Field(primary_key=True, max_length=200)
    summary: str = _text(nullable=False)
    first_seen_at: datetime = _ts()
    last_sent_at: datetime = _ts()
    sent_count: int = 1
