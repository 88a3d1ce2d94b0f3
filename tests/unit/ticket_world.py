"""A small ticket world for tool tests, on any ticket backend: known people and projects, `Deps` wired around
the backend, and `call`, which runs a tool as the executor does (validate the arguments, then run it).

`World` hides how each backend is seeded: the local store through its own methods on a real database, the
fake Jira directly through its state (people, issues reported by anyone, comments by anyone), which the
`jira` package cannot do. Everything the tools then do goes through the real backend (for Jira, the real
`jira` package over HTTP)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlmodel import Session

from bot.deps import Deps
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.migrations import migrate_sync
from bot.tools.base import Actor, ToolContext
from bot.wiring import build_deps
from integrations.llm.base import LLM
from integrations.tickets.base import NewTicket, Person, TicketBackend
from integrations.tickets.local import LocalTickets, add_person, add_project
from tests.conftest import FixedClock
from tests.fakes.jira_harness import jira_backend
from tests.fakes.jira_server import JiraServer
from tests.fakes.jira_state import Deployment

MAYA = Actor(user_id="U0MAYA", team_id="T1", channel_id="C1", channel_type="public", name="Maya Chen",
             email="maya@example.com")  # fmt: skip
"""Maps to the person `maya` (locally linked by Slack id; on Jira by email)."""
PRIYA = Actor(user_id="U0PRIYA", team_id="T1", channel_id="C1", channel_type="public", name="Priya Nair",
              email="Priya@Example.com")  # fmt: skip
"""Not linked: found by email (any case)."""
STRANGER = Actor(user_id="U0WHO", team_id="T1", channel_id="C1", channel_type="public", name="Visitor",
                 email="visitor@elsewhere.example")  # fmt: skip
"""Maps to no person."""

PEOPLE = {
    "maya": ("Maya Chen", "maya@example.com", "U0MAYA"),
    "leo": ("Leo Park", "leo@example.com", None),
    "priya": ("Priya Nair", "priya@example.com", None),
    "sam.ortiz": ("Sam Ortiz", "sam.ortiz@example.com", None),
    "sam.lee": ("Sam Lee", "sam.lee@example.com", None),
}
"""handle -> (name, email, linked Slack user id). A handle is the local person id; Jira gives its own ids."""
PROJECTS = {"OPS": "Operations", "WEB": "Website", "SEC": "Security"}
"""SEC is the project tests hide with `visible` (private in the local store)."""

BackendKind = Literal["local", "jira"]


class Clock(Protocol):
    """What tests move: `clock()` is now, `advance(seconds)` moves it."""

    def __call__(self) -> datetime: ...

    def advance(self, seconds: float) -> None: ...


class Seeder(Protocol):
    """A backend's set-up powers beyond its own methods."""

    def add_person(self, handle: str, name: str, email: str | None, slack_user_id: str | None) -> str: ...

    async def ticket(self, new: NewTicket, *, reporter_id: str | None) -> str: ...

    async def comment(self, key: str, body: str, *, author_id: str) -> None: ...

    async def attribution(self, key: str) -> str | None: ...


@dataclass
class World:
    """Deps around one backend, the people and projects above, and the set-up powers tests need."""

    kind: BackendKind
    deps: Deps
    clock: Clock
    seeder: Seeder
    ids: dict[str, str] = field(default_factory=dict)
    """handle -> the backend's person id."""
    people: dict[str, tuple[str, str | None]] = field(
        default_factory=lambda: {handle: (name, email) for handle, (name, email, _) in PEOPLE.items()}
    )
    """handle -> (name, email) of everyone in this world."""

    @property
    def tickets(self) -> TicketBackend:
        """The backend under test."""
        return self.deps.tickets

    def id(self, handle: str) -> str:
        """The backend's id of the person with this handle."""
        return self.ids[handle]

    def reconfigure(self, *, llm: LLM | None = None, **settings: Any) -> None:
        """Run the tools from now on with these settings changed (and this model client, when given)."""
        changed = self.deps.settings.model_copy(update=settings)
        self.deps = replace(self.deps, settings=changed, llm=llm if llm is not None else self.deps.llm)

    def person(self, handle: str) -> Person:
        """The person with this handle as the backend reports them."""
        name, email = self.people[handle]
        return Person(id=self.ids[handle], name=name, email=email)

    def add_person(self, handle: str, name: str, email: str | None = None) -> None:
        """Make one more person exist (linked to no Slack user)."""
        self.people[handle] = (name, email)
        self.ids[handle] = self.seeder.add_person(handle, name, email, None)

    def context(self, actor: Actor = MAYA, *, visible: Iterable[str] | None = None) -> ToolContext:
        """The context the loop would build for `actor` (visible projects as the policy would give them)."""
        return context(self.deps, actor, visible=None if visible is None else frozenset(visible))

    async def ticket(
        self,
        summary: str = "Rotate the TLS certificates",
        *,
        project: str = "OPS",
        assignee: str | None = None,
        reporter: str = "leo",
        description: str = "",
        priority: str | None = None,
        labels: tuple[str, ...] = (),
        issue_type: str = "Task",
    ) -> str:
        """Make a ticket in To Do, reported by `reporter`, assigned to `assignee` (handles); returns its key."""
        new = NewTicket(
            project=project,
            summary=summary,
            description=description,
            issue_type=issue_type,
            priority=priority,
            labels=labels,
            assignee_id=self.ids[assignee] if assignee else None,
        )
        return await self.seeder.ticket(new, reporter_id=self.ids[reporter])

    async def comment(self, key: str, body: str, *, by: str = "leo") -> None:
        """Add a comment written by `by` (a handle) at the clock's time."""
        await self.seeder.comment(key, body, author_id=self.ids[by])

    async def attribution(self, key: str) -> str | None:
        """Where the backend records who asked for a ticket made through the bot (history or description)."""
        return await self.seeder.attribution(key)


