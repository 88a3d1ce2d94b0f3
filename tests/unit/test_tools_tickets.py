"""Ticket tools, the parts that do not depend on the backend (argument validation) or that only the local
store has (Slack-linked people, change authors). Everything else runs on every backend in
tests/contract/test_tools_tickets.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from bot.settings import Settings
from bot.storage.db import Database
from tests.conftest import FixedClock
from tests.unit.ticket_world import MAYA, World, build_world, call


@pytest.fixture
async def world(sqlite_database: Database, clock: FixedClock, settings: Settings) -> World:
    return await build_world(sqlite_database, clock, settings)


@pytest.mark.parametrize(
    "arguments",
    [
        {"limit": 0},
        {"limit": 51},
        {"project": "OPS; DROP"},
        {"text": "x" * 201},
        {"not_updated_days": 0},
        {"priority": ["Urgent"]},
        {"status_category": ["open"]},
        {"created_after": "2026-11-10", "created_before": "2026-11-01"},
        {"jql": "project = SEC"},
    ],
)
async def test_search_arguments_out_of_bounds_are_rejected(world: World, arguments: dict) -> None:
    with pytest.raises(ValidationError):
        await call(world.context(), "search_tickets", **arguments)


@pytest.mark.parametrize("key", ["OPS", "OPS-0", "OPS-1 OR 1=1", "O-1", "P" * 256 + "-1"])
async def test_get_ticket_rejects_malformed_keys(world: World, key: str) -> None:
    with pytest.raises(ValidationError):
        await call(world.context(), "get_ticket", key=key)


async def test_update_needs_at_least_one_field(world: World) -> None:
    with pytest.raises(ValidationError, match="at least one"):
        await call(world.context(), "update_ticket", key="OPS-1")


async def test_me_is_the_person_linked_to_the_askers_slack_id_whatever_their_email(world: World) -> None:
    mine = await world.ticket(assignee="maya")
    await world.ticket(assignee="priya")
    maya_elsewhere = replace(MAYA, email="priya@example.com")

    result = await call(world.context(maya_elsewhere), "search_tickets", assignee="me")

    assert [t["key"] for t in result["tickets"]] == [mine]


async def test_a_transition_records_the_asker_as_its_author(world: World) -> None:
    key = await world.ticket()

    await call(world.context(MAYA), "transition_ticket", key=key, status="Done")

    [change] = [c for c in await world.tickets.history(key) if c.field == "status"]
    assert change.author == world.person("maya")
