"""PolicyAuthorizer over the real local ticket store: facts come from the ticket system and the Slack identity,
never from the model; the live policy applies on the next call."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.deps import Deps
from bot.errors import Unavailable
from bot.policy.authorizer import PolicyAuthorizer
from bot.policy.catalog import ProjectCatalog
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.migrations import migrate
from bot.storage.store import Store
from bot.tools.base import Actor, ChannelType, Effect, Tool, ToolArgs, ToolContext, tool
from bot.wiring import build_deps
from integrations.tickets.base import NewTicket, Project
from integrations.tickets.local import LocalTickets, add_project
from tests.conftest import FixedClock


class KeyArgs(ToolArgs):
    key: str


class CreateArgs(ToolArgs):
    project: str
    summary: str


class SearchArgs(ToolArgs):
    text: str = ""


async def _noop(ctx: object, args: object) -> None:
    """Does nothing (authorization is what is under test)."""


GET = tool(name="get_ticket", effect=Effect.READ, args=KeyArgs, ticket_key_fields=("key",))(_noop)
COMMENT = tool(name="add_comment", effect=Effect.WRITE, args=KeyArgs, ticket_key_fields=("key",))(_noop)
CREATE = tool(name="create_ticket", effect=Effect.WRITE, args=CreateArgs, project_fields=("project",))(_noop)
SEARCH = tool(name="search_tickets", effect=Effect.READ, args=SearchArgs)(_noop)
TOOLS: list[Tool] = [SEARCH, GET, CREATE, COMMENT]

ADMIN, MEMBER, VIEWER = "U0ADMIN", "U0MEMBER", "U0VIEWER"


@pytest.fixture
async def deps(database: Database, clock: FixedClock, tmp_path: Path) -> AsyncIterator[Deps]:
    await migrate(database)

    def projects(session: object) -> None:
        add_project(session, key="OPS", name="Operations", at=clock())  # type: ignore[arg-type]
        add_project(session, key="SEC", name="Security", at=clock(), private=True)  # type: ignore[arg-type]

    database.run_sync(projects)  # type: ignore[arg-type]
    tickets = LocalTickets(database, clock=clock)
    for project in ("OPS", "SEC"):
        await tickets.create_ticket(NewTicket(project=project, summary="Rotate keys"), reporter=None, via="test")
    settings = Settings(_env_file=None, database_url="sqlite://", chatops_admins=ADMIN, chatops_config_refresh_seconds=0)  # type: ignore[call-arg, arg-type]
    deps = await build_deps(settings, db=database, tickets=tickets, llm=None, tools=TOOLS, clock=clock, slack=None)
    await deps.store.apply_config(actor_id=ADMIN, expected_version=1, assignments={VIEWER: "viewer"})
    yield deps


def actor(user: str, channel_type: ChannelType = "im", channel_id: str = "D0DM") -> Actor:
    return Actor(user_id=user, team_id="T0TEAM", channel_id=channel_id, channel_type=channel_type)


async def authorize(deps: Deps, who: Actor, the_tool: Tool, **arguments: str) -> str:
    ctx = ToolContext(actor=who, deps=deps, conversation_id="conv")
    decision = await deps.authorizer.authorize(ctx, the_tool, the_tool.args_model.model_validate(arguments))
    return decision.outcome


async def test_tools_a_role_may_never_use_are_not_offered(deps: Deps) -> None:
    offered = {user: [t.name for t in await deps.authorizer.offered_tools(actor(user), TOOLS)] for user in (ADMIN, MEMBER, VIEWER)}
    assert offered == {
        ADMIN: ["search_tickets", "get_ticket", "create_ticket", "add_comment"],
        MEMBER: ["search_tickets", "get_ticket", "create_ticket", "add_comment"],
        VIEWER: ["search_tickets", "get_ticket"],
    }


ROLE_MATRIX = [
    (ADMIN, GET, "SEC-1", "allow"),
    (ADMIN, COMMENT, "SEC-1", "allow"),
    (MEMBER, GET, "OPS-1", "allow"),
    (MEMBER, COMMENT, "OPS-1", "confirm"),
    (MEMBER, GET, "SEC-1", "deny"),
    (MEMBER, COMMENT, "SEC-1", "deny"),
    (VIEWER, GET, "OPS-1", "allow"),
    (VIEWER, COMMENT, "OPS-1", "deny"),
]


async def test_each_role_against_reads_and_writes_on_public_and_private_tickets(deps: Deps) -> None:
    decided = [(u, t.name, k, await authorize(deps, actor(u), t, key=k)) for u, t, k, _ in ROLE_MATRIX]
    assert decided == [(u, t.name, k, expected) for u, t, k, expected in ROLE_MATRIX]


async def test_a_ticket_key_that_does_not_exist_is_denied_like_a_forbidden_one(deps: Deps) -> None:
    ctx = ToolContext(actor=actor(MEMBER), deps=deps, conversation_id="conv")
    missing = await deps.authorizer.authorize(ctx, GET, KeyArgs(key="SEC-99"))
    forbidden = await deps.authorizer.authorize(ctx, GET, KeyArgs(key="SEC-1"))
    assert (missing.outcome, missing.rule) == (forbidden.outcome, forbidden.rule) == ("deny", "ticket-scope")
    assert missing.reason.replace("99", "1") == forbidden.reason


async def test_a_project_argument_outside_the_role_is_denied(deps: Deps) -> None:
    assert await authorize(deps, actor(MEMBER), CREATE, project="SEC", summary="x") == "deny"
    assert await authorize(deps, actor(MEMBER), CREATE, project="OPS", summary="x") == "confirm"


async def test_a_public_channel_never_shows_a_private_project_even_to_an_admin(deps: Deps) -> None:
    in_public = actor(ADMIN, "public", "C0GENERAL")
    assert await authorize(deps, in_public, GET, key="SEC-1") == "deny"
    assert await authorize(deps, actor(ADMIN, "im"), GET, key="SEC-1") == "allow"
    assert await deps.authorizer.visible_projects(in_public) == {"OPS"}
    assert await deps.authorizer.visible_projects(actor(ADMIN, "im")) is None
    assert await deps.authorizer.visible_projects(actor(MEMBER, "im")) == {"OPS"}


async def test_an_assignment_saved_anywhere_applies_on_the_next_call_after_the_refresh_interval(
    deps: Deps, database: Database, clock: FixedClock
) -> None:
    assert deps.settings.chatops_config_refresh_seconds == 0  # this suite's deps check on every call
    assert await authorize(deps, actor(MEMBER), COMMENT, key="OPS-1") == "confirm"
    other_process = Store(Database(database.engine), clock=clock)
    version = await other_process.config_version()
    await other_process.apply_config(actor_id=ADMIN, expected_version=version, assignments={MEMBER: "viewer"})
    assert await authorize(deps, actor(MEMBER), COMMENT, key="OPS-1") == "deny"
    assert [t.name for t in await deps.authorizer.offered_tools(actor(MEMBER), TOOLS)] == ["search_tickets", "get_ticket"]


async def test_a_denial_is_logged_with_its_precise_cause(deps: Deps, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="chatops.policy"):
        await authorize(deps, actor(MEMBER, "public", "C0GENERAL"), GET, key="SEC-1")
    record = next(r for r in caplog.records if r.getMessage() == "call denied")
    assert record.fields["detail"] == "SEC-1→SEC"  # type: ignore[attr-defined]
    assert record.fields["rule"] == "ticket-scope"  # type: ignore[attr-defined]


class DownTickets(LocalTickets):
    """The local store, but the ticket system is down."""

    async def get_ticket(self, key: str):  # type: ignore[no-untyped-def]
        raise Unavailable("The ticket system is not answering.")

    async def list_projects(self) -> list[Project]:
        raise Unavailable("The ticket system is not answering.")


async def test_a_ticket_system_outage_is_reported_not_disguised_as_a_denial(deps: Deps, database: Database, clock: FixedClock) -> None:
    down = replace(deps, tickets=DownTickets(database, clock=clock))
    with pytest.raises(Unavailable):
        await authorize(down, actor(ADMIN), GET, key="OPS-1")


async def test_with_no_project_list_public_scopes_fail_closed(deps: Deps, database: Database, clock: FixedClock) -> None:
    down = DownTickets(database, clock=clock)
    authorizer = PolicyAuthorizer(live=deps.live, catalog=ProjectCatalog(tickets=down, clock=clock))
    assert await authorizer.visible_projects(actor(MEMBER, "public", "C0GENERAL")) == frozenset()
    assert await authorizer.visible_projects(actor(ADMIN, "im")) is None  # nothing to expand: no restriction
