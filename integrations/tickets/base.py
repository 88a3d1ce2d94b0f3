"""The ticket backend interface: what the tools need from Jira or the local database.

Backends raise only `integrations.errors` ToolError subclasses (NotFound, Conflict, RateLimited, Unavailable,
InvalidArguments; Jira refusing the bot's own credential or account a permission: BackendCredentialsRejected,
BackendPermissionMissing, both `Misconfigured`); every method is async (blocking libraries run in threads inside the adapter).
Data is plain pydantic models; text fields are plain text / Markdown (adapters convert wiki markup or ADF).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class Priority(StrEnum):
    """Jira's default priority scheme; the local store uses the same names."""

    HIGHEST = "Highest"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"
    LOWEST = "Lowest"


StatusCategory = Literal["todo", "in_progress", "done"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Person(_Model):
    """Someone in the ticket system. `id` is the backend's id (Jira accountId, or a local handle)."""

    id: str
    name: str
    email: str | None = None


class Project(_Model):
    """A project: tickets are keyed `<KEY>-<number>`."""

    key: str
    name: str
    private: bool = False


class Ticket(_Model):
    """A ticket as the tools see it."""

    key: str
    project: str
    summary: str
    description: str = ""
    status: str
    status_category: StatusCategory = "todo"
    priority: str | None = None
    issue_type: str = "Task"
    assignee: Person | None = None
    reporter: Person | None = None
    labels: tuple[str, ...] = ()
    created: datetime
    updated: datetime
    url: str | None = None
    comment_count: int = 0
    custom: dict[str, Any] = Field(default_factory=dict)
    """Readable custom fields when present: story_points, sprint, epic."""


class Comment(_Model):
    """One comment on a ticket."""

    id: str
    ticket_key: str
    author: Person | None = None
    body: str
    created: datetime


class Change(_Model):
    """One field change in a ticket's history."""

    at: datetime
    author: Person | None = None
    field: str
    from_value: str | None = None
    to_value: str | None = None


class Transition(_Model):
    """A workflow transition available from the ticket's current status."""

    id: str
    name: str
    to_status: str


class TicketQuery(_Model):
    """Structured search filters; never raw query text. Person fields hold backend person ids."""

    projects: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    status_categories: tuple[StatusCategory, ...] = ()
    assignee_ids: tuple[str, ...] = ()
    unassigned: bool = False
    reporter_ids: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    text: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    order_by: Literal["updated", "created", "priority", "key"] = "updated"
    descending: bool = True
    limit: int = Field(default=20, ge=1, le=100)


class TicketPage(_Model):
    """One page of search results."""

    tickets: tuple[Ticket, ...]
    next_page_token: str | None = None


class CommentPage(_Model):
    """Comments, oldest first, with the total count when known."""

    comments: tuple[Comment, ...]
    total: int | None = None
    next_page_token: str | None = None


class NewTicket(_Model):
    """What create needs."""

    project: str
    summary: str
    description: str = ""
    issue_type: str = "Task"
    priority: str | None = None
    labels: tuple[str, ...] = ()
    assignee_id: str | None = None


class TicketChanges(_Model):
    """Fields update may change; None means unchanged."""

    summary: str | None = None
    description: str | None = None
    priority: str | None = None
    labels: tuple[str, ...] | None = None


@runtime_checkable
class TicketBackend(Protocol):
    """A ticket system. `via` on writes is the attribution line, e.g. 'via Slack by Maya Chen'."""

    name: str

    async def list_projects(self) -> list[Project]: ...

    async def get_ticket(self, key: str) -> Ticket: ...

    async def search_tickets(self, query: TicketQuery, *, page_token: str | None = None) -> TicketPage: ...

    async def create_ticket(self, new: NewTicket, *, reporter: Person | None, via: str) -> Ticket: ...

    async def update_ticket(self, key: str, changes: TicketChanges, *, actor: Person | None) -> Ticket: ...

    async def list_transitions(self, key: str) -> list[Transition]: ...

    async def transition_ticket(self, key: str, to_status: str, *, actor: Person | None) -> Ticket: ...

    async def assign_ticket(self, key: str, assignee_id: str | None, *, actor: Person | None) -> Ticket: ...

    async def list_comments(
        self, key: str, *, limit: int = 20, page_token: str | None = None, newest_first: bool = False
    ) -> CommentPage: ...

    async def add_comment(self, key: str, body: str, *, author: Person | None, via: str) -> Comment: ...

    async def history(self, key: str, *, limit: int = 50) -> list[Change]: ...

    async def find_people(self, query: str, *, limit: int = 5) -> list[Person]: ...

    async def person_for_user(self, *, slack_user_id: str, email: str | None) -> Person | None: ...

    async def aclose(self) -> None: ...
