"""Resolving "me" and names: the asker comes from Slack, names from the backend's people search."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from bot.deps import Deps
from bot.errors import Conflict, NotFound
from bot.settings import Settings
from bot.storage.db import Database
from bot.tools.people import current_person, resolve_person
from integrations.tickets.local import add_person
from tests.conftest import FixedClock
from tests.unit.ticket_world import MAYA, PRIYA, STRANGER, build_world, context


@pytest.fixture
def deps(sqlite_database: Database, clock: FixedClock, settings: Settings) -> Deps:
    return build_world(sqlite_database, clock, settings)


@pytest.mark.parametrize("word", ["me", "Me", " my ", "myself", "mine"])
async def test_every_way_of_saying_me_is_the_asker(deps: Deps, word: str) -> None:
    assert (await resolve_person(context(deps, PRIYA), word)).id == "priya"


async def test_me_never_depends_on_anything_but_the_asker(deps: Deps) -> None:
    assert (await resolve_person(context(deps, MAYA), "me")).id == "maya"
    assert (await resolve_person(context(deps, PRIYA), "me")).id == "priya"


async def test_an_unmapped_asker_has_no_person(deps: Deps) -> None:
    assert await current_person(context(deps, STRANGER)) is None
    with pytest.raises(NotFound, match="Visitor"):
        await resolve_person(context(deps, STRANGER), "me")


async def test_an_exact_full_name_wins_over_partial_matches(deps: Deps) -> None:
    deps.db.run_sync(lambda s: add_person(s, id="maya.c2", name="Maya Chen-Lopez", email="mcl@example.com"))

    assert (await resolve_person(context(deps), "maya chen")).id == "maya"


async def test_an_exact_email_picks_one_of_two_namesakes(deps: Deps) -> None:
    def twin(s: Session) -> None:
        add_person(s, id="leo2", name="Leo Park", email="leo.park@contractor.example")

    deps.db.run_sync(twin)

    assert (await resolve_person(context(deps), "leo.park@contractor.example")).id == "leo2"
    with pytest.raises(Conflict, match="leo@example.com"):
        await resolve_person(context(deps), "Leo Park")


async def test_a_partial_name_with_one_match_is_used(deps: Deps) -> None:
    assert (await resolve_person(context(deps), "priy")).id == "priya"


async def test_a_partial_name_with_several_matches_lists_them(deps: Deps) -> None:
    with pytest.raises(Conflict) as raised:
        await resolve_person(context(deps), "sam")

    assert "Sam Lee <sam.lee@example.com>" in str(raised.value)
    assert "Sam Ortiz <sam.ortiz@example.com>" in str(raised.value)