def context(deps: Deps, actor: Actor = MAYA, *, visible: frozenset[str] | None = None) -> ToolContext:
    """The context the loop would build for `actor` (visible projects as the policy would give them)."""
    return ToolContext(
        actor=actor, deps=deps, conversation_id="conv-1", thread_ts="1.0", visible_projects=visible
    )


async def call(ctx: ToolContext, name: str, **arguments: Any) -> Any:
    """Run tool `name` as the executor does: validate `arguments` with its model, then call it."""
    [tool] = [t for t in ctx.deps.tools if t.name == name]
    return await tool.func(ctx, tool.args_model.model_validate(arguments))


async def _deps(db: Database, settings: Settings, tickets: TicketBackend, clock: Clock, llm: LLM | None) -> Deps:
    """The process's wiring around this backend and database (no Slack client: tools run as in the terminal)."""
    return await build_deps(settings, db=db, tickets=tickets, llm=llm, clock=clock, slack=None)


# ---------------------------------------------------------------- the local store


class LocalSeeder:
    """Seeds the local store: people and projects by SQL, tickets and comments through the backend."""

    def __init__(self, db: Database, backend: LocalTickets) -> None:
        self.db, self.backend = db, backend

    def add_person(self, handle: str, name: str, email: str | None, slack_user_id: str | None) -> str:
        self.db.run_sync(
            lambda s: add_person(s, id=handle, name=name, email=email, slack_user_id=slack_user_id)
        )
        return handle

    async def ticket(self, new: NewTicket, *, reporter_id: str | None) -> str:
        reporter = Person(id=reporter_id, name=reporter_id) if reporter_id else None
        return (await self.backend.create_ticket(new, reporter=reporter, via="via test")).key

    async def comment(self, key: str, body: str, *, author_id: str) -> None:
        await self.backend.add_comment(key, body, author=Person(id=author_id, name=author_id), via="via test")

    async def attribution(self, key: str) -> str | None:
        created = [c for c in await self.backend.history(key) if c.field == "created"]
        return created[0].to_value if created else None


async def build_world(db: Database, clock: FixedClock, settings: Settings, *, llm: LLM | None = None) -> World:
    """Migrate, add the PROJECTS (SEC private) and the PEOPLE, and wire Deps around the local store."""
    migrate_sync(db.engine)

    def setup(s: Session) -> None:
        for key, name in PROJECTS.items():
            add_project(s, key=key, name=name, private=key == "SEC", at=clock())

    db.run_sync(setup)
    backend = LocalTickets(db, clock=clock)
    seeder = LocalSeeder(db, backend)
    ids = {handle: seeder.add_person(handle, *person) for handle, person in PEOPLE.items()}
    return World("local", await _deps(db, settings, backend, clock, llm), clock, seeder, ids)


# ---------------------------------------------------------------- Jira


class JiraClock:
    """The fake Jira's clock, so the tools' `now` and Jira's timestamps are one and the same."""

    def __init__(self, server: JiraServer) -> None:
        self.server = server

    def __call__(self) -> datetime:
        return self.server.now()

    def advance(self, seconds: float) -> None:
        """Move the fake's clock."""
        self.server.advance(seconds)


class JiraSeeder:
    """Seeds the fake Jira's state directly (no request): users, issues by any reporter, comments by anyone."""

    def __init__(self, server: JiraServer) -> None:
        self.server = server
        self._account: dict[str, str] = {}
        """The backend's person id (accountId on Cloud, username on Data Center) -> accountId."""

    def add_person(self, handle: str, name: str, email: str | None, slack_user_id: str | None) -> str:
        # Jira knows nothing of Slack: "me" is found by the Slack user's email.
        raw = self.server.add_user(name, email)
        ident = str(raw.get("accountId") or raw["name"])
        user = self.server.state.user_by_ident(ident)
        assert user is not None
        self._account[ident] = str(user["accountId"])
        return ident

    async def ticket(self, new: NewTicket, *, reporter_id: str | None) -> str:
        return self.server.add_issue(
            new.project,
            new.summary,
            description=new.description or None,
            issuetype=new.issue_type,
            priority=new.priority,
            labels=list(new.labels),
            assignee=self._account[new.assignee_id] if new.assignee_id else None,
            reporter=self._account[reporter_id] if reporter_id else None,
        )

    async def comment(self, key: str, body: str, *, author_id: str) -> None:
        self.server.seed_comment(key, body, author=self._account[author_id])

    async def attribution(self, key: str) -> str | None:
        # create_ticket appends an italic paragraph to the description (wiki markup on v2).
        description = self.server.state.issues[key]["description"] or ""
        last = description.rsplit("\n\n", 1)[-1].strip()
        return last.strip("_") if last.startswith("_") and last.endswith("_") else None


async def build_jira_world(
    server: JiraServer,
    db: Database,
    settings: Settings,
    *,
    deployment: Deployment = "Cloud",
    llm: LLM | None = None,
) -> World:
    """Reset the fake Jira to the PROJECTS and PEOPLE, and wire Deps around a `JiraTickets` pointed at it (the
    caller closes `world.tickets.client`)."""
    migrate_sync(db.engine)  # the app database still holds conversations, audit and the summary cache
    server.reset(deployment=deployment, projects=PROJECTS)
    clock = JiraClock(server)
    seeder = JiraSeeder(server)
    ids = {handle: seeder.add_person(handle, *person) for handle, person in PEOPLE.items()}
    backend = jira_backend(server)
    return World("jira", await _deps(db, settings, backend, clock, llm), clock, seeder, ids)
