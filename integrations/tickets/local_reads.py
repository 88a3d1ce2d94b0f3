"""Reads of the local ticket store: tickets, search with keyset pagination, comments, history, people.

Session-level functions used by `LocalTickets` (integrations/tickets/local.py); every one runs inside the
caller's transaction. Page tokens are opaque base64 JSON tied to the query they continue.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, and_, case, cast, false, func, or_
from sqlmodel import Session, col, select

from integrations.errors import InvalidArguments, NotFound
from integrations.tickets import workflow
from integrations.tickets.base import (
    Change,
    Comment,
    CommentPage,
    Person,
    Priority,
    Ticket,
    TicketPage,
    TicketQuery,
)
from integrations.tickets.local_schema import CommentRow, PersonRow, TicketChangeRow, TicketRow


def utc(value: datetime) -> datetime:
    """`value` as aware UTC (SQLite hands back naive datetimes; they are stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def norm_key(key: str) -> str:
    """A ticket or project key as stored: trimmed, upper case."""
    return key.strip().upper()


def priority_name(value: str | None) -> str | None:
    """The `Priority` called `value` (any case), None for None, else InvalidArguments."""
    if value is None:
        return None
    found = workflow.canonical(value, [p.value for p in Priority])
    if found is None:
        raise InvalidArguments(f"priority {value!r} is not one of: {', '.join(p.value for p in Priority)}")
    return found


def as_person(row: PersonRow | None) -> Person | None:
    """A person row as the backend model."""
    return None if row is None else Person(id=row.id, name=row.name, email=row.email)


def people_by_id(session: Session, ids: set[str]) -> dict[str, Person]:
    if not ids:
        return {}
    rows = session.exec(select(PersonRow).where(col(PersonRow.id).in_(sorted(ids))))
    return {row.id: Person(id=row.id, name=row.name, email=row.email) for row in rows}


def to_tickets(session: Session, rows: Sequence[TicketRow]) -> list[Ticket]:
    if not rows:
        return []
    people = people_by_id(session, {i for r in rows for i in (r.assignee_id, r.reporter_id) if i})
    counted = session.exec(
        select(CommentRow.ticket_key, func.count())
        .where(col(CommentRow.ticket_key).in_([r.key for r in rows]))
        .group_by(col(CommentRow.ticket_key))
    )
    counts = {key: n for key, n in counted}
    return [
        Ticket(
            key=r.key,
            project=r.project_key,
            summary=r.summary,
            description=r.description,
            status=r.status,
            status_category=workflow.STATUS_CATEGORIES.get(r.status, "todo"),
            priority=r.priority,
            issue_type=r.issue_type,
            assignee=people.get(r.assignee_id) if r.assignee_id else None,
            reporter=people.get(r.reporter_id) if r.reporter_id else None,
            labels=tuple(r.labels or ()),
            created=utc(r.created_at),
            updated=utc(r.updated_at),
            comment_count=counts.get(r.key, 0),
            custom=dict(r.custom or {}),
        )
        for r in rows
    ]


def get_in(session: Session, key: str) -> Ticket:
    """One ticket, or NotFound."""
    row = session.get(TicketRow, norm_key(key))
    if row is None:
        raise NotFound(f"No ticket {norm_key(key)}")
    return to_tickets(session, [row])[0]


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _contains(session: Session) -> Callable[[Any, str], Any]:
    """`column contains needle`, ignoring case, wildcards in the needle taken literally.

    SQLite's lower() folds only ASCII, so on SQLite the connection gets a Unicode-aware one.
    """
    lower: Any = func.lower
    if session.get_bind().dialect.name == "sqlite":
        dbapi = session.connection().connection.dbapi_connection
        assert dbapi is not None
        dbapi.create_function("unicode_lower", 1, _lower, deterministic=True)
        lower = func.unicode_lower
    return lambda column, needle: lower(column).contains(needle.lower(), autoescape=True)


def _filters(session: Session, query: TicketQuery) -> list[Any]:
    t = TicketRow
    contains = _contains(session)
    where: list[Any] = []
    if query.projects:
        where.append(col(t.project_key).in_([norm_key(p) for p in query.projects]))
    if query.statuses:
        where.append(func.lower(col(t.status)).in_([s.strip().lower() for s in query.statuses]))
    if query.status_categories:
        where.append(col(t.status).in_(workflow.statuses_in(query.status_categories)))
    if query.assignee_ids or query.unassigned:
        who = [col(t.assignee_id).in_(query.assignee_ids)] if query.assignee_ids else []
        where.append(or_(*who, col(t.assignee_id).is_(None) if query.unassigned else false()))
    if query.reporter_ids:
        where.append(col(t.reporter_id).in_(query.reporter_ids))
    if query.priorities:
        where.append(col(t.priority).in_([priority_name(p) for p in query.priorities]))
    if query.labels:
        # Labels are a JSON list; each element appears in its serialised text as a quoted JSON string.
        where.append(
            or_(
                *(cast(t.labels, Text).contains(json.dumps(label), autoescape=True) for label in query.labels)
            )
        )
    # Every word of the text must appear (in any order) in the summary, description or a comment, as on Jira.
    for word in (query.text or "").split():
        in_comments = (
            select(CommentRow.id)
            .where(col(CommentRow.ticket_key) == t.key, contains(CommentRow.body, word))
            .exists()
        )
        where.append(or_(contains(t.summary, word), contains(t.description, word), in_comments))
    for column, after, before in (
        (t.created_at, query.created_after, query.created_before),
        (t.updated_at, query.updated_after, query.updated_before),
    ):
        if after is not None:
            where.append(col(column) >= utc(after))
        if before is not None:
            where.append(col(column) < utc(before))
    return where


def _sort_columns(query: TicketQuery) -> list[Any]:
    t = TicketRow
    head: list[Any] = []
    if query.order_by == "updated":
        head = [col(t.updated_at)]
    elif query.order_by == "created":
        head = [col(t.created_at)]
    elif query.order_by == "priority":
        head = [case(workflow.PRIORITY_RANK, value=col(t.priority), else_=0)]
    return [*head, col(t.project_key), col(t.number)]


def _sort_values(query: TicketQuery, row: TicketRow) -> list[Any]:
    """The JSON-able position of `row` in the order of `_sort_columns`."""
    head: list[Any] = []
    if query.order_by == "updated":
        head = [utc(row.updated_at).isoformat()]
    elif query.order_by == "created":
        head = [utc(row.created_at).isoformat()]
    elif query.order_by == "priority":
        head = [workflow.PRIORITY_RANK.get(row.priority or "", 0)]
    return [*head, row.project_key, row.number]


def _restore_position(query: TicketQuery, after: Any) -> list[Any]:
    """The `_sort_values` stored in a token, type-checked (a tampered token must not reach the SQL)."""
    bad = InvalidArguments("page_token is not valid: pass the next_page_token of the previous page unchanged")
    width = 2 if query.order_by == "key" else 3
    if not isinstance(after, list) or len(after) != width:
        raise bad
    *head, project, number = after
    if not isinstance(project, str) or not isinstance(number, int):
        raise bad
    if query.order_by in ("updated", "created"):
        try:
            head = [utc(datetime.fromisoformat(head[0]))]
        except (TypeError, ValueError):
            raise bad from None
    elif query.order_by == "priority" and not isinstance(head[0], int):
        raise bad
    return [*head, project, number]


def _fingerprint(query: TicketQuery) -> str:
    return hashlib.sha256(query.model_dump_json(exclude={"limit"}).encode()).hexdigest()[:16]


def encode_token(payload: dict[str, Any]) -> str:
    """An opaque page token."""
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str, *, kind: str) -> dict[str, Any]:
    """The payload of a page token made by `encode_token` for `kind`, or InvalidArguments."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        payload = None
    if not isinstance(payload, dict) or payload.get("k") != kind:
        raise InvalidArguments(
            "page_token is not valid: pass the next_page_token of the previous page unchanged"
        )
    return payload


def search_in(session: Session, query: TicketQuery, page_token: str | None) -> TicketPage:
    """Filtered, ordered tickets; keyset pagination so pages never repeat or skip rows."""
    columns = _sort_columns(query)
    direction: Callable[[Any], Any] = (lambda c: c.desc()) if query.descending else (lambda c: c.asc())
    stmt = select(TicketRow).where(*_filters(session, query))
    if page_token:
        payload = decode_token(page_token, kind="search")
        if payload.get("q") != _fingerprint(query):
            raise InvalidArguments("page_token belongs to a different search: repeat the search without it")
        after = _restore_position(query, payload.get("after"))
        stmt = stmt.where(_after(columns, after, descending=query.descending))
    stmt = stmt.order_by(*(direction(c) for c in columns)).limit(query.limit + 1)
    rows = list(session.exec(stmt))
    more, rows = len(rows) > query.limit, rows[: query.limit]
    token = None
    if more:
        after = _sort_values(query, rows[-1])
        token = encode_token({"k": "search", "q": _fingerprint(query), "after": after})
    return TicketPage(tickets=tuple(to_tickets(session, rows)), next_page_token=token)


def _after(columns: list[Any], values: list[Any], *, descending: bool) -> Any:
    """Rows strictly after `values` in the (lexicographic) sort order of `columns`."""
    beyond = (lambda c, v: c < v) if descending else (lambda c, v: c > v)
    clauses = []
    for i, (column, value) in enumerate(zip(columns, values, strict=True)):
        equal_before = [c == v for c, v in zip(columns[:i], values[:i], strict=True)]
        clauses.append(and_(*equal_before, beyond(column, value)))
    return or_(*clauses)


def comments_in(
    session: Session, key: str, *, limit: int, page_token: str | None, newest_first: bool
) -> CommentPage:
    """A page of comments, oldest first unless `newest_first`, with the total count."""
    ticket = session.get(TicketRow, norm_key(key))
    if ticket is None:
        raise NotFound(f"No ticket {norm_key(key)}")
    if not 1 <= limit <= 100:
        raise InvalidArguments(f"limit must be between 1 and 100, got {limit}")
    stmt = select(CommentRow).where(col(CommentRow.ticket_key) == ticket.key)
    if page_token:
        payload = decode_token(page_token, kind="comments")
        if (
            payload.get("t") != ticket.key
            or payload.get("n") != newest_first
            or not isinstance(payload.get("id"), int)
        ):
            raise InvalidArguments("page_token belongs to a different listing: list again without it")
        stmt = stmt.where(
            col(CommentRow.id) < payload["id"] if newest_first else col(CommentRow.id) > payload["id"]
        )
    order = col(CommentRow.id).desc() if newest_first else col(CommentRow.id).asc()
    rows = list(session.exec(stmt.order_by(order).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    total = session.exec(select(func.count()).where(col(CommentRow.ticket_key) == ticket.key)).one()
    people = people_by_id(session, {r.author_id for r in rows if r.author_id})
    comments = tuple(
        Comment(
            id=str(r.id),
            ticket_key=r.ticket_key,
            author=people.get(r.author_id) if r.author_id else None,
            body=r.body,
            created=utc(r.created_at),
        )
        for r in rows
    )
    token = (
        encode_token({"k": "comments", "t": ticket.key, "n": newest_first, "id": rows[-1].id})
        if more
        else None
    )
    return CommentPage(comments=comments, total=total, next_page_token=token)


def history_in(session: Session, key: str, *, limit: int) -> list[Change]:
    """The newest `limit` field changes, oldest first."""
    if session.get(TicketRow, norm_key(key)) is None:
        raise NotFound(f"No ticket {norm_key(key)}")
    stmt = (
        select(TicketChangeRow)
        .where(col(TicketChangeRow.ticket_key) == norm_key(key))
        .order_by(col(TicketChangeRow.id).desc())
        .limit(max(1, limit))
    )
    rows = list(session.exec(stmt))[::-1]
    people = people_by_id(session, {r.author_id for r in rows if r.author_id})
    return [
        Change(
            at=utc(r.at),
            author=people.get(r.author_id) if r.author_id else None,
            field=r.field_name,
            from_value=r.from_value,
            to_value=r.to_value,
        )
        for r in rows
    ]


def find_people_in(session: Session, query: str, *, limit: int) -> list[Person]:
    """People whose name or email contains `query` (any case), or whose id is exactly `query`."""
    needle = query.strip()
    if not needle:
        raise InvalidArguments("a name or email to look for is required")
    contains = _contains(session)
    stmt = (
        select(PersonRow)
        .where(
            or_(
                contains(PersonRow.name, needle),
                contains(PersonRow.email, needle),
                col(PersonRow.id) == needle,
            )
        )
        .order_by(col(PersonRow.name), col(PersonRow.id))
        .limit(max(1, min(limit, 50)))
    )
    return [Person(id=r.id, name=r.name, email=r.email) for r in session.exec(stmt)]


def person_for_user_in(session: Session, *, slack_user_id: str, email: str | None) -> Person | None:
    """The person linked to a Slack user id, else the one with that email (any case), else None."""
    row = session.exec(select(PersonRow).where(col(PersonRow.slack_user_id) == slack_user_id)).first()
    if row is None and email:
        stmt = select(PersonRow).where(func.lower(col(PersonRow.email)) == email.strip().lower())
        row = session.exec(stmt.order_by(col(PersonRow.id))).first()
    return as_person(row)
