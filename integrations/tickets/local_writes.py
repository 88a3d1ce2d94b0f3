"""Writes of the local ticket store: projects, people, tickets, comments and their history rows.

Session-level functions (`*_in(session, ...)`, `add_project`, `add_person`) used by `LocalTickets`
(integrations/tickets/local.py) and the demo seed; every one runs inside the caller's transaction. Writers first take
the row's write lock with an UPDATE, which serialises them the same way on PostgreSQL (row lock) and SQLite
(database write lock): two creates never get the same key, and history rows always record the value that was
really replaced."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from integrations.errors import Conflict, InvalidArguments, NotFound
from integrations.tickets import workflow
from integrations.tickets.base import (
    NewTicket,
    Person,
    Project,
    TicketChanges,
)
from integrations.tickets.keys import project_key
from integrations.tickets.local_reads import (
    norm_key,
    priority_name,
    utc,
)
from integrations.tickets.local_schema import (
    CommentRow,
    PersonRow,
    ProjectRow,
    TicketChangeRow,
    TicketRow,
)

MAX_SUMMARY = 255
MAX_TEXT = 32_000
_LABEL = re.compile(r"^\S{1,50}$")
LOCAL_PROJECT_KEY_CHARS = 20
"""The width of the local store's `projects.key` column (Jira allows longer keys)."""


# ---------------------------------------------------------------- validation


def _summary(value: str) -> str:
    text = value.strip()
    if not text or len(text) > MAX_SUMMARY or "\n" in text:
        raise InvalidArguments(f"summary must be one line of 1 to {MAX_SUMMARY} characters")
    return text


def _long_text(value: str, what: str, *, required: bool = False) -> str:
    if len(value) > MAX_TEXT:
        raise InvalidArguments(f"{what} is {len(value)} characters; the limit is {MAX_TEXT}")
    if required and not value.strip():
        raise InvalidArguments(f"{what} must not be empty")
    return value


def _issue_type(value: str) -> str:
    found = workflow.canonical(value, workflow.ISSUE_TYPES)
    if found is None:
        raise InvalidArguments(f"issue type {value!r} is not one of: {', '.join(workflow.ISSUE_TYPES)}")
    return found


def _labels(values: Sequence[str]) -> list[str]:
    labels: list[str] = []
    for label in values:
        if not _LABEL.match(label):
            raise InvalidArguments(f"label {label!r} must be 1 to 50 characters without spaces")
        if label not in labels:
            labels.append(label)
    return labels


# ---------------------------------------------------------------- projects and people


def add_project(session: Session, *, key: str, name: str, at: datetime, private: bool = False) -> Project:
    """Create a project. Its key is a Jira project key (`integrations.tickets.keys`, the one definition) that fits
    the local store's `projects.key` column."""
    if project_key(key) != key or len(key) > LOCAL_PROJECT_KEY_CHARS:
        raise InvalidArguments(
            f"project key {key!r} must be a capital letter followed by capitals, digits or underscores, "
            f"at most {LOCAL_PROJECT_KEY_CHARS} characters in the local store"
        )
    session.add(ProjectRow(key=key, name=name, private=private, next_number=1, created_at=utc(at)))
    session.flush()
    return Project(key=key, name=name, private=private)


def add_person(session: Session, *, id: str, name: str, email: str | None = None, slack_user_id: str | None = None) -> Person:
    """Create a person; `slack_user_id` links them to a Slack user for "me"."""
    session.add(PersonRow(id=id, name=name, email=email, slack_user_id=slack_user_id))
    session.flush()
    return Person(id=id, name=name, email=email)


def store_is_empty(session: Session) -> bool:
    """True when the store has no project and no person yet."""
    return session.exec(select(ProjectRow.key).limit(1)).first() is None and (
        session.exec(select(PersonRow.id).limit(1)).first() is None
    )


def _person_row(session: Session, person_id: str) -> PersonRow:
    row = session.get(PersonRow, person_id)
    if row is None:
        raise NotFound(f"No person with id {person_id!r}")
    return row


# ---------------------------------------------------------------- writes


def _lock_ticket(session: Session, key: str) -> TicketRow:
    """Take the ticket's write lock (a no-op UPDATE), then read it."""
    locked = session.exec(
        update(TicketRow).where(col(TicketRow.key) == key).values(version=TicketRow.version)
    )
    if locked.rowcount == 0:
        raise NotFound(f"No ticket {key}")
    row = session.get(TicketRow, key)
    assert row is not None
    return row


def _record(
    session: Session, row: TicketRow, *, at: datetime, author_id: str | None, field: str, old: Any, new: Any
) -> None:
    session.add(
        TicketChangeRow(
            ticket_key=row.key,
            at=at,
            author_id=author_id,
            field_name=field,
            from_value=None if old is None else str(old),
            to_value=None if new is None else str(new),
        )
    )


