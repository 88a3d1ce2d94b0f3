"""Resolving "me" and names, the parts that are not about a backend: which words mean the asker or nobody,
and that the asker's person is looked up once per tool context. The backend side runs on every backend in
tests/contract/test_tools_people.py."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.tables import PersonRow
from bot.tools.people import current_person, means_me, means_nobody
from tests.conftest import FixedClock
from tests.unit.ticket_world import MAYA, World, build_world


@pytest.fixture
async def world(sqlite_database: Database, clock: FixedClock, settings: Settings) -> World:
    return await build_world(sqlite_database, clock, settings)


@pytest.mark.parametrize("text", ["me", " ME ", "my", "myself", "mine", "I"])
def test_words_for_the_asker(text: str) -> None:
    assert means_me(text)


@pytest.mark.parametrize("text", ["Maya", "meg", "mine craft", "", "unassigned"])
def test_other_words_are_not_the_asker(text: str) -> None:
    assert not means_me(text)


@pytest.mark.parametrize("text", ["unassigned", "Nobody", " no one ", "none"])
def test_words_for_nobody(text: str) -> None:
    assert means_nobody(text)


async def test_the_askers_person_is_looked_up_once_per_context(world: World) -> None:
    ctx = world.context(MAYA)
    first = await current_person(ctx)

    def unlink(s: Session) -> None:
        row = s.get(PersonRow, "maya")
        assert row is not None
        row.slack_user_id, row.email = None, None
        s.add(row)

    world.deps.db.run_sync(unlink)

    assert await current_person(world.context(MAYA)) is None  # a new context looks again
    assert await current_person(ctx) == first == world.person("maya")
