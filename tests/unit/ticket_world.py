"""A small ticket world for tool tests: the real local store on a real database, known people and projects,
and `call`, which runs a tool as the executor does (validate the arguments with its model, then run it)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.deps import Deps
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.migrations import migrate_sync
from bot.storage.store import Store
from bot.tools.base import Actor, ToolContext
from bot.tools.registry import all_tools
from integrations.llm.base import LLM
from integrations.tickets.base import NewTicket, Person
from integrations.tickets.local import LocalTickets, add_person, add_project
from tests.conftest import FixedClock

MAYA = Actor(user_id="U0MAYA", team_id="T1", channel_id="C1", channel_type="public", name="Maya Chen",
             email="maya@example.com")  # fmt: skip
"""Linked to the person `maya` by Slack id."""
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


def build_world(db: Database, clock: FixedClock, settings: Settings, *, llm: LLM | None = None) -> Deps:
    """Migrate, add projects OPS, WEB and private SEC and the PEOPLE, and wire Deps around the local store."""
    migrate_sync(db.engine)

    def setup(s: Session) -> None:
        for key, name, private in (
            ("OPS", "Operations", False),
            ("WEB", "Website", False),
            ("SEC", "Security", True),
        ):
            add_project(s, key=key, name=name, private=private, at=clock())
        for handle, (name, email, slack_id) in PEOPLE.items():
            add_person(s, id=handle, name=name, email=email, slack_user_id=slack_id)

    db.run_sync(setup)
    return Deps(
        settings=settings,
        db=db,
        store=Store(db, clock=clock),
        tickets=LocalTickets(db, clock=clock),
        llm=llm,
        tools=all_tools(),
        clock=clock,
    )


def context(deps: Deps, actor: Actor = MAYA, *, visible: frozenset[str] | None = None) -> ToolContext:
    """The context the loop would build for `actor` (visible projects as the policy would give them)."""
    return ToolContext(
        actor=actor, deps=deps, conversation_id="conv-1", thread_ts="1.0", visible_projects=visible
    )


async def call(ctx: ToolContext, name: str, **arguments: Any) -> Any:
    """Run tool `name` as the executor does: validate `arguments` with its model, then call it."""
    [tool] = [t for t in ctx.deps.tools if t.name == name]
    return await tool.func(ctx, tool.args_model.model_validate(arguments))


async def ticket(deps: Deps, summary: str = "Rotate the TLS certificates", **fields: Any) -> str:
    """Create a ticket directly in the store (OPS unless `project` is given); returns its key."""
    fields.setdefault("project", "OPS")
    reporter = Person(id="leo", name="Leo Park")
    created = await deps.tickets.create_ticket(
        NewTicket(summary=summary, **fields), reporter=reporter, via="via test"
    )
    return created.key
