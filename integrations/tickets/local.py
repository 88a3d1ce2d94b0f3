"""The local ticket store (backend "local"): projects, people, tickets, comments, history in the app database.

All SQL for tickets lives beside it: reads in local_reads.py, writes in local_writes.py, the tables in
local_schema.py. Those `*_in(session, ...)` functions work inside a caller-owned transaction (the demo seed builds
everything in one); `LocalTickets` wraps them as the async `TicketBackend`, one transaction per call in a worker
thread via the given `SessionRunner` (the bot's `Database`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, col, select

from integrations.tickets import workflow
from integrations.tickets.base import (
    Change,
    Comment,
    CommentPage,
    NewTicket,
    Person,
    Project,
    Ticket,
    TicketChanges,
    TicketPage,
    TicketQuery,
    Transition,
)
from integrations.tickets.local_reads import (
    as_person,
    comments_in,
    find_people_in,
    get_in,
    history_in,
    person_for_user_in,
    search_in,
    utc,
)
from integrations.tickets.local_schema import (
    PersonRow,
    ProjectRow,
    SessionRunner,
)
from integrations.tickets.local_writes import (
    add_person,
    add_project,
    assign_in,
    comment_in,
    create_in,
    store_is_empty,
    transition_in,
    update_in,
)

__all__ = [  # the session-level writes are re-exported: callers build test and demo data through this module
    "TICKET_PATH",
    "LocalTickets",
    "add_person",
    "add_project",
    "assign_in",
    "comment_in",
    "create_in",
    "store_is_empty",
    "ticket_url",
    "transition_in",
    "update_in",
]

TICKET_PATH = "/tickets/"
"""Where a local ticket's page lives on the bot's own HTTP server (`<public url>/tickets/KEY`)."""


def ticket_url(public_url: str, key: str) -> str:
    """The link to a local ticket on the bot's own HTTP server at `public_url`."""
    return f"{public_url.rstrip('/')}{TICKET_PATH}{key}"


class LocalTickets:
    """`TicketBackend` on the application database. With `public_url` (the bot's own HTTP server, as people reach
    it) every ticket it returns carries its link there, so answers can link it and Slack can unfurl it."""

    name = "local"

    def __init__(self, db: SessionRunner, *, clock: Callable[[], datetime], public_url: str | None = None) -> None:
        self.db = db
        self.clock = clock
        self.public_url = public_url or None

    def _linked(self, ticket: Ticket) -> Ticket:
        if self.public_url is None:
            return ticket
        return ticket.model_copy(update={"url": ticket_url(self.public_url, ticket.key)})

    async def list_projects(self) -> list[Project]:
        """Every project, by key."""

        def run(s: Session) -> list[Project]:
            rows = s.exec(select(ProjectRow).order_by(col(ProjectRow.key)))
            return [Project(key=r.key, name=r.name, private=r.private) for r in rows]

        return await self.db.run(run)

    async def get_ticket(self, key: str) -> Ticket:
        """One ticket, or NotFound."""
        return self._linked(await self.db.run(lambda s: get_in(s, key)))

    async def search_tickets(self, query: TicketQuery, *, page_token: str | None = None) -> TicketPage:
        """A page of tickets matching every filter of `query`."""
        page = await self.db.run(lambda s: search_in(s, query, page_token))
        if self.public_url is None:
            return page
        return page.model_copy(update={"tickets": tuple(self._linked(t) for t in page.tickets)})

    async def create_ticket(self, new: NewTicket, *, reporter: Person | None, via: str) -> Ticket:
        """Create a ticket in To Do; `via` goes into its history."""
        at, reporter_id = self.clock(), reporter.id if reporter else None
        return self._linked(
            await self.db.run(lambda s: get_in(s, create_in(s, new, reporter_id=reporter_id, via=via, at=at)))
        )

    async def update_ticket(self, key: str, changes: TicketChanges, *, actor: Person | None) -> Ticket:
        """Change summary, description, priority or labels."""
        at, author = self.clock(), _id(actor)
        return await self._write(key, lambda s: update_in(s, key, changes, author_id=author, at=at))

    async def list_transitions(self, key: str) -> list[Transition]:
        """The workflow moves available from the ticket's status."""
        ticket = await self.get_ticket(key)
        reachable = workflow.reachable_from(ticket.status)
        return [Transition(id=workflow.transition_id(s), name=s, to_status=s) for s in reachable]

    async def transition_ticket(self, key: str, to_status: str, *, actor: Person | None) -> Ticket:
        """Move the ticket to `to_status` (a status name or transition id)."""
        at, author = self.clock(), _id(actor)
        return await self._write(key, lambda s: transition_in(s, key, to_status, author_id=author, at=at))

    async def assign_ticket(self, key: str, assignee_id: str | None, *, actor: Person | None) -> Ticket:
        """Assign to a person id, or unassign with None."""
        at, author = self.clock(), _id(actor)
        return await self._write(key, lambda s: assign_in(s, key, assignee_id, author_id=author, at=at))

    async def list_comments(
        self, key: str, *, limit: int = 20, page_token: str | None = None, newest_first: bool = False
    ) -> CommentPage:
        """A page of the ticket's comments."""
        return await self.db.run(
            lambda s: comments_in(s, key, limit=limit, page_token=page_token, newest_first=newest_first)
        )

    async def add_comment(self, key: str, body: str, *, author: Person | None, via: str) -> Comment:
        """Add a comment by `author`."""
        at, author_id = self.clock(), _id(author)

        def run(s: Session) -> Comment:
            row = comment_in(s, key, body, author_id=author_id, via=via, at=at)
            person = as_person(s.get(PersonRow, author_id)) if author_id else None
            return Comment(
                id=str(row.id), ticket_key=row.ticket_key, author=person, body=row.body, created=utc(at)
            )

        return await self.db.run(run)

    async def history(self, key: str, *, limit: int = 50) -> list[Change]:
        """The ticket's newest field changes, oldest first."""
        return await self.db.run(lambda s: history_in(s, key, limit=limit))

    async def find_people(self, query: str, *, limit: int = 5) -> list[Person]:
        """People by partial name or email, any case."""
        return await self.db.run(lambda s: find_people_in(s, query, limit=limit))

    async def person_for_user(self, *, slack_user_id: str, email: str | None) -> Person | None:
        """The person for a Slack user: by linked Slack id, then by email."""
        return await self.db.run(lambda s: person_for_user_in(s, slack_user_id=slack_user_id, email=email))

    async def aclose(self) -> None:
        """Nothing to close: the database belongs to Deps."""

    async def _write(self, key: str, write: Callable[[Session], None]) -> Ticket:
        def run(s: Session) -> Ticket:
            write(s)
            return get_in(s, key)

        return self._linked(await self.db.run(run))


def _id(person: Person | None) -> str | None:
    return person.id if person else None
