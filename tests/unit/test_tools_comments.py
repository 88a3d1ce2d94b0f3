"""list_comments and add_comment on the real local store: newest first in time order, paging, capping,
attribution to the asker."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bot.deps import Deps
from bot.errors import NotFound
from bot.settings import Settings
from bot.storage.db import Database
from integrations.tickets.base import Person
from tests.conftest import FixedClock
from tests.unit.ticket_world import MAYA, STRANGER, build_world, call, context, ticket

LEO = Person(id="leo", name="Leo Park")


@pytest.fixture
def deps(sqlite_database: Database, clock: FixedClock, settings: Settings) -> Deps:
    return build_world(sqlite_database, clock, settings)


async def with_comments(deps: Deps, clock: FixedClock, count: int, body: str = "note {n}") -> str:
    key = await ticket(deps)
    for n in range(count):
        clock.advance(60)
        await deps.tickets.add_comment(key, body.format(n=n), author=LEO, via="via test")
    return key


async def test_the_newest_comments_come_in_time_order_with_the_total(deps: Deps, clock: FixedClock) -> None:
    key = await with_comments(deps, clock, 5)

    result = await call(context(deps), "list_comments", key=key, limit=2)

    assert result["total"] == 5
    assert [c["body"] for c in result["comments"]] == ["note 3", "note 4"]
    assert result["comments"][0] == {"id": result["comments"][0]["id"], "author": "Leo Park",
                                     "created": "2026-11-18 14:34", "body": "note 3"}  # fmt: skip


async def test_older_comments_come_with_the_older_page_token(deps: Deps, clock: FixedClock) -> None:
    key = await with_comments(deps, clock, 5)
    ctx = context(deps)

    newest = await call(ctx, "list_comments", key=key, limit=3)
    older = await call(ctx, "list_comments", key=key, limit=3, page_token=newest["older_page_token"])

    assert [c["body"] for c in older["comments"] + newest["comments"]] == [f"note {n}" for n in range(5)]
    assert "older_page_token" not in older


async def test_a_result_over_budget_drops_the_oldest_comments_first(deps: Deps, clock: FixedClock) -> None:
    deps.settings = deps.settings.model_copy(update={"chatops_max_result_chars": 2000})
    key = await with_comments(deps, clock, 10, body="note {n} " + "x" * 400)

    result = await call(context(deps), "list_comments", key=key, limit=10)

    bodies = [c["body"].split()[1] for c in result["comments"]]
    assert len(json.dumps(result, separators=(",", ":"))) <= 2000
    assert bodies == [str(n) for n in range(10 - len(bodies), 10)]
    assert result["note"].startswith(f"Showing {len(bodies)} of 10.")


async def test_a_comment_is_posted_as_the_asker(deps: Deps) -> None:
    key = await ticket(deps)

    result = await call(context(deps, MAYA), "add_comment", key=key, body="Deployed the fix to staging.")

    [comment] = (await deps.tickets.list_comments(key)).comments
    assert result == {"key": key, "comment_id": comment.id, "author": "Maya Chen"}
    assert comment.body == "Deployed the fix to staging."
    assert comment.author == Person(id="maya", name="Maya Chen", email="maya@example.com")


async def test_a_comment_by_an_unmapped_asker_carries_their_name(deps: Deps) -> None:
    key = await ticket(deps)

    result = await call(context(deps, STRANGER), "add_comment", key=key, body="Seen this too.")

    [comment] = (await deps.tickets.list_comments(key)).comments
    assert result["author"] == "via Slack by Visitor"
    assert "via Slack by Visitor" in comment.body


@pytest.mark.parametrize("body", ["", "   ", "x" * 8001])
async def test_comment_bodies_out_of_bounds_are_rejected(deps: Deps, body: str) -> None:
    with pytest.raises(ValidationError):
        await call(context(deps), "add_comment", key="OPS-1", body=body)


async def test_comments_of_a_hidden_ticket_are_not_found(deps: Deps) -> None:
    secret = await ticket(deps, project="SEC")

    with pytest.raises(NotFound):
        await call(context(deps, visible=frozenset({"OPS"})), "list_comments", key=secret)
