"""Contract: "me" and names resolve the same on every backend. The asker comes from Slack (locally by linked
Slack id or email, on Jira by email); names come from the backend's people search."""

from __future__ import annotations

import pytest

from bot.errors import Conflict, NotFound
from bot.tools.people import current_person, resolve_person
from tests.unit.ticket_world import MAYA, PRIYA, STRANGER, World


@pytest.mark.parametrize("word", ["me", "Me", " my ", "myself", "mine"])
async def test_every_way_of_saying_me_is_the_asker(world: World, word: str) -> None:
    assert await resolve_person(world.context(PRIYA), word) == world.person("priya")


async def test_me_never_depends_on_anything_but_the_asker(world: World) -> None:
    assert (await resolve_person(world.context(MAYA), "me")).id == world.id("maya")
    assert (await resolve_person(world.context(PRIYA), "me")).id == world.id("priya")


async def test_an_unmapped_asker_has_no_person(world: World) -> None:
    assert await current_person(world.context(STRANGER)) is None
    with pytest.raises(NotFound, match="Visitor"):
        await resolve_person(world.context(STRANGER), "me")


async def test_an_exact_full_name_wins_over_partial_matches(world: World) -> None:
    world.add_person("maya.c2", "Maya Chen-Lopez", "mcl@example.com")

    assert (await resolve_person(world.context(), "maya chen")).id == world.id("maya")


async def test_an_exact_email_picks_one_of_two_namesakes(world: World) -> None:
    world.add_person("leo2", "Leo Park", "leo.park@contractor.example")

    assert (await resolve_person(world.context(), "leo.park@contractor.example")).id == world.id("leo2")
    with pytest.raises(Conflict, match="leo@example.com"):
        await resolve_person(world.context(), "Leo Park")


async def test_a_persons_id_is_that_person(world: World) -> None:
    assert await resolve_person(world.context(), world.id("sam.lee")) == world.person("sam.lee")


async def test_a_partial_name_with_one_match_is_used(world: World) -> None:
    assert (await resolve_person(world.context(), "priy")).id == world.id("priya")


async def test_a_partial_name_with_several_matches_lists_them(world: World) -> None:
    with pytest.raises(Conflict) as raised:
        await resolve_person(world.context(), "sam")

    assert "Sam Lee <sam.lee@example.com>" in str(raised.value)
    assert "Sam Ortiz <sam.ortiz@example.com>" in str(raised.value)


async def test_a_name_matching_nobody_is_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="Zed"):
        await resolve_person(world.context(), "Zed")
