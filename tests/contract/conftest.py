"""Fixtures of the ticket-backend contract suite: one `harness` per registered backend.

Every test in tests/contract/ runs once per entry of BACKENDS. To add a backend, append its name and define a
fixture named `<name>_harness` (dashes become underscores) that returns a `Harness` whose backend sees:
projects OPS ("Operations") and WEB ("Website"), both empty, and no people until `add_person` makes them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlmodel import Session

from bot.storage.db import Database
from bot.storage.migrations import migrate_sync
from integrations.tickets.base import NewTicket, Person, Ticket, TicketBackend
from integrations.tickets.local import LocalTickets, add_person, add_project
from tests.conftest import FixedClock
from tests.pg import postgres_schema_database

BACKENDS: list[object] = [
    "local",
    pytest.param(
        "local-postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL not set"),
        ],
    ),
    "jira",
]
"""Backends the contract suite runs against (one-line registration)."""


@dataclass
class Harness:
    """A backend under test plus the few set-up powers the suite needs beyond the backend's own methods."""

    backend: TicketBackend
    add_person: Callable[[str, str | None], Person]
    """Make a person with this display name and email exist; returns them as the backend reports them."""
    advance: Callable[[float], None]
    """Move the backend's clock forward by this many seconds (so timestamps differ and order is defined)."""
    now: Callable[[], datetime]
    """The backend's current time."""

    async def ticket(self, summary: str = "Rotate the TLS certificates", **fields: object) -> Ticket:
        """Create a ticket in OPS (unless `project` is given) with these fields."""
        fields.setdefault("project", "OPS")
        return await self.backend.create_ticket(
            NewTicket(summary=summary, **fields),  # type: ignore[arg-type]
            reporter=None,
            via="via Slack by the contract suite",
        )


@pytest.fixture(params=BACKENDS)
def harness(request: pytest.FixtureRequest) -> Harness:
    """The backend under test, ready for a contract test."""
    name = f"{request.param.replace('-', '_')}_harness"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def _local(db: Database, clock: FixedClock) -> Harness:
    migrate_sync(db.engine)

    def projects(session: Session) -> None:
        add_project(session, key="OPS", name="Operations", at=clock())
        add_project(session, key="WEB", name="Website", at=clock())

    db.run_sync(projects)
    made: list[Person] = []

    def person(name: str, email: str | None) -> Person:
        handle = f"{name.split()[0].lower()}-{len(made) + 1}"
        made.append(db.run_sync(lambda s: add_person(s, id=handle, name=name, email=email)))
        return made[-1]

    return Harness(backend=LocalTickets(db, clock=clock), add_person=person, advance=clock.advance, now=clock)


@pytest.fixture
def local_harness(sqlite_database: Database, clock: FixedClock) -> Harness:
    """The local store on a SQLite file."""
    return _local(sqlite_database, clock)


@pytest.fixture
def local_postgres_harness(clock: FixedClock) -> Iterator[Harness]:
    """The local store on PostgreSQL (its own schema)."""
    for db in postgres_schema_database(os.environ["TEST_DATABASE_URL"]):
        yield _local(db, clock)


@pytest.fixture
def jira_harness() -> Iterator[Harness]:
    """Jira through the real `jira` package over HTTP, against the stateful fake Jira (Cloud mode)."""
    from tests.fakes.jira_harness import contract_jira, person

    with contract_jira() as (server, backend):
        yield Harness(backend, lambda name, email: person(server, name, email), server.advance, server.now)
