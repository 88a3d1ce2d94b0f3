"""Fixtures of the contract suites, which run once per registered backend.

- The backend suite (test_backend_*.py) gets one `harness` per entry of BACKENDS. To add a backend, append its
  name and define a fixture named `<name>_harness` (dashes become underscores) that returns a `Harness` whose
  backend sees: projects OPS ("Operations") and WEB ("Website"), both empty, and no people until `add_person`
  makes them.
- The tool suite (test_tools_*.py) gets one `world` per entry of TOOL_BACKENDS: the tools, as the agent runs
  them, over a `World` (tests/unit/ticket_world.py) with its people and projects OPS, WEB and SEC. A test that
  holds for only some backends says so with `@backends("local", ...)`; a difference found between backends
  and not yet fixed is `@known_gap(reason, "local", ...)` (strict xfail on those).

Jira is the real `jira` package over HTTP against one fake Jira per test module, reset before each test (Cloud
or Data Center). SQLite databases are copies of one migrated file; PostgreSQL is one migrated schema per
session, emptied before each test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, text
from sqlmodel import Session

from bot.settings import Settings
from bot.storage.db import Database, make_engine
from bot.storage.migrations import migrate_sync
from integrations.tickets.base import NewTicket, Person, Ticket, TicketBackend
from integrations.tickets.jira import JiraTickets
from integrations.tickets.local import LocalTickets, add_person, add_project
from tests.conftest import FixedClock
from tests.fakes.jira_harness import jira_backend, person
from tests.fakes.jira_server import JiraServer
from tests.fakes.jira_state import Deployment
from tests.pg import postgres_schema_database
from tests.unit.ticket_world import World, build_jira_world, build_world

_POSTGRES = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL not set"),
]


def _param(name: str, *marks: pytest.MarkDecorator) -> object:
    """A backend name as a test parameter (the PostgreSQL one runs only when TEST_DATABASE_URL is set)."""
    return pytest.param(name, marks=[*(_POSTGRES if name.endswith("postgres") else []), *marks], id=name)


BACKENDS: list[object] = [_param(name) for name in ("local", "local-postgres", "jira")]
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


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once per session (per xdist worker)."""
    path = tmp_path_factory.mktemp("migrated") / "chatops.db"
    db = Database(make_engine(f"sqlite:///{path}"))
    migrate_sync(db.engine)
    db.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def migrated_database(migrated_sqlite: Path, tmp_path: Path) -> Iterator[Database]:
    """A real, migrated SQLite database of its own: a copy of the session's (2 ms instead of ~80 ms)."""
    path = tmp_path / "world.db"
    shutil.copyfile(migrated_sqlite, path)
    db = Database(make_engine(f"sqlite:///{path}"))
    yield db
    db.dispose()


@pytest.fixture
def local_harness(migrated_database: Database, clock: FixedClock) -> Harness:
    """The local store on a SQLite file."""
    return _local(migrated_database, clock)


@dataclass
class PostgresSchema:
    """A migrated PostgreSQL schema and its tables, children first (the order to empty them in)."""

    db: Database
    tables: list[Table]
    sequences: list[str]


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[PostgresSchema]:
    """A migrated PostgreSQL schema of this session (per xdist worker), dropped at the end."""
    for db in postgres_schema_database(os.environ["TEST_DATABASE_URL"]):
        migrate_sync(db.engine)
        found = MetaData()
        found.reflect(db.engine)
        with db.engine.connect() as conn:
            sequences = conn.execute(
                text(
                    "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()"
                )
            ).scalars()
            names = [str(name) for name in sequences]
        tables = [t for t in reversed(found.sorted_tables) if t.name != "schema_migrations"]
        yield PostgresSchema(db, tables, names)


@pytest.fixture
def emptied_postgres(postgres_schema: PostgresSchema) -> Database:
    """The session's PostgreSQL schema, emptied as if freshly migrated (5 ms instead of ~500 ms for a new one)."""
    with postgres_schema.db.engine.begin() as conn:
        for table in postgres_schema.tables:
            conn.execute(table.delete())
        for name in postgres_schema.sequences:
            conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
    return postgres_schema.db