def _touch(session: Session, row: TicketRow, at: datetime) -> None:
    row.updated_at = at
    row.version += 1
    session.add(row)


def create_in(
    session: Session,
    new: NewTicket,
    *,
    reporter_id: str | None,
    via: str,
    at: datetime,
    custom: dict[str, Any] | None = None,
) -> str:
    """Create a ticket numbered from its project's counter; returns the new key."""
    at = utc(at)
    project = norm_key(new.project)
    summary, description = _summary(new.summary), _long_text(new.description, "description")
    priority, issue_type, labels = (
        priority_name(new.priority),
        _issue_type(new.issue_type),
        _labels(new.labels),
    )
    for person_id in (new.assignee_id, reporter_id):
        if person_id is not None:
            _person_row(session, person_id)
    bumped = session.exec(
        update(ProjectRow)
        .where(col(ProjectRow.key) == project)
        .values(next_number=ProjectRow.next_number + 1)
    )
    if bumped.rowcount == 0:
        raise NotFound(f"No project {project}")
    number = session.exec(select(ProjectRow.next_number).where(col(ProjectRow.key) == project)).one() - 1
    row = TicketRow(
        key=f"{project}-{number}",
        project_key=project,
        number=number,
        summary=summary,
        description=description,
        status=workflow.INITIAL_STATUS,
        priority=priority,
        issue_type=issue_type,
        labels=labels,
        assignee_id=new.assignee_id,
        reporter_id=reporter_id,
        custom=custom or None,
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    _record(session, row, at=at, author_id=reporter_id, field="created", old=None, new=via)
    return row.key


def update_in(
    session: Session, key: str, changes: TicketChanges, *, author_id: str | None, at: datetime
) -> None:
    """Apply the fields set in `changes`; one history row per field that really changed."""
    at = utc(at)
    wanted: dict[str, Any] = {}
    if changes.summary is not None:
        wanted["summary"] = _summary(changes.summary)
    if changes.description is not None:
        wanted["description"] = _long_text(changes.description, "description")
    if changes.priority is not None:
        wanted["priority"] = priority_name(changes.priority)
    if changes.labels is not None:
        wanted["labels"] = _labels(changes.labels)
    row = _lock_ticket(session, norm_key(key))
    changed = False
    for field, value in wanted.items():
        old = getattr(row, field)
        if field == "labels":
            old = list(old or [])
        if old == value:
            continue
        setattr(row, field, value)
        shown = (lambda v: ", ".join(v)) if field == "labels" else (lambda v: v)
        _record(session, row, at=at, author_id=author_id, field=field, old=shown(old), new=shown(value))
        changed = True
    if changed:
        _touch(session, row, at)


def transition_in(session: Session, key: str, to_status: str, *, author_id: str | None, at: datetime) -> None:
    """Move a ticket along the workflow; an unreachable status is a Conflict naming the reachable ones."""
    row = _lock_ticket(session, norm_key(key))
    reachable = workflow.reachable_from(row.status)
    target = workflow.canonical(to_status, reachable) or next(
        (s for s in reachable if workflow.transition_id(s) == to_status.strip().lower()), None
    )
    if target is None:
        if workflow.status_named(to_status) == row.status:
            return  # already there: a no-op, as on Jira (a repeated write must not fail or change anything)
        raise Conflict(f"{row.key} is {row.status}; it can move to: {', '.join(reachable)}")
    _record(session, row, at=utc(at), author_id=author_id, field="status", old=row.status, new=target)
    row.status = target
    _touch(session, row, utc(at))


def assign_in(
    session: Session, key: str, assignee_id: str | None, *, author_id: str | None, at: datetime
) -> None:
    """Assign to a person id, or unassign with None."""
    new = None if assignee_id is None else _person_row(session, assignee_id)
    row = _lock_ticket(session, norm_key(key))
    if row.assignee_id == assignee_id:
        return
    old = None if row.assignee_id is None else session.get(PersonRow, row.assignee_id)
    _record(
        session,
        row,
        at=utc(at),
        author_id=author_id,
        field="assignee",
        old=old.name if old else None,
        new=new.name if new else None,
    )
    row.assignee_id = assignee_id
    _touch(session, row, utc(at))


def comment_in(
    session: Session, key: str, body: str, *, author_id: str | None, via: str, at: datetime
) -> CommentRow:
    """Add a comment (it also bumps the ticket's updated time, as Jira does)."""
    _long_text(body, "comment", required=True)
    if author_id is not None:
        _person_row(session, author_id)
    else:
        body = f"{body}\n\n_{via}_"  # no person to attribute it to: keep the attribution in the text
    row = _lock_ticket(session, norm_key(key))
    comment = CommentRow(ticket_key=row.key, author_id=author_id, body=body, created_at=utc(at))
    session.add(comment)
    _touch(session, row, utc(at))
    session.flush()
    return comment
