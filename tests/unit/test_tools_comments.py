"""Comment tools, the part that does not depend on the backend: bodies are validated before anything is sent.
Everything else runs on every backend in tests/contract/test_tools_comments.py."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings
from bot.storage.db import Database
from tests.conftest import FixedClock
from tests.unit.ticket_world import World, build_world, call


@pytest.fixture
async def world(sqlite_database: Database, clock: FixedClock, settings: Settings) -> World:
    return await build_world(sqlite_database, clock, settings)


@pytest.mark.parametrize("body", ["", "   ", "x" * 8001])
async def test_comment_bodies_out_of_bounds_are_rejected(world: World, body: str) -> None:
    key = await world.ticket()

    with pytest.raises(ValidationError):
        await call(world.context(), "add_comment", key=key, body=body)

    assert (await world.tickets.list_comments(key)).comments == ()