@pytest.fixture
def local_postgres_harness(emptied_postgres: Database, clock: FixedClock) -> Harness:
    """The local store on PostgreSQL (its own schema)."""
    return _local(emptied_postgres, clock)


@pytest.fixture(scope="module")
def jira_server() -> Iterator[JiraServer]:
    """One fake Jira (Cloud, no seed data) per test module; each test resets it before use."""
    with JiraServer(seed=False, projects={}) as server:
        yield server


@pytest.fixture
def jira_harness(jira_server: JiraServer) -> Iterator[Harness]:
    """Jira through the real `jira` package over HTTP, against the stateful fake Jira (Cloud mode)."""
    jira_server.reset(deployment="Cloud", projects={"OPS": "Operations", "WEB": "Website"})
    backend = jira_backend(jira_server)
    try:
        yield Harness(
            backend,
            lambda name, email: person(jira_server, name, email),
            jira_server.advance,
            jira_server.now,
        )
    finally:
        backend.client.close()


# ---------------------------------------------------------------- the tool suite

TOOL_BACKEND_NAMES = ("local", "local-postgres", "jira", "jira-dc")
TOOL_BACKENDS: list[object] = [_param(name) for name in TOOL_BACKEND_NAMES]
"""Backends the tool suite runs against: the local store (SQLite; PostgreSQL when TEST_DATABASE_URL is set),
Jira Cloud and Jira Data Center."""


def backends(*names: str) -> pytest.MarkDecorator:
    """Run a tool test only on these backends (the behaviour it covers is specific to them)."""
    return pytest.mark.parametrize("world", [_param(name) for name in names], indirect=True)


def known_gap(reason: str, *names: str) -> pytest.MarkDecorator:
    """Run a tool test on every backend, expected to fail on `names` (strictly: a fix makes it fail until this
    mark goes). For a difference found between backends and left to the owner of the lagging one."""
    xfail = pytest.mark.xfail(reason=reason, strict=True)
    return pytest.mark.parametrize(
        "world",
        [_param(name, *([xfail] if name in names else [])) for name in TOOL_BACKEND_NAMES],
        indirect=True,
    )


@pytest.fixture(params=TOOL_BACKENDS)
def world(request: pytest.FixtureRequest) -> World:
    """The tools over one backend, with the world's people and projects."""
    return request.getfixturevalue(f"{request.param.replace('-', '_')}_world")  # type: ignore[no-any-return]


@pytest.fixture
async def local_world(migrated_database: Database, clock: FixedClock, settings: Settings) -> World:
    """The local store on a SQLite file."""
    return await build_world(migrated_database, clock, settings)


@pytest.fixture
async def local_postgres_world(emptied_postgres: Database, clock: FixedClock, settings: Settings) -> World:
    """The local store on PostgreSQL (its own schema)."""
    return await build_world(emptied_postgres, clock, settings)


async def _jira_world(
    server: JiraServer, db: Database, settings: Settings, deployment: Deployment
) -> AsyncIterator[World]:
    world = await build_jira_world(server, db, settings, deployment=deployment)
    try:
        yield world
    finally:
        assert isinstance(world.tickets, JiraTickets)
        world.tickets.client.close()


@pytest.fixture
async def jira_world(jira_server: JiraServer, migrated_database: Database, settings: Settings) -> AsyncIterator[World]:
    """Jira Cloud: accountIds, /search/jql with page tokens, Basic auth with an API token."""
    async for world in _jira_world(jira_server, migrated_database, settings, "Cloud"):
        yield world


@pytest.fixture
async def jira_dc_world(
    jira_server: JiraServer, migrated_database: Database, settings: Settings
) -> AsyncIterator[World]:
    """Jira Data Center: usernames, the classic /search with offsets, a bearer PAT."""
    async for world in _jira_world(jira_server, migrated_database, settings, "Server"):
        yield world
