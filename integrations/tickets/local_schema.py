"""The local ticket store's schema and what it needs from the database.

The five tables (projects, people, tickets, comments, ticket_changes) are SQLModel classes in SQLModel's one
metadata, like the bot's own tables in `bot/storage/tables.py`, which re-exports them; the bot's migrations
(`bot/storage/migrations*.py`, frozen copies, append-only) create and upgrade them, and a test checks that the
migrated schema matches these classes. `SessionRunner` is the database runner the local backend is given
(`bot.storage.db.Database` satisfies it): `integrations/` never imports `bot/`.

Timestamps are timezone-aware UTC. JSON columns hold provider-neutral data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import JSON, Column, DateTime, Text
from sqlmodel import Field, Session, SQLModel

T = TypeVar("T")


class SessionRunner(Protocol):
    """Runs blocking session work off the event loop: `fn(session)` inside one transaction, committed when `fn`
    returns (rolled back when it raises)."""

    async def run(self, fn: Callable[[Session], T]) -> T: ...


def timestamp_field(nullable: bool = False) -> Any:
    """A timezone-aware timestamp column."""
    return Field(sa_column=Column(DateTime(timezone=True), nullable=nullable))


def json_field(nullable: bool = True) -> Any:
    """A JSON column (None by default)."""
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


def text_field(nullable: bool = True) -> Any:
    """An unbounded text column (None by default)."""
    return Field(default=None, sa_column=Column(Text, nullable=nullable))


class ProjectRow(SQLModel, table=True):
    __tablename__ = "projects"
    key: str = Field(primary_key=True, max_length=20)
    name: str = Field(max_length=200)
    private: bool = False
    next_number: int = 1
    created_at: datetime = timestamp_field()


class PersonRow(SQLModel, table=True):
    __tablename__ = "people"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320, index=True)
    slack_user_id: str | None = Field(default=None, max_length=32, unique=True)


class TicketRow(SQLModel, table=True):
    __tablename__ = "tickets"
    key: str = Field(primary_key=True, max_length=40)
    project_key: str = Field(foreign_key="projects.key", index=True, max_length=20)
    number: int
    summary: str = Field(max_length=255)
    description: str = text_field(nullable=False)
    status: str = Field(max_length=60, index=True)
    priority: str | None = Field(default=None, max_length=20)
    issue_type: str = Field(default="Task", max_length=40)
    assignee_id: str | None = Field(default=None, foreign_key="people.id", index=True, max_length=64)
    reporter_id: str | None = Field(default=None, foreign_key="people.id", max_length=64)
    labels: list[str] | None = json_field()
    custom: dict[str, Any] | None = json_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    version: int = 1


class CommentRow(SQLModel, table=True):
    __tablename__ = "comments"
    id: int | None = Field(default=None, primary_key=True)
    ticket_key: str = Field(foreign_key="tickets.key", index=True, max_length=40)
    author_id: str | None = Field(default=None, foreign_key="people.id", max_length=64)
    body: str = text_field(nullable=False)
    created_at: datetime = timestamp_field()


class TicketChangeRow(SQLModel, table=True):
    __tablename__ = "ticket_changes"
    id: int | None = Field(default=None, primary_key=True)
    ticket_key: str = Field(foreign_key="tickets.key", index=True, max_length=40)
    at: datetime = timestamp_field()
    author_id: str | None = Field(default=None, max_length=64)
    field_name: str = Field(max_length=60)
    from_value: str | None = text_field()
    to_value: str | None = text_field()
